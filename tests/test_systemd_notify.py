"""systemd's side of ``Type=notify``: a datagram socket standing in for $NOTIFY_SOCKET, the
real server in its own process.  READY=1 only once the DICOM port takes connections,
WATCHDOG=1 while the workers run, STOPPING=1 at SIGTERM."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from printserver import notify
from tests.server_harness import (
    REPO,
    InProcessServer,
    config_text,
    directory_config,
    free_port,
    start_in_process,
)

WATCHDOG_USEC = 300_000
"""WatchdogSec=0.3 s: pings every 0.15 s."""


@dataclass
class Received:
    """Datagrams systemd would have read, with the monotonic time each arrived."""

    messages: list[tuple[float, str]] = field(default_factory=list)

    def first(self, key: str) -> float | None:
        return next((at for at, text in self.messages if key in text.splitlines()), None)

    def count(self, key: str) -> int:
        return sum(key in text.splitlines() for _, text in self.messages)


def listen(sock: socket.socket, received: Received, stop: threading.Event) -> None:
    sock.settimeout(0.05)
    while not stop.is_set():
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        received.messages.append((time.monotonic(), data.decode()))


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[Path, Received]]:
    path = tmp_path / "notify.sock"
    received = Received()
    stop = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        thread = threading.Thread(target=listen, args=(sock, received, stop), daemon=True)
        thread.start()
        yield path, received
        stop.set()
        thread.join(5)


def first_accept(port: int, until: float, found: list[float]) -> None:
    """Record when the port first takes a TCP connection."""
    while time.monotonic() < until:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                found.append(time.monotonic())
                return
        time.sleep(0.002)


def wait_for(received: Received, key: str, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = received.first(key)
        if at is not None:
            return at
        time.sleep(0.01)
    raise AssertionError(f"no {key} in {received.messages}")


def test_ready_after_listening_then_watchdog_then_stopping(
    tmp_path: Path, notify_socket: tuple[Path, Received]
) -> None:
    path, received = notify_socket
    port = free_port()
    config = tmp_path / "printserver.toml"
    printers = f'[[printers]]\nae_title = "FILM"\ndirectory = "{tmp_path / "out"}"\n'
    config.write_text(config_text(tmp_path / "spool", port, printers))
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        NOTIFY_SOCKET=str(path),
        WATCHDOG_USEC=str(WATCHDOG_USEC),
    )
    env.pop("WATCHDOG_PID", None)
    accepted: list[float] = []
    prober = threading.Thread(target=first_accept, args=(port, time.monotonic() + 30, accepted))
    prober.start()
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "printserver", "serve", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = wait_for(received, "READY=1")
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # it listens the moment it says so
        prober.join(30)
        assert accepted, "the port never took a connection"
        first_ping = received.first("WATCHDOG=1")
        assert first_ping is None or first_ping >= ready  # no ping before it is ready
        assert accepted[0] <= ready + 0.05, (accepted[0], ready)  # prober polls every 2 ms
        ready_text = next(text for _, text in received.messages if "READY=1" in text)
        assert f"STATUS=listening on 127.0.0.1:{port}" in ready_text.splitlines()
        time.sleep(1.5)
        pings = [at for at, text in received.messages if text == "WATCHDOG=1"]
        assert len(pings) >= 5, received.messages
        gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
        assert max(gaps) < WATCHDOG_USEC / 1e6, gaps  # well inside WatchdogSec
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert wait_for(received, "STOPPING=1", 5) > ready
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_no_notify_socket_no_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify.notify("READY=1") is False
    assert notify.watchdog_interval() is None


def test_abstract_socket_and_watchdog_for_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"printserver-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify.notify("STATUS=hello") is True
        assert sock.recv(100) == b"STATUS=hello"
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notify.watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert notify.watchdog_interval() is None


def test_the_watchdog_stops_pinging_when_a_worker_is_gone(
    tmp_path: Path, notify_socket: tuple[Path, Received], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, received = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    running: InProcessServer = start_in_process(directory_config(tmp_path))
    watchdog = notify.Watchdog(running.server.alive, 0.05)
    watchdog.start()
    try:
        time.sleep(0.5)
        assert received.count("WATCHDOG=1") >= 3
        running.server.renderer.stop()  # as if the render threads had died
        time.sleep(0.2)  # a ping already under way may still arrive
        pinged = received.count("WATCHDOG=1")
        time.sleep(0.5)
        assert received.count("WATCHDOG=1") == pinged
    finally:
        watchdog.stop()
        running.server.stop()


def test_the_unit_is_type_notify_with_a_watchdog() -> None:
    unit = (REPO / "systemd" / "printserver.service").read_text().splitlines()
    for setting in ("Type=notify", "NotifyAccess=main", "WatchdogSec=30"):
        assert setting in unit, setting
