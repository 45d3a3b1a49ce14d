"""Running the print server in tests: in-process on a free port, or as a real process."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from printserver.config import Config, parse_config
from printserver.server import PrintServer
from printserver.spool.job import JobRecord
from printserver.spool.store import SpoolStore

REPO = Path(__file__).resolve().parent.parent


_reserved: list[socket.socket] = []


def free_port() -> int:
    """A port on 127.0.0.1 for a server that binds it later, reserved until this process ends.

    A socket of this process stays bound to it, with SO_REUSEADDR and not listening: the
    kernel then gives the port to no other ``bind(0)`` and to no outgoing connection, which
    the tests running beside this one (pytest-xdist) make all the time, while a server that
    binds it with SO_REUSEADDR, as every server the tests start does (pynetdicom's, the web
    console's, cupsd), still can, and again after a restart.
    """
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", 0))
    _reserved.append(probe)
    return int(probe.getsockname()[1])


def release_port(port: int) -> None:
    """End the reservation :func:`free_port` made, so that nothing of this process is bound
    to ``port`` any more."""
    for probe in [probe for probe in _reserved if probe.getsockname()[1] == port]:
        _reserved.remove(probe)
        probe.close()


@contextlib.contextmanager
def machine_wide_port(port: int) -> Iterator[None]:
    """Use a fixed ``port`` (the built-in default's 11112) one test at a time on this machine:
    the pytest-xdist workers of a run, and the runs beside it (``setup.sh`` runs two film suites
    at once), wait for each other here, on a lock file named after the port."""
    path = Path(tempfile.gettempdir()) / f"printserver-tests-port-{port}.lock"
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def run_cli(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``printserver ARGS --config CONFIG`` as an operator runs it: its own process."""
    return subprocess.run(
        [sys.executable, "-m", "printserver", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


def config_text(spool: Path, port: int, printers: str, extra: str = "") -> str:
    return (
        f'[server]\nae_title = "PRINTSERVER"\nhost = "127.0.0.1"\nport = {port}\n'
        f'log_level = "DEBUG"\n'
        f'[spool]\ndirectory = "{spool}"\nretry_initial = 1.0\nretry_max = 2.0\n'
        f"poll_interval = 0.2\n{extra}\n{printers}"
    )


def wait_for_jobs(
    spool: Path, count: int, states: set[str], timeout: float = 30.0
) -> list[JobRecord]:
    """Wait until the spool holds ``count`` jobs, all in one of ``states``."""
    store = SpoolStore(spool)
    deadline = time.monotonic() + timeout
    jobs: list[JobRecord] = []
    while time.monotonic() < deadline:
        jobs = store.list()
        if len(jobs) >= count and all(str(job.state) in states for job in jobs):
            return jobs
        time.sleep(0.1)
    raise TimeoutError(f"spool jobs did not reach {states}: {jobs}")


@dataclass
class InProcessServer:
    server: PrintServer
    port: int
    config: Config

    @property
    def spool(self) -> Path:
        return self.config.spool.directory


def start_in_process(config: Config) -> InProcessServer:
    server = PrintServer(config)
    _, port = server.start()
    return InProcessServer(server, port, config)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    """The built-in default shape, in-process on a free port: one directory printer
    (``directory_config``) writing into ``tmp_path/output``."""
    running = start_in_process(directory_config(tmp_path))
    yield running
    running.server.stop()


class ServerProcess:
    """``printserver serve`` as its own process, so it can be killed like a real one."""

    def __init__(self, config_path: Path, port: int, cwd: Path, log: Path) -> None:
        self.config_path, self.port, self.cwd, self.log = config_path, port, cwd, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, args: list[str] | None = None) -> None:
        command = [sys.executable, "-m", "printserver", "serve"]
        command += args if args is not None else ["--config", str(self.config_path)]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"server did not start:\n{self.log.read_text()}") from None

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def directory_config(
    tmp_path: Path, printer_extra: str = "", server_extra: str = "", ae_title: str = "PRINTSERVER"
) -> Config:
    """One directory printer writing into ``tmp_path/output``, with extra TOML lines."""
    output = tmp_path / "output"
    printers = f'[[printers]]\nae_title = "{ae_title}"\ndirectory = "{output}"\n{printer_extra}\n'
    text = config_text(tmp_path / "spool", 0, printers)
    if server_extra:
        text = text.replace("[spool]\n", f"{server_extra}\n[spool]\n", 1)
    return parse_config(text)
