"""Moves pending jobs to their sink and follows them to a final state.

Exactly-once delivery: the sink creates its job and hands back the id before
it transfers the document; the worker saves that id at once.  A job found
after a restart still pending but with an id is offered back to the sink
(``adopt``): kept when the document had arrived, otherwise canceled there
(it can never print) and sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from printserver.metrics import Metrics
from printserver.sinks.base import MayHavePrinted, Sink, SinkError, SinkState, Submission
from printserver.spool.job import JobInfo, JobRecord, JobState, utc_now
from printserver.spool.store import JobNotFound, SpoolStore

LOG = logging.getLogger(__name__)

_FROM_SINK: dict[SinkState, tuple[JobState, JobInfo]] = {
    SinkState.PENDING: (JobState.PRINTING, JobInfo.QUEUED),
    SinkState.PRINTING: (JobState.PRINTING, JobInfo.PRINTING),
    SinkState.DONE: (JobState.DONE, JobInfo.NORMAL),
    SinkState.FAILED: (JobState.FAILURE, JobInfo.PRINTER_DOWN),
    SinkState.UNPRINTABLE: (JobState.FAILURE, JobInfo.INVALID_PAGE_DES),
    SinkState.CANCELED: (JobState.CANCELED, JobInfo.CANCELED),
}
"""What the destination reports → the job's state and info."""


WAITING = (JobState.HELD, JobState.RENDERING)
"""Jobs the delivery worker leaves alone: for an operator, or for the render stage."""


class SpoolWorker:
    """One background thread that drives unfinished jobs forward: every job, or those of
    one printer when the worker is that printer's delivery lane (``spool/lanes.py``)."""

    def __init__(
        self,
        store: SpoolStore,
        sinks: Mapping[str, Sink],
        *,
        retry_initial: float = 2.0,
        retry_max: float = 60.0,
        poll_interval: float = 0.5,
        scan_interval: float = 2.0,
        stuck_after: timedelta = timedelta(minutes=30),
        keep_done: timedelta = timedelta(days=7),
        metrics: Metrics | None = None,
        lane: str | None = None,
        strays: bool = True,
    ) -> None:
        self.store = store
        self.sinks = sinks
        self.lane = lane
        self.strays = strays
        self.metrics = metrics or Metrics()
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.poll_interval = poll_interval
        self.scan_interval = scan_interval
        self.stuck_after = stuck_after
        self.keep_done = keep_done
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        name = f"delivery-{self.lane}" if self.lane is not None else "spool-worker"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def halt(self) -> None:
        """Ask the thread to stop after its current step, without waiting for it."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.halt()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def alive(self) -> bool:
        """The worker thread is running (the watchdog's question)."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look at the spool now (a job was added or changed)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                delay = self.run_once()
            except Exception:  # keep serving: one bad pass must not stop printing
                LOG.exception("spool pass failed")
                delay = self.poll_interval
            self._wake.wait(delay)

    def run_once(self) -> float:
        """Advance every unfinished job once, HIGH priority first; returns seconds until the
        next pass is due (at most ``scan_interval``: the operator's CLI changes jobs too)."""
        delay = self.scan_interval
        records = self.store.list()
        if self.strays:  # one lane keeps the spool's retention
            self._purge_old(records)
        for record in sorted(records, key=lambda job: job.rank):
            if record.state.final or record.state in WAITING or self._stop.is_set():
                continue
            if not self._mine(record.printer):
                continue
            try:
                record = self._advance(record.job_id)
            except JobNotFound:
                continue
            delay = min(delay, self._due_in(record))
        return max(0.05, delay)

    def _mine(self, printer: str) -> bool:
        """This lane's printer, or a printer no lane has (only the lane taking strays)."""
        if self.lane is None or printer == self.lane:
            return True
        return self.strays and printer not in self.sinks

    def _purge_old(self, records: list[JobRecord]) -> None:
        """Retention: done and canceled jobs go after ``keep_done``; failed ones stay."""
        limit = utc_now() - self.keep_done
        for record in records:
            if record.state in (JobState.DONE, JobState.CANCELED) and record.updated < limit:
                try:
                    self.store.remove(record.job_id)
                    LOG.info("job %s: removed after %s days", record.job_id, self.keep_done.days)
                except (JobNotFound, OSError) as exc:
                    LOG.warning("job %s: cannot remove: %s", record.job_id, exc)

    def _due_in(self, record: JobRecord) -> float:
        if record.state is JobState.PRINTING:
            return self.poll_interval
        if record.state is JobState.PENDING and record.next_attempt is not None:
            return (record.next_attempt - utc_now()).total_seconds()
        return self.retry_max if record.state.final else 0.0

    def _advance(self, job_id: str) -> JobRecord:
        with self.store.locked(job_id) as record:
            if record.state.final or record.state in WAITING:
                return record  # finished, held or moved since the scan: not for this pass
            sink = self.sinks.get(record.printer)
            if sink is None:
                return self._retry_later(record, f"no printer {record.printer!r} is configured")
            if record.state is JobState.PRINTING and record.cups_job_id is not None:
                return self._follow(record, sink, record.cups_job_id)
            if record.next_attempt is not None and record.next_attempt > utc_now():
                return record
            return self._submit(record, sink)

    def _submit(self, record: JobRecord, sink: Sink) -> JobRecord:
        try:
            if record.cups_job_id is not None:
                earlier = record.cups_job_id
                adopted = sink.adopt(earlier)
                if adopted is None:
                    return self._may_have_printed(record, sink)
                if adopted:
                    LOG.info("job %s was already at %s as %d", record.job_id, sink.name, earlier)
                    return self.store.save(self._submitted(record, earlier))
                LOG.warning(
                    "job %s: incomplete submission %d canceled; sending again",
                    record.job_id,
                    earlier,
                )
                record = self.store.save(record.model_copy(update={"cups_job_id": None}))
            record = self.store.save(
                record.model_copy(
                    update={"submit_started": utc_now(), "attempts": record.attempts + 1}
                )
            )
            created: list[JobRecord] = [record]

            def remember(external_id: int) -> None:
                created[0] = self.store.save(
                    created[0].model_copy(update={"cups_job_id": external_id})
                )

            submission = Submission(
                title=record.sink_title,
                document=self.store.document(record.job_id),
                copies=record.copies,
                options={"media": record.media} if record.media else {},
                order=self.store.order_files(record.job_id),
            )
            started = time.monotonic()
            external_id = sink.submit(submission, remember)
            self.metrics.delivered(record.printer, time.monotonic() - started)
            record = created[0]
        except MayHavePrinted as exc:
            LOG.error("job %s at %s: %s", record.job_id, sink.name, exc)
            return self._may_have_printed(self.store.get(record.job_id), sink)
        except SinkError as exc:
            record = self.store.get(record.job_id)
            if not exc.transient:
                LOG.error("job %s failed at %s: %s", record.job_id, sink.name, exc)
                return self._counted(
                    record.to(JobState.FAILURE, info=JobInfo.INVALID_PAGE_DES, reason=str(exc))
                )
            return self._retry_later(record, str(exc))
        if external_id is None:  # done at once; a directory sink logs the file it wrote
            LOG.info("job %s delivered to %s", record.job_id, sink.name)
        else:
            LOG.info("job %s submitted to %s as %s", record.job_id, sink.name, external_id)
        return self._counted(self._submitted(record, external_id))

    def _may_have_printed(self, record: JobRecord, sink: Sink) -> JobRecord:
        """Exactly once: a submission cut off where the destination cannot tell whether it
        printed is never sent again by itself; an operator reprints (or releases) or cancels."""
        reason = f"may have printed at {sink.name}: the answer to its print request never came"
        LOG.warning("job %s held: %s", record.job_id, reason)
        held = record.to(JobState.HELD, reason=reason, cups_job_id=None)
        return self.store.save(held, note="held: may have printed")

    def _submitted(self, record: JobRecord, external_id: int | None) -> JobRecord:
        """Done when the sink finished the job at once; else printing, to be followed."""
        if external_id is None:  # nothing to follow: no destination job id is kept
            return record.to(JobState.DONE, cups_job_id=None)
        return record.to(JobState.PRINTING, cups_job_id=external_id)

    def _counted(self, record: JobRecord) -> JobRecord:
        """Save a job that changed state; a film printed or failed here is counted."""
        films = record.pages * record.copies
        if record.state is JobState.DONE:
            self.metrics.printed(record.printer, films)
        elif record.state is JobState.FAILURE:
            self.metrics.failed(record.printer, films, "delivery")
        return self.store.save(record)

    def _follow(self, record: JobRecord, sink: Sink, external_id: int) -> JobRecord:
        try:
            sink_state, reason = sink.state(external_id)
        except SinkError as exc:
            if record.last_error == str(exc):
                return record
            return self.store.save(record.model_copy(update={"last_error": str(exc)}))
        state, info = _FROM_SINK[sink_state]
        started = record.submit_started or record.created
        stuck = state is JobState.PRINTING and utc_now() - started > self.stuck_after
        if stuck and not record.stuck:
            LOG.warning(
                "job %s: at %s for more than %s (%s)",
                record.job_id,
                sink.name,
                self.stuck_after,
                reason or info,
            )
            return self.store.save(
                record.model_copy(update={"stuck": True, "last_error": reason or "no progress"}),
                note="stuck at CUPS",
            )
        if (state, info) == (record.state, record.state_info):
            return record
        LOG.info("job %s is %s at %s (%s)", record.job_id, state, sink.name, reason or info)
        error = (reason or info.value) if state is JobState.FAILURE else None
        if state is JobState.FAILURE:
            self._stop_at_sink(record, sink, external_id)
        if state is record.state:  # only the info changed
            return self.store.save(record.to(state, info=info, reason=error))
        return self._counted(record.to(state, info=info, reason=error))

    def _stop_at_sink(self, record: JobRecord, sink: Sink, external_id: int) -> None:
        """A job the spool calls failed must not print later: a job CUPS stopped could be
        restarted there, and ``queue retry`` would then print the film twice."""
        try:
            sink.cancel(external_id)
        except SinkError as exc:
            LOG.warning(
                "job %s: cannot cancel %d at %s: %s", record.job_id, external_id, sink.name, exc
            )

    def _retry_later(self, record: JobRecord, error: str) -> JobRecord:
        delay = min(self.retry_max, self.retry_initial * 2 ** max(0, record.attempts - 1))
        when: datetime = utc_now() + timedelta(seconds=delay)
        if record.last_error != error:
            LOG.warning("job %s not delivered (%s); retry in %.0f s", record.job_id, error, delay)
        return self.store.save(
            record.model_copy(update={"last_error": error, "next_attempt": when})
        )
