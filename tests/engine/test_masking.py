"""Secret masking: whole lines, streams cut anywhere, and the attempt log's lines and full file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reefline.engine.logcap import AttemptLog, Backpressure, LogLimits, SeqLine, read_full_log
from reefline.engine.masking import MASK, SecretMasker
from reefline.executors.lines import MAX_LINE_BYTES, LineSplitter


def test_every_occurrence_of_every_secret_is_masked_longest_first() -> None:
    masker = SecretMasker(["hunter2", "hunter2-admin", "s3cr3t"])
    assert masker.mask_line("pw=hunter2-admin and hunter2, s3cr3ts3cr3t") == "pw=**** and ****, ********"


def test_values_shorter_than_three_characters_are_not_masked() -> None:
    masker = SecretMasker(["ab", "", "on"])
    assert not masker
    assert masker.mask_line("a bond on") == "a bond on"


def test_a_multi_line_secret_is_masked_whole_and_line_by_line() -> None:
    key = "-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----"
    masker = SecretMasker([key])
    assert masker.mask_line(f"x{key}y") == "x****y"
    assert masker.mask_line("AAAABBBBCCCC") == "****"


def test_regex_characters_in_a_secret_are_literal() -> None:
    masker = SecretMasker(["a.b*c"])
    assert masker.mask_line("aXbbc a.b*c") == "aXbbc ****"


def test_a_secret_split_across_two_pieces_is_held_back_then_masked() -> None:
    stream = SecretMasker(["topsecret"]).stream()
    first = stream.feed("token: tops")
    assert "tops" not in first
    assert first == "token: "
    assert stream.feed("ecret!") == "****!"
    assert stream.flush() == ""


def test_a_held_tail_that_never_becomes_a_secret_is_given_back() -> None:
    stream = SecretMasker(["topsecret"]).stream()
    assert stream.feed("to") == ""
    assert stream.feed("p") == ""
    assert stream.flush() == "top"


def test_a_short_secret_inside_a_held_prefix_of_a_longer_one_is_masked_at_the_end() -> None:
    stream = SecretMasker(["abc", "abcdef"]).stream()
    assert stream.feed("xabcd") == "x"
    assert stream.flush() == "****d"


SECRETS = ["hunter2", "hunhunter", "aaa", "aaab", "p@ss\nw0rd"]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(["hunter2", "hun", "ter2", "hunhunter", "aa", "a", "b", "x", "p@ss", "\n", "w0rd"]),
        max_size=30,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_random_split_points_never_leak_a_secret(parts: list[str], cuts: list[int]) -> None:
    masker = SecretMasker(SECRETS)
    text = "".join(parts)
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    stream = masker.stream()
    out = "".join(stream.feed(piece) for piece in pieces) + stream.flush()
    assert out == masker.mask_line(text)  # the same as masking the whole text at once
    for secret in masker.values:
        assert secret not in out


def _sink(tmp_path: Path, masker: SecretMasker) -> tuple[AttemptLog, list[SeqLine]]:
    got: list[SeqLine] = []
    pressure = Backpressure()

    def emit(batch: list[SeqLine]) -> None:
        got.extend(batch)
        pressure.release()

    limits = LogLimits(max_lines=4, max_bytes=10**9)  # capped: the full log file is written
    return AttemptLog(emit, pressure, limits, tmp_path / "1-1.log.gz", masker=masker), got


def test_the_attempt_log_masks_stored_lines_and_the_full_log_file(tmp_path: Path) -> None:
    log, got = _sink(tmp_path, SecretMasker(["hunter2"]))
    splitter = LineSplitter("stdout", log)
    for i in range(20):
        splitter.feed(b"line %d: hun" % i)  # one secret in two writes
        splitter.feed(b"ter2\n")
    splitter.close()
    log.close()
    stored = [text for _, _, text, _ in got if not text.startswith("…")]
    assert stored[0] == f"line 0: {MASK}"
    full = [text for _, _, text in read_full_log(tmp_path / "1-1.log.gz")]
    assert len(full) == 20
    assert all(text.endswith(MASK) for text in full)
    assert not any("hunter2" in text for text in [*stored, *full])


def test_a_secret_across_the_cut_of_a_very_long_line_is_masked(tmp_path: Path) -> None:
    secret = "correct-horse-battery"
    log, got = _sink(tmp_path, SecretMasker([secret]))
    splitter = LineSplitter("stdout", log)
    pad = b"x" * (MAX_LINE_BYTES - 7)
    splitter.feed(pad + secret.encode() + b" tail\n")  # the executor cuts inside the secret
    splitter.close()
    log.close()
    joined = "".join(text for _, _, text, _ in got)
    assert secret not in joined
    assert joined == "x" * (MAX_LINE_BYTES - 7) + MASK + " tail"
    full = "".join(text for _, _, text in read_full_log(tmp_path / "1-1.log.gz"))
    assert secret not in full


def test_a_held_tail_is_written_when_the_attempt_ends(tmp_path: Path) -> None:
    log, got = _sink(tmp_path, SecretMasker(["correct-horse"]))
    log("stdout", 1.0, "y" * (MAX_LINE_BYTES - 4) + "corr")  # looks cut; no next piece comes
    log.close()
    assert "".join(text for _, _, text, _ in got) == "y" * (MAX_LINE_BYTES - 4) + "corr"
