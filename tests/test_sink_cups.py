"""The CUPS sink against a private cupsd whose queue prints to a loopback socket."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from printserver.sinks.base import SinkError, SinkState, Submission
from printserver.sinks.cups import CupsSink
from tests.cups_harness import CupsQueue

pytestmark = pytest.mark.integration

DOCUMENT = b"""%!PS-Adobe-3.0
%%BoundingBox: 0 0 72 72
%%LanguageLevel: 3
%%Pages: 1
%%EndComments
%%Page: 1 1
0.5 setgray 0 0 72 72 rectfill
% marker-7f3a
showpage
%%EOF
"""


def _until(sink: CupsSink, job_id: int, states: set[SinkState]) -> SinkState:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state, _ = sink.state(job_id)
        if state in states:
            return state
        time.sleep(0.1)
    raise TimeoutError(sink.state(job_id))


def test_submit_arrives_and_completes(cups_queue: CupsQueue, tmp_path: Path) -> None:
    document = tmp_path / "doc.ps"
    document.write_bytes(DOCUMENT)
    sink = CupsSink("FILM", cups_queue.queue, cups_queue.server)
    assert sink.status().ok and sink.status().accepting
    recorded: list[int] = []
    job_id = sink.submit(Submission("printserver-test-1", document), recorded.append)
    assert isinstance(job_id, int) and recorded == [job_id]
    assert _until(sink, job_id, {SinkState.DONE, SinkState.FAILED}) is SinkState.DONE
    (arrived,) = cups_queue.sink.wait_for(1)
    assert b"marker-7f3a" in arrived.read_bytes()
    assert sink.adopt(job_id)  # it had its document: a restart must not send it again


def test_adopt_cancels_a_job_whose_document_never_arrived(cups_queue: CupsQueue) -> None:
    import cups

    connection = cups.Connection(host=cups_queue.server)
    orphan = connection.createJob(cups_queue.queue, "printserver-orphan", {})
    sink = CupsSink("FILM", cups_queue.queue, cups_queue.server)
    assert not sink.adopt(orphan)
    assert sink.state(orphan)[0] is SinkState.CANCELED
    assert not sink.adopt(99999)


def test_rejecting_queue_and_missing_queue_are_transient(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    document = tmp_path / "doc.ps"
    document.write_bytes(DOCUMENT)
    cups_queue.cups.reject(cups_queue.queue)
    sink = CupsSink("FILM", cups_queue.queue, cups_queue.server)
    assert not sink.status().accepting
    with pytest.raises(SinkError) as caught:
        sink.submit(Submission("printserver-test-2", document), print)
    assert caught.value.transient
    missing = CupsSink("X", "nosuchqueue", cups_queue.server)
    with pytest.raises(SinkError, match="nosuchqueue"):
        missing.submit(Submission("printserver-test-3", document), print)


def test_cancel_held_job_and_cupsd_down(cups_queue: CupsQueue, tmp_path: Path) -> None:
    document = tmp_path / "doc.ps"
    document.write_bytes(DOCUMENT)
    sink = CupsSink("FILM", cups_queue.queue, cups_queue.server)
    job_id = sink.submit(
        Submission("printserver-held", document, options={"job-hold-until": "indefinite"}), print
    )
    assert job_id is not None
    assert sink.state(job_id)[0] is SinkState.PENDING
    sink.cancel(job_id)
    assert sink.state(job_id)[0] is SinkState.CANCELED
    sink.cancel(job_id)  # cancelling an ended job is no error
    cups_queue.cups.stop()
    status = sink.status()
    assert not status.ok and "unreachable" in status.message
    with pytest.raises(SinkError):
        sink.submit(Submission("printserver-down", document), print)


@pytest.mark.timed
def test_a_cups_server_that_never_answers_counts_as_down() -> None:
    """A socket that accepts and stays silent: the Printer status must not wait for it."""
    import socket
    import time

    from printserver.model.printer import printer_status
    from printserver.sinks.base import StatusWatch
    from printserver.sinks.cups import CupsSink

    silent = socket.create_server(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        watch = StatusWatch(timeout=1.0)
        sink = CupsSink("FILM", "film", f"127.0.0.1:{port}")
        started = time.monotonic()
        health = watch.status(sink)
        assert time.monotonic() - started < 2.5
        assert not health.reachable  # refused by pycups, or out of time: down either way
        status = printer_status(health)
        assert (status.status, status.info) == ("WARNING", "PRINTER DOWN")
    finally:
        silent.close()
