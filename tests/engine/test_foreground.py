"""Background work steps aside for the API's requests in flight, but never waits for ever."""

from __future__ import annotations

import threading
import time

from reefline.engine.foreground import Foreground


def test_idle_gate_lets_background_work_through_at_once() -> None:
    gate = Foreground()
    began = time.monotonic()
    for _ in range(1000):
        gate.step_aside(1.0)
    assert time.monotonic() - began < 1.0  # a thousand looks, not one wait of a second
    assert not gate.busy


def test_background_work_waits_until_the_last_request_ends() -> None:
    gate = Foreground()
    gate.begin()
    gate.begin()
    order: list[str] = []
    waiter = threading.Thread(target=lambda: (gate.step_aside(30.0), order.append("background")))
    waiter.start()
    time.sleep(0.05)
    order.append("first request ends")
    gate.end()
    time.sleep(0.05)
    assert order == ["first request ends"]  # one request still in flight: still waiting
    order.append("second request ends")
    gate.end()
    waiter.join(5)
    assert order == ["first request ends", "second request ends", "background"]
    assert not gate.busy


def test_a_request_that_never_ends_only_slows_background_work_down() -> None:
    gate = Foreground()
    gate.begin()
    began = time.monotonic()
    gate.step_aside(0.05)
    gate.step_aside(0.05)
    assert time.monotonic() - began >= 0.1
    assert gate.busy


def test_more_ends_than_begins_do_not_leave_the_gate_closed() -> None:
    gate = Foreground()
    gate.end()
    gate.begin()
    assert gate.busy
    gate.end()
    assert not gate.busy
