"""A log line's SSE frame is the JSON a client parses back to the line, whatever its bytes."""

from __future__ import annotations

import json

import pytest

from reefline.server.events import Position, frame, log_frame
from reefline.store.rows import LogRow

TEXTS = ["plain", "", 'quote " backslash \\', "tab\t bell\x07 \x1b[31mred", "nul \x00", "🦀 é", "lone \udc80"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_log_frame_is_the_generic_frame_byte_for_byte(text: str) -> None:
    line = LogRow(
        id=7, run_id=1, job_id=2, attempt=3, ts=1_733_245_678.123456, stream="stderr", text=text, seq=41
    )
    data = {
        "job": 'train[model="tree"]',
        "attempt": 3,
        "seq": 41,
        "ts": line.ts,
        "stream": "stderr",
        "text": text,
    }
    made = log_frame('train[model="tree"]', line, Position(5, 7))
    assert made == frame("log", data, Position(5, 7))
    assert made.startswith("id: 5.7\nevent: log\ndata: ") and made.endswith("\n\n")
    assert json.loads(made.split("data: ", 1)[1]) == data
