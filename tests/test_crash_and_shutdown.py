"""Kill -9 while a job is being written and while CUPS holds the job, SIGTERM in the middle
of a print, and the systemd unit as systemd itself reads it."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pynetdicom import sop_class

from printserver.spool.job import JobState
from printserver.spool.store import SpoolStore
from tests.print_client import PrintClient, box_uids
from tests.server_harness import REPO, ServerProcess, config_text, free_port, wait_for_jobs

pytestmark = pytest.mark.integration
BIG = np.random.default_rng(1).integers(0, 4096, (2048, 2048), dtype=np.uint16)


def _big_film(port: int, called: str, outcome: dict[str, Any]) -> None:
    """A 17x17 film of four 2048² images: its N-ACTION takes the server a while."""
    client = PrintClient(port, called=called)
    _, session = client.session(FilmSessionLabel="BIG")
    _, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="17INX17IN")
    for position, uid in enumerate(box_uids(reply), start=1):
        client.gray(uid, position, BIG)
    outcome["sent"] = time.monotonic()
    try:
        status, _ = client.action(sop_class.BasicFilmBox, box)
        outcome["status"] = int(status.Status) if "Status" in status else None
    except Exception as exc:  # an aborted association is the expected outcome of a kill
        outcome["error"] = repr(exc)
    client.release()


def _server(tmp_path: Path, printers: str, extra: str = "") -> ServerProcess:
    port = free_port()
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", port, printers, extra))
    return ServerProcess(config, port, tmp_path, tmp_path / "server.log")


@contextlib.contextmanager
def _slow_fsync(pid: int, delay_ms: int = 150) -> Iterator[None]:
    """Every fsync of the process takes ``delay_ms`` longer (strace's fault injection, on
    a real process): the moments between a job's first file and its rename last long
    enough for a kill to land in them, whatever the disk."""
    tracer = subprocess.Popen(
        [
            "strace",
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-p",
            str(pid),
            "-e",
            "trace=fsync",
            "-e",
            f"inject=fsync:delay_enter={delay_ms * 1000}",
        ],
        stdin=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # attached to every thread
    try:
        yield
    finally:
        tracer.terminate()
        tracer.wait(10)


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


def test_kill_9_while_rendering_leaves_nothing_half_written(tmp_path: Path) -> None:
    output = tmp_path / "output"
    server = _server(tmp_path, f'[[printers]]\nae_title = "FILM"\ndirectory = "{output}"\n')
    server.start()
    staging = tmp_path / "spool" / "tmp"
    outcome: dict[str, Any] = {}
    client = threading.Thread(target=_big_film, args=(server.port, "FILM", outcome))
    assert server.process is not None
    try:
        with _slow_fsync(server.process.pid):
            client.start()
            _wait(lambda: staging.is_dir() and any(staging.iterdir()))  # the job is being written
            server.kill9()
        client.join(60)
        assert outcome.get("status") != 0, outcome  # never acknowledged
        server.start()  # a restart drops the half-written job
        time.sleep(1.0)
        assert list(staging.iterdir()) == []
        assert SpoolStore(tmp_path / "spool").list() == []
        assert not output.exists() or list(output.glob("*.ps")) == []
    finally:
        server.stop()


def test_kill_9_while_cups_holds_the_job_prints_it_once(cups_queue: Any, tmp_path: Path) -> None:
    server = _server(
        tmp_path,
        '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n',
        f'[cups]\nserver = "{cups_queue.server}"\n',
    )
    cups_queue.cups.lp("cupsdisable", "-h", cups_queue.server, "film")
    server.start()
    try:
        client = PrintClient(server.port, called="FILM")
        assert client.flat_film(900).Status == 0
        client.release()
        store = SpoolStore(tmp_path / "spool")
        _wait(lambda: store.list()[0].state is JobState.PRINTING)
        server.kill9()
        cups_queue.cups.lp("cupsenable", "-h", cups_queue.server, "film")
        server.start()
        (job,) = wait_for_jobs(tmp_path / "spool", 1, {"done"}, timeout=60)
        cups_queue.sink.wait_for(1)
        time.sleep(3)
        assert len(cups_queue.sink.files()) == 1 and job.attempts == 1
    finally:
        server.stop()


@pytest.mark.timed
def test_sigterm_finishes_the_print_in_flight_and_exits(tmp_path: Path) -> None:
    output = tmp_path / "output"
    server = _server(tmp_path, f'[[printers]]\nae_title = "FILM"\ndirectory = "{output}"\n')
    server.start()
    outcome: dict[str, Any] = {}
    client = threading.Thread(target=_big_film, args=(server.port, "FILM", outcome))
    staging = tmp_path / "spool" / "tmp"
    assert server.process is not None
    try:
        with _slow_fsync(server.process.pid):
            client.start()
            _wait(lambda: staging.is_dir() and any(staging.iterdir()))  # the N-ACTION runs
            server.process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            code = server.process.wait(30)
            took = time.monotonic() - stopped
    finally:
        server.stop()  # nothing is left running, whatever failed
    client.join(30)
    assert code == 0 and took < 10, (code, took, server.log.read_text()[-2000:])
    assert outcome.get("status") == 0, outcome  # answered before the server went
    (job,) = SpoolStore(tmp_path / "spool").list()
    assert job.title == "BIG"
    assert "stopped" in server.log.read_text()


def test_systemd_unit_verifies() -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is installed by setup.sh test"
    unit = (REPO / "systemd" / "printserver.service").read_text()
    for setting in (
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "StateDirectory=printserver",
        "Restart=on-failure",
        "User=printserver",
        "After=network-online.target cups.service",
    ):
        assert setting in unit, setting
    here = Path(shutil.which("printserver") or REPO / ".venv" / "bin" / "printserver")
    copy = Path("/tmp") / f"printserver-verify-{time.monotonic_ns()}" / "printserver.service"
    copy.parent.mkdir()
    try:
        copy.write_text(unit.replace("/opt/printserver/.venv/bin/printserver", str(here)))
        result = subprocess.run(
            [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
        )
        problems = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "printserver.service" in line
        ]
        assert result.returncode == 0 and not problems, result.stdout + result.stderr
    finally:
        shutil.rmtree(copy.parent)


def test_kill_9_after_an_image_n_set_spools_nothing(tmp_path: Path) -> None:
    """Nothing was printed yet: nothing is in the spool, and the server serves again."""
    output = tmp_path / "output"
    server = _server(tmp_path, f'[[printers]]\nae_title = "FILM"\ndirectory = "{output}"\n')
    server.start()
    try:
        client = PrintClient(server.port, called="FILM")
        _, session = client.session()
        _, _, reply = client.film_box(session)
        assert client.gray(box_uids(reply)[0], 1, np.full((16, 16), 5, np.uint16)).Status == 0
        assert list((tmp_path / "spool" / "incoming").glob("*/*.dcm"))  # spilled at N-SET
        server.kill9()
        server.start()
        assert SpoolStore(tmp_path / "spool").list() == []
        assert list((tmp_path / "spool" / "incoming").iterdir()) == []  # dropped at start
        again = PrintClient(server.port, called="FILM")
        assert again.established and again.assoc.send_c_echo().Status == 0
        again.release()
    finally:
        server.stop()
