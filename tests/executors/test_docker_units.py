"""The docker executor's pieces that need no engine: owners of leftovers, line splitting, pulls."""

from __future__ import annotations

import os
import socket

import pytest

from reefline.executors import docker_labels
from reefline.executors.docker_images import _split
from reefline.executors.docker_logs import MAX_LINE, LineSplitter


def test_this_process_is_an_alive_owner_and_a_gone_pid_is_not() -> None:
    assert docker_labels.owner_alive(docker_labels.owner()) is True
    host = socket.gethostname()
    assert docker_labels.owner_alive(f"{host}:{os.getpid()}:1") is False  # pid reused: other start time
    assert docker_labels.owner_alive(f"{host}:{2**22 + 5}:1") is False
    assert docker_labels.owner_alive(f"elsewhere:{os.getpid()}:1") is None  # cannot tell: left alone
    assert docker_labels.owner_alive("garbage") is None


def test_lines_are_split_per_stream_and_partial_lines_wait() -> None:
    got: list[tuple[str, str]] = []
    lines = LineSplitter(lambda stream, ts, text: got.append((stream, text)))
    lines.feed("stdout", 1.0, b"one\ntw")
    lines.feed("stderr", 1.0, b"err\r\n")
    lines.feed("stdout", 1.0, b"o\n\nthree")
    assert got == [("stdout", "one"), ("stderr", "err"), ("stdout", "two"), ("stdout", "")]
    lines.flush()
    assert got[-1] == ("stdout", "three")


def test_a_line_without_end_is_cut_at_the_limit() -> None:
    got: list[str] = []
    lines = LineSplitter(lambda stream, ts, text: got.append(text))
    lines.feed("stdout", 1.0, b"x" * (MAX_LINE * 2 + 3))
    assert [len(t) for t in got] == [MAX_LINE, MAX_LINE]
    lines.flush()
    assert got[-1] == "xxx"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("busybox", ("busybox", "latest")),
        ("busybox:1.36", ("busybox", "1.36")),
        ("registry.example:5000/team/app", ("registry.example:5000/team/app", "latest")),
        ("registry.example:5000/team/app:2", ("registry.example:5000/team/app", "2")),
        ("app@sha256:abc", ("app@sha256:abc", None)),
    ],
)
def test_image_names_split_into_repository_and_tag(name: str, expected: tuple[str, str | None]) -> None:
    assert _split(name) == expected


def test_a_long_line_is_cut_at_the_limit_also_when_its_end_comes_with_it() -> None:
    got: list[str] = []
    lines = LineSplitter(lambda stream, ts, text: got.append(text))
    lines.feed("stdout", 1.0, b"y" * (MAX_LINE + 10) + b"\n")
    assert [len(t) for t in got] == [MAX_LINE, 10]
