"""One printer's fault stays with that printer: a CUPS host that accepts connections and
never answers holds only its own films, and they are delivered exactly once when it is back.

Real parts: a private cupsd listening on a Unix socket and on loopback TCP, printing to a
loopback socket sink, and a relay in front of it that can fall silent (tests/fault_relay.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cups
import pytest
from pynetdicom import sop_class

from printserver.config import parse_config
from printserver.spool.job import JobState
from printserver.spool.store import SpoolStore
from tests.cups_harness import PrivateCups, SocketSink
from tests.fault_relay import FaultRelay
from tests.print_client import PrintClient
from tests.scu import cell_images, connect, print_film
from tests.server_harness import (
    ServerProcess,
    config_text,
    free_port,
    run_cli,
    start_in_process,
    wait_for_jobs,
)

pytestmark = pytest.mark.integration

TIMEOUT = 8.0
"""``cups_timeout`` of the printer behind the relay: each call to the hung host gives up then."""


@pytest.fixture
def tcp_cups(tmp_path: Path) -> Iterator[tuple[PrivateCups, SocketSink]]:
    """A private cupsd on a socket and on 127.0.0.1:PORT, queue ``film`` → a socket sink."""
    sink = SocketSink(tmp_path / "device")
    cupsd = PrivateCups(tcp_port=free_port())
    cupsd.start()
    cupsd.add_queue("film", f"socket://127.0.0.1:{sink.port}/?snmp=false")
    yield cupsd, sink
    cupsd.remove()
    sink.stop()


def _config(tmp_path: Path, port: int, cupsd: PrivateCups, hung_server: str) -> Path:
    printers = (
        f'[[printers]]\nae_title = "HUNG"\ncups_queue = "film"\n'
        f'cups_server = "{hung_server}"\ncups_timeout = {TIMEOUT}\n'
        f'[[printers]]\nae_title = "HEALTHY"\ncups_queue = "film"\ncups_server = "{cupsd.server}"\n'
    )
    path = tmp_path / "printserver.toml"
    path.write_text(config_text(tmp_path / "spool", port, printers))
    return path


def _film(port: int, called: str) -> None:
    assoc = connect(port, called)
    result = print_film(assoc, cell_images(64, 64), film_size="8INX10IN", label=called)
    assoc.release()
    assert result.statuses["print"] == 0


@pytest.mark.timed
def test_a_hung_cups_host_holds_only_its_own_films(
    tcp_cups: tuple[PrivateCups, SocketSink], tmp_path: Path
) -> None:
    cupsd, sink = tcp_cups
    relay = FaultRelay(cupsd.tcp_port or 0, mode="silent")
    path = _config(tmp_path, 0, cupsd, relay.server)
    running = start_in_process(parse_config(path.read_text()))
    try:
        _film(running.port, "HUNG")  # its lane is now inside a call that never returns
        time.sleep(0.5)
        started = time.monotonic()
        _film(running.port, "HEALTHY")
        sink.wait_for(1, timeout=5)
        assert time.monotonic() - started < 5

        client = PrintClient(running.port, "HEALTHY")
        asked = time.monotonic()
        status, ds = client.get(sop_class.Printer, "1.2.840.10008.5.1.1.17", meta=True)
        assert time.monotonic() - asked < 1 and status.Status == 0
        assert ds.PrinterStatus == "NORMAL"
        client.release()

        asked = time.monotonic()
        report = run_cli(path, "printers", timeout=30)
        assert time.monotonic() - asked < 10, report.stderr
        lines = {line.split()[0]: line for line in report.stdout.splitlines() if line.strip()}
        assert "PRINTER DOWN" in lines["HUNG"] and "NORMAL" in lines["HEALTHY"], report.stdout

        store = SpoolStore(running.spool)
        deadline = time.monotonic() + TIMEOUT + 10
        while time.monotonic() < deadline:
            (hung,) = [job for job in store.list() if job.printer == "HUNG"]
            if hung.last_error:
                break
            time.sleep(0.2)
        assert hung.state is JobState.PENDING  # never delivered on a timed-out submit
        assert f"no answer from {relay.server}" in (hung.last_error or ""), hung

        relay.set_mode("forward")  # the host is back
        done = wait_for_jobs(running.spool, 2, {"done"}, timeout=30)
        assert {job.printer for job in done} == {"HUNG", "HEALTHY"}
        sink.wait_for(2, timeout=30)
        time.sleep(3)  # a duplicate, if any, would arrive within a retry
        assert len(sink.files()) == 2
    finally:
        running.server.stop()
        relay.stop()


def test_a_submit_cut_off_mid_document_is_delivered_exactly_once(
    tcp_cups: tuple[PrivateCups, SocketSink], tmp_path: Path
) -> None:
    """The host hangs after Create-Job, while the document streams: the submit times out
    with the CUPS job id recorded; when the host is back that job (no document) is
    canceled and the film sent again, so it prints once."""
    cupsd, sink = tcp_cups
    relay = FaultRelay(cupsd.tcp_port or 0, mode="stall_after", stall_after=48 * 1024)
    path = _config(tmp_path, 0, cupsd, relay.server)
    running = start_in_process(parse_config(path.read_text()))
    try:
        _film(running.port, "HUNG")
        store = SpoolStore(running.spool)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (job,) = store.list()
            if job.cups_job_id is not None and job.last_error:
                break
            time.sleep(0.1)
        assert job.cups_job_id is not None and "no answer" in (job.last_error or ""), job
        assert job.state is JobState.PENDING  # never delivered on a timed-out submit
        first = job.cups_job_id
        relay.set_mode("forward")
        (done,) = wait_for_jobs(running.spool, 1, {"done"}, timeout=30)
        assert done.cups_job_id != first
        sink.wait_for(1, timeout=30)
        time.sleep(3)
        assert len(sink.files()) == 1
        attributes = cups.Connection(host=cupsd.server).getJobAttributes(first)
        assert attributes["job-state"] in (7, 8)  # the cut-off one: canceled or aborted
    finally:
        running.server.stop()
        relay.stop()


def test_kill_9_during_a_hung_submit_then_a_healthy_host_delivers_once(
    tcp_cups: tuple[PrivateCups, SocketSink], tmp_path: Path
) -> None:
    cupsd, sink = tcp_cups
    relay = FaultRelay(cupsd.tcp_port or 0, mode="silent")
    port = free_port()
    path = _config(tmp_path, port, cupsd, relay.server)
    server = ServerProcess(path, port, tmp_path, tmp_path / "server.log")
    server.start()
    try:
        _film(port, "HUNG")
        store = SpoolStore(tmp_path / "spool")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = store.list()
            if jobs and jobs[0].submit_started is not None:
                break
            time.sleep(0.05)
        server.kill9()  # a submit to the silent host is in flight
        relay.set_mode("forward")
        server.start()
        wait_for_jobs(tmp_path / "spool", 1, {"done"}, timeout=60)
        sink.wait_for(1, timeout=30)
        time.sleep(3)
        assert len(sink.files()) == 1
    finally:
        server.stop()
        relay.stop()


def test_ipp_over_tls_to_a_cups_host_across_the_network(tmp_path: Path) -> None:
    """``cups_encryption = "required"``: the film crosses the wire encrypted (a relay that
    sees every byte finds no PostScript in them) and still prints."""
    sink = SocketSink(tmp_path / "device")
    cupsd = PrivateCups(tcp_port=free_port(), tls=True)
    cupsd.start()
    relay = FaultRelay(cupsd.tcp_port or 0)
    try:
        cupsd.add_queue("film", f"socket://127.0.0.1:{sink.port}/?snmp=false")
        printers = (
            f'[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
            f'cups_server = "{relay.server}"\ncups_encryption = "required"\n'
        )
        running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers)))
        try:
            _film(running.port, "FILM")
            wait_for_jobs(running.spool, 1, {"done"}, timeout=30)
            (printed,) = sink.wait_for(1, timeout=30)
        finally:
            running.server.stop()
        assert b"%!PS" in printed.read_bytes()
        assert relay.captured and b"%!PS" not in relay.captured
        assert b"Create-Job" not in relay.captured and b"printer-uri" not in relay.captured
    finally:
        relay.stop()
        cupsd.remove()
        sink.stop()


@pytest.mark.parametrize("form", ["host:port", "socket path"])
def test_cups_server_is_named_as_cups_server_names_it(
    form: str, tcp_cups: tuple[PrivateCups, SocketSink], tmp_path: Path
) -> None:
    cupsd, sink = tcp_cups
    server = f"127.0.0.1:{cupsd.tcp_port}" if form == "host:port" else cupsd.server
    printers = f'[[printers]]\nae_title = "FILM"\ncups_queue = "film"\ncups_server = "{server}"\n'
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers)))
    try:
        _film(running.port, "FILM")
        (done,) = wait_for_jobs(running.spool, 1, {"done"}, timeout=30)
        assert done.cups_job_id is not None
        sink.wait_for(1, timeout=30)
    finally:
        running.server.stop()
