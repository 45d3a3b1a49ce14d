"""What an operator does to spooled jobs: the conventions of ``cancel``, ``lp -H hold``,
``lp -H resume``, ``lpmove`` and CUPS's restart of a failed job.

Each operation takes the job's lock, checks that it makes sense in the job's
state, changes the record (journaled with a note) and, when the job is already
at its destination, tells the sink.  Whether a state allows an operation is read
from the job state table (``TRANSITIONS`` in ``job.py``), so an operator can do
nothing the spool would not; refusals raise :class:`OperationError` with a
sentence for the operator.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import datetime
from typing import BinaryIO

from printserver.sinks.base import Sink, SinkError
from printserver.spool.job import JobRecord, JobRequest, JobState
from printserver.spool.store import SpoolStore

REQUEUED = (JobState.PENDING, JobState.RENDERING)
"""Where a job sent again starts: with its document, or with its order to be rendered."""


def _requeueable(state: JobState) -> bool:
    return all(state.can_become(target) for target in REQUEUED)


RETRIED = frozenset(state for state in JobState if state.final and _requeueable(state))
"""Finished jobs that may be sent again (failed or canceled, never done)."""

_NOT_MOVED = {
    JobState.PRINTING: "is already at {printer}; cancel it first",
    JobState.RENDERING: "is being rendered; move it once it is pending",
    JobState.DONE: "is done; reprint it instead",
}
"""Why a job in a state that cannot go back to the render stage is not moved."""


class OperationError(Exception):
    """The operation does not apply to the job as it is; the message says why."""


def cancel(store: SpoolStore, job_id: str, sinks: Mapping[str, Sink]) -> JobRecord:
    """Cancel a job in the spool and, when it already reached its sink, there too."""
    with store.locked(job_id) as record:
        if not record.state.can_become(JobState.CANCELED):
            raise OperationError(f"job {job_id} is already {record.state}")
        sink = sinks.get(record.printer)
        if record.cups_job_id is not None and sink is not None:
            try:
                sink.cancel(record.cups_job_id)
            except SinkError as exc:
                raise OperationError(
                    f"could not cancel job {job_id} at {record.printer}: {exc}"
                ) from exc
        return store.save(
            record.to(JobState.CANCELED, reason=record.last_error), note="canceled by operator"
        )


def hold(store: SpoolStore, job_id: str) -> JobRecord:
    """Keep a job that has not reached its destination from being sent (one being rendered
    is rendered all the same, and waits)."""
    with store.locked(job_id) as record:
        if not record.state.can_become(JobState.HELD):
            raise OperationError(
                f"job {job_id} is {record.state}; only jobs not yet sent can be held"
            )
        return store.save(
            record.to(JobState.HELD, reason=record.last_error), note="held by operator"
        )


def release(store: SpoolStore, job_id: str) -> JobRecord:
    """Let a held job go to its destination (to the render stage first if it has no film)."""
    with store.locked(job_id) as record:
        if record.state is not JobState.HELD:
            raise OperationError(f"job {job_id} is {record.state}; only held jobs can be released")
        return store.save(record.to(_requeued(store, record)), note="released by operator")


def _requeued(store: SpoolStore, record: JobRecord) -> JobState:
    """Where a job sent again starts: its document if it has one, else its order."""
    return JobState.PENDING if store.has_document(record.job_id) else JobState.RENDERING


def retry(store: SpoolStore, job_id: str) -> JobRecord:
    """Send a failed or canceled job again, as a fresh submission (rendered again first
    when it failed before it had a document)."""
    with store.locked(job_id) as record:
        if record.state not in RETRIED:
            raise OperationError(
                f"job {job_id} is {record.state}; only failed or canceled jobs are retried"
            )
        if not store.has_document(job_id) and not store.has_order(job_id):
            raise OperationError(f"job {job_id} has neither a film nor an order to make one")
        return store.save(
            record.to(
                _requeued(store, record),
                cups_job_id=None,
                attempts=0,
                stuck=False,
                submit_started=None,
            ),
            note="retried by operator",
        )


def move(store: SpoolStore, job_id: str, printer: str, printers: Mapping[str, Sink]) -> JobRecord:
    """Redirect a job that is not at a destination to another logical printer; a job that
    kept its order is rendered again for that printer's film sizes and settings."""
    if printer not in printers:
        raise OperationError(f"no printer {printer!r} is configured")
    with store.locked(job_id) as record:
        if not _requeueable(record.state):
            refusal = _NOT_MOVED.get(record.state, f"is {record.state}; it cannot be moved")
            raise OperationError(f"job {job_id} {refusal.format(printer=record.printer)}")
        state = JobState.RENDERING if store.has_order(job_id) else _requeued(store, record)
        return store.save(
            record.to(state, printer=printer, cups_job_id=None, attempts=0),
            note=f"moved from {record.printer} to {printer} by operator",
        )


def reprint(store: SpoolStore, job_id: str, *, order_only: bool = False) -> JobRecord:
    """A new job with the same film: rendered again from the kept order, through the same
    path as printing (with the printer's settings of today), or, for a job that kept no
    order, a copy of its PostScript.  ``order_only`` refuses the copy (``rerender``)."""
    record = store.get(job_id)
    request = JobRequest.model_validate(record.model_dump(include=set(JobRequest.model_fields)))
    if store.has_order(job_id):
        return store.create(
            request,
            attachments=store.order_files(job_id),
            note=f"{'re-rendered' if order_only else 'reprint'} from {job_id}",
        )
    if order_only:
        raise OperationError(f"job {job_id} kept no objects to render again")
    if not store.has_document(job_id):
        raise OperationError(f"job {job_id} has neither a film nor an order to make one")
    source = store.document(job_id)

    def copy(out: BinaryIO) -> None:
        with open(source, "rb") as film:
            shutil.copyfileobj(film, out, 1 << 20)

    return store.create(request, copy, note=f"reprint of {job_id}")


def purge(store: SpoolStore, older_than: datetime, states: tuple[JobState, ...]) -> list[str]:
    """Remove jobs in ``states`` last changed before ``older_than``; returns their ids."""
    removed = []
    for record in store.list():
        if record.state in states and record.updated < older_than:
            store.remove(record.job_id)
            removed.append(record.job_id)
    return removed
