"""The delivery worker against a sink that does what each test says, over a real spool.

Each test calls ``run_once`` itself; time moves by writing a past ``next_attempt`` or
``submit_started`` into the record, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from printserver.sinks.base import DestinationStatus, Sink, SinkError, SinkState, Submission
from printserver.spool import operations
from printserver.spool.job import JobInfo, JobRecord, JobRequest, JobState, utc_now
from printserver.spool.store import SpoolStore
from printserver.spool.worker import SpoolWorker

PRINTER = "FILM"


@dataclass
class FakeSink:
    """A destination with job ids; ``errors`` are raised by the next submissions in turn."""

    name: str = PRINTER
    errors: list[SinkError] = field(default_factory=list)
    states: dict[int, tuple[SinkState, str]] = field(default_factory=dict)
    complete: set[int] = field(default_factory=set)  # ids whose document arrived whole
    submitted: list[Submission] = field(default_factory=list)
    canceled: list[int] = field(default_factory=list)
    synchronous: bool = False
    last_id: int = 100

    def submit(self, submission: Submission, on_created: Callable[[int], None]) -> int | None:
        self.submitted.append(submission)
        if self.errors:
            raise self.errors.pop(0)
        if self.synchronous:
            return None
        self.last_id += 1
        on_created(self.last_id)
        self.states[self.last_id] = (SinkState.PENDING, "")
        self.complete.add(self.last_id)
        return self.last_id

    def adopt(self, job_id: int) -> bool:
        if job_id in self.complete:
            return True
        self.canceled.append(job_id)
        return False

    def state(self, job_id: int) -> tuple[SinkState, str]:
        return self.states[job_id]

    def cancel(self, job_id: int) -> None:
        self.canceled.append(job_id)

    def status(self) -> DestinationStatus:
        return DestinationStatus(True, True)


@pytest.fixture
def store(tmp_path: Path) -> SpoolStore:
    store = SpoolStore(tmp_path / "spool")
    store.open()
    return store


def _worker(
    store: SpoolStore, sink: Sink | None, stuck_after: timedelta = timedelta(minutes=30)
) -> SpoolWorker:
    return SpoolWorker(
        store,
        {PRINTER: sink} if sink else {},
        retry_initial=2.0,
        retry_max=5.0,
        stuck_after=stuck_after,
    )


def _job(store: SpoolStore) -> JobRecord:
    return store.create(JobRequest(printer=PRINTER, title="t"), lambda out: out.write(b"%!PS\n"))


def _change(store: SpoolStore, job_id: str, **fields: object) -> JobRecord:
    """What a crash or the passing of time leaves in a record (not a change of state)."""
    return store.update(job_id, lambda record: record.model_copy(update=fields))


def _backoff(store: SpoolStore, worker: SpoolWorker, job_id: str) -> tuple[float, float]:
    """One pass; the bounds of the seconds it put between its now and the next attempt (a
    slow pass on a loaded machine widens them, never moves the delay out of them)."""
    before = utc_now()
    worker.run_once()
    after = utc_now()
    when = store.get(job_id).next_attempt
    assert isinstance(when, datetime)
    return (when - after).total_seconds(), (when - before).total_seconds()


def _within(bounds: tuple[float, float], delay: float) -> bool:
    low, high = bounds
    return low - 0.01 <= delay <= high + 0.01


def test_transient_errors_back_off_doubling_up_to_the_cap(store: SpoolStore) -> None:
    sink = FakeSink(errors=[SinkError("server down") for _ in range(4)])
    worker = _worker(store, sink)
    job_id = _job(store).job_id
    delays = []
    for _ in range(4):
        delays.append(_backoff(store, worker, job_id))
        record = store.get(job_id)
        assert (record.state, record.last_error) == (JobState.PENDING, "server down")
        assert worker.run_once() <= 5.0  # not due: nothing is sent before its time
        assert len(sink.submitted) == record.attempts
        _change(store, job_id, next_attempt=utc_now() - timedelta(seconds=1))
    assert all(_within(b, d) for b, d in zip(delays, [2.0, 4.0, 5.0, 5.0], strict=True)), delays
    worker.run_once()  # the destination is back
    record = store.get(job_id)
    assert (record.state, record.state_info, record.cups_job_id) == (
        JobState.PRINTING,
        JobInfo.QUEUED,
        sink.last_id,
    )
    assert (record.attempts, record.last_error, record.next_attempt) == (5, None, None)


def test_a_permanent_error_fails_the_job_once(store: SpoolStore) -> None:
    sink = FakeSink(errors=[SinkError("document rejected", transient=False)])
    worker = _worker(store, sink)
    job_id = _job(store).job_id
    worker.run_once()
    worker.run_once()
    record = store.get(job_id)
    assert (record.state, record.state_info, record.last_error) == (
        JobState.FAILURE,
        JobInfo.INVALID_PAGE_DES,
        "document rejected",
    )
    assert len(sink.submitted) == 1


def test_a_job_at_the_destination_is_followed_to_its_end(store: SpoolStore) -> None:
    sink = FakeSink()
    worker = _worker(store, sink)
    done, failed = _job(store).job_id, _job(store).job_id
    worker.run_once()
    sink.states[101] = (SinkState.PRINTING, "")
    sink.states[102] = (SinkState.FAILED, "paper jam")
    worker.run_once()
    assert store.get(done).state_info == JobInfo.PRINTING
    record = store.get(failed)
    assert (record.state, record.state_info, record.last_error) == (
        JobState.FAILURE,
        JobInfo.PRINTER_DOWN,
        "paper jam",
    )
    assert sink.canceled == [102]  # stopped at the destination, so it cannot print later
    sink.states[101] = (SinkState.DONE, "")
    worker.run_once()
    assert (store.get(done).state, store.get(done).state_info) == (JobState.DONE, JobInfo.NORMAL)
    assert [entry.state for entry in store.get(done).history] == [
        JobState.PENDING,
        JobState.PRINTING,
        JobState.PRINTING,
        JobState.DONE,
    ]


def test_a_sink_without_job_ids_finishes_the_job_at_once(store: SpoolStore) -> None:
    worker = _worker(store, FakeSink(synchronous=True))
    job_id = _job(store).job_id
    worker.run_once()
    assert store.get(job_id).state is JobState.DONE


def test_after_a_crash_a_whole_submission_is_adopted(store: SpoolStore) -> None:
    sink = FakeSink(complete={7})
    worker = _worker(store, sink)
    job_id = _change(store, _job(store).job_id, cups_job_id=7, attempts=1).job_id
    sink.states[7] = (SinkState.PRINTING, "")
    worker.run_once()
    record = store.get(job_id)
    assert (record.state, record.cups_job_id, record.attempts) == (JobState.PRINTING, 7, 1)
    assert sink.submitted == []  # the film reaches the destination once


def test_after_a_crash_a_torn_submission_is_sent_again(store: SpoolStore) -> None:
    sink = FakeSink()
    worker = _worker(store, sink)
    job_id = _change(store, _job(store).job_id, cups_job_id=7, attempts=1).job_id
    worker.run_once()
    record = store.get(job_id)
    assert sink.canceled == [7]  # the torn one never prints
    assert [submission.title for submission in sink.submitted] == [record.sink_title]
    assert (record.state, record.cups_job_id, record.attempts) == (
        JobState.PRINTING,
        sink.last_id,
        2,
    )


def test_a_job_making_no_progress_is_flagged_stuck_once(store: SpoolStore) -> None:
    sink = FakeSink()
    worker = _worker(store, sink, stuck_after=timedelta(minutes=30))
    slow, fresh = _job(store).job_id, _job(store).job_id
    worker.run_once()
    sink.states = {job_id: (SinkState.PRINTING, "cover open") for job_id in sink.states}
    _change(store, slow, submit_started=utc_now() - timedelta(minutes=31))
    worker.run_once()
    record = store.get(slow)
    assert (record.state, record.stuck, record.last_error) == (
        JobState.PRINTING,
        True,
        "cover open",
    )
    assert record.history[-1].note == "stuck at CUPS"
    assert not store.get(fresh).stuck
    worker.run_once()
    worker.run_once()
    notes = [entry.note for entry in store.get(slow).history]
    assert notes.count("stuck at CUPS") == 1  # flagged once, not every pass
    assert store.get(slow).state_info == JobInfo.PRINTING  # and still followed


def test_a_job_held_after_the_scan_is_not_sent(
    store: SpoolStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = FakeSink()
    worker = _worker(store, sink)
    job_id = _job(store).job_id
    scanned = store.list()
    operations.hold(store, job_id)  # between the worker's scan and its lock
    monkeypatch.setattr(store, "list", lambda: scanned)
    worker.run_once()
    assert store.get(job_id).state is JobState.HELD and sink.submitted == []


def test_a_printer_no_longer_configured_is_retried_later(store: SpoolStore) -> None:
    worker = _worker(store, None)
    job_id = _job(store).job_id
    assert _within(_backoff(store, worker, job_id), 2.0)
    record = store.get(job_id)
    assert (record.state, record.last_error) == (
        JobState.PENDING,
        f"no printer {PRINTER!r} is configured",
    )


def test_a_print_request_cut_off_by_a_crash_at_an_imager_is_held_not_sent_again(
    store: SpoolStore,
) -> None:
    """A DICOM imager cannot be asked whether the N-ACTION sent before a crash printed:
    the job found with its request announced is held as "may have printed"."""
    from printserver.config import DicomPrinterConfig
    from printserver.net.imager import DicomSink

    imager = DicomSink(PRINTER, DicomPrinterConfig(host="127.0.0.1", called_ae="IMAGER"), "US")
    job = _change(store, _job(store).job_id, cups_job_id=1, submit_started=utc_now())
    _worker(store, imager).run_once()
    held = store.get(job.job_id)
    assert held.state is JobState.HELD and held.cups_job_id is None
    assert held.last_error is not None and "may have printed at" in held.last_error
    assert held.history[-1].note == "held: may have printed"
