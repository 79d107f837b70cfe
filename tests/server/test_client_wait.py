"""``Client.wait`` gives up with a TimeoutError that says the run's state (it used to be a KeyError)."""

from __future__ import annotations

import httpx
import pytest

from reefline.client import Client


def test_wait_times_out_naming_the_state_of_a_run_still_going() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": 7, "state": "running", "jobs": []})

    with (
        Client("http://reefline.test", "rl_x", transport=httpx.MockTransport(answer)) as api,
        pytest.raises(TimeoutError, match=r"run 7 still running after 0\.05 s"),
    ):
        api.wait(7, timeout=0.05, poll=0.01)
