"""Signals a daemon client gets while it waits: before the daemon named its worker, the client
ends (and the daemon, seeing it gone, stops the worker); after, they go to the worker.

The daemon's side of the socket is played by a thread here, so that a signal can arrive at an
exact point of the exchange; the real daemon is tested in test_daemon.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading

from reefline.cli import daemon_client


def _request(conn: socket.socket) -> dict[str, object]:
    data = b""
    while not data.endswith(b"\n"):
        chunk, ancillary, _flags, _address = conn.recvmsg(1 << 16, socket.CMSG_SPACE(3 * 4))
        for _level, _type, fds in ancillary:  # the passed stdin, stdout and stderr
            for fd in memoryview(fds).cast("i"):
                os.close(fd)
        data += chunk
    return dict(json.loads(data))


def _recv_all(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(1 << 16):
        data += chunk
    return data


def test_ctrl_c_before_the_worker_is_named_ends_the_client_without_a_traceback() -> None:
    client, daemon = socket.socketpair()
    seen: dict[str, object] = {}

    def play_daemon() -> None:
        seen["argv"] = _request(daemon)["argv"]
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, before the daemon answers with a worker
        seen["after"] = _recv_all(daemon)  # the client closed its end: b""
        daemon.close()

    thread = threading.Thread(target=play_daemon)
    thread.start()
    with client:
        code = daemon_client._ask(client, ["run"])
    thread.join(10)
    assert code == 130
    assert seen == {"argv": ["reefline", "run"], "after": b""}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_once_the_worker_is_named_goes_to_the_worker() -> None:
    client, daemon = socket.socketpair()
    worker = subprocess.Popen(["sleep", "60"])

    def play_daemon() -> None:
        _request(daemon)
        daemon.sendall(json.dumps({"pid": worker.pid}).encode() + b"\n")
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        worker.wait(30)  # ended by the forwarded SIGINT
        daemon.sendall(json.dumps({"exit": 130}).encode() + b"\n")
        daemon.close()

    thread = threading.Thread(target=play_daemon)
    thread.start()
    try:
        with client:
            code = daemon_client._ask(client, ["run"])
    finally:
        thread.join(40)
        worker.kill()
    assert code == 130
    assert worker.returncode == -signal.SIGINT
