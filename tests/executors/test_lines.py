"""LineSplitter in-process: every way bytes can arrive in pieces."""

from __future__ import annotations

from exec_support import Logs

from reefline.executors.lines import MAX_LINE_BYTES, LineSplitter


def split(*chunks: bytes) -> list[str]:
    logs = Logs()
    lines = LineSplitter("stdout", logs)
    for chunk in chunks:
        lines.feed(chunk)
    lines.close()
    return logs.of("stdout")


def test_line_ends() -> None:
    assert split(b"a\nb\r\nc\rd") == ["a", "b", "c\r", "d"]
    assert split(b"a\n\n") == ["a", ""]
    assert split(b"") == []


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert split(b"a\r", b"\nb\r", b"", b"\n") == ["a", "b"]
    assert split(b"a\r") == ["a"]


def test_a_progress_bar_is_a_line_per_state_each_marked_as_overwritten_but_the_last() -> None:
    assert split(b"  0%\r", b" 50%\r100%\r", b"\ndone\n") == ["  0%\r", " 50%\r", "100%", "done"]


def test_partial_lines_are_joined() -> None:
    assert split(b"he", b"llo\nwor", b"ld") == ["hello", "world"]


def test_long_line_is_chunked_between_characters() -> None:
    text = "é" * MAX_LINE_BYTES  # 2 bytes each: a cut at MAX_LINE_BYTES bytes may land mid-character
    out = split(b"x" + text.encode(), b"\n")
    assert "".join(out) == "x" + text
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in out)
    assert "\ufffd" not in "".join(out)


def test_invalid_utf8_is_replaced() -> None:
    assert split(b"\xff ok\n") == ["\ufffd ok"]
