"""What an operator does to spooled jobs: the conventions of ``cancel``, ``lp -H hold``,
``lp -H resume``, ``lpmove`` and CUPS's restart of a failed job.

Each operation takes the job's lock, checks that it makes sense in the job's
state, changes the record (journaled with a note) and, when the job is already
at its destination, tells the sink.  Whether a state allows an operation is read
from the job state table (``TRANSITIONS`` in ``job.py``), so an operator can do
nothing the spool would not; refusals raise :class:`OperationError` with a
sentence for the operator.

Every action is audited: who (``actor``: ``cli:<user>``, ``web:<login>``) did
what to which job from which state to which, in the job's history, as one
line of the ``printserver.audit`` log (the journal) and as one JSON line of
the spool's append-only ``audit.log``, which outlives the jobs ``purge``
removes.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
from collections.abc import Mapping
from datetime import datetime
from typing import BinaryIO

from printserver.sinks.base import Sink, SinkError
from printserver.spool.job import JobRecord, JobRequest, JobState, utc_now
from printserver.spool.store import SpoolStore

AUDIT = logging.getLogger("printserver.audit")

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


class NeedsConfirmation(OperationError):
    """The operation applies but may do what the operator did not mean (a second film of a
    job that may still print, a job sent where nothing is accepted): it is done only when
    ``force`` confirms it, ``--force`` on the command line, a tick in the console.  The
    message says what would happen."""


CONFIRMED = ("reprint", "rerender", "move")
"""The operations that ask for a confirmation in some states: every caller offers one."""


def _confirmation(force: bool, risk: str) -> str:
    """The audit detail of a confirmed risk; without ``force``, the refusal."""
    if not force:
        raise NeedsConfirmation(risk)
    return f"confirmed: {risk}"


def cli_actor() -> str:
    """``cli:<user>`` for the user running this process (``cli:root(sudo:alice)`` under
    sudo): the actor of an operation that names none."""
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = str(os.geteuid())
    sudo = os.environ.get("SUDO_USER", "") if os.geteuid() == 0 else ""
    return f"cli:{user}(sudo:{sudo})" if sudo else f"cli:{user}"


def audit(
    store: SpoolStore, actor: str, action: str, before: JobRecord, after: str, detail: str = ""
) -> None:
    """One line for the journal and one for ``audit.log``: actor, action, job, state change.

    An ``audit.log`` that cannot be written is logged, not raised: the action is done.
    """
    line = f"{actor} {action} job {before.job_id}: {before.state} -> {after}"
    AUDIT.info(line + (f" ({detail})" if detail else ""))
    entry = {
        "time": utc_now().isoformat(),
        "actor": actor,
        "action": action,
        "job": before.job_id,
        "from": before.state.value,
        "to": after,
        "detail": detail,
    }
    try:
        store.append_audit(json.dumps(entry))
    except OSError as exc:
        AUDIT.error("cannot write %s to the spool's audit.log: %s", line, exc)


def cancel(
    store: SpoolStore, job_id: str, sinks: Mapping[str, Sink], actor: str | None = None
) -> JobRecord:
    """Cancel a job in the spool and, when it already reached its sink, there too."""
    actor = actor or cli_actor()
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
        saved = store.save(
            record.to(JobState.CANCELED, reason=record.last_error),
            note="canceled by operator",
            actor=actor,
        )
    audit(store, actor, "cancel", record, saved.state)
    return saved


def hold(store: SpoolStore, job_id: str, actor: str | None = None) -> JobRecord:
    """Keep a job that has not reached its destination from being sent (one being rendered
    is rendered all the same, and waits)."""
    actor = actor or cli_actor()
    with store.locked(job_id) as record:
        if not record.state.can_become(JobState.HELD):
            raise OperationError(
                f"job {job_id} is {record.state}; only jobs not yet sent can be held"
            )
        saved = store.save(
            record.to(JobState.HELD, reason=record.last_error), note="held by operator", actor=actor
        )
    audit(store, actor, "hold", record, saved.state)
    return saved


def release(store: SpoolStore, job_id: str, actor: str | None = None) -> JobRecord:
    """Let a held job go to its destination (to the render stage first if it has no film)."""
    actor = actor or cli_actor()
    with store.locked(job_id) as record:
        if record.state is not JobState.HELD:
            raise OperationError(f"job {job_id} is {record.state}; only held jobs can be released")
        saved = store.save(
            record.to(_requeued(store, record)), note="released by operator", actor=actor
        )
    audit(store, actor, "release", record, saved.state)
    return saved


def _requeued(store: SpoolStore, record: JobRecord) -> JobState:
    """Where a job sent again starts: its document if it has one, else its order."""
    return JobState.PENDING if store.has_document(record.job_id) else JobState.RENDERING


def retry(store: SpoolStore, job_id: str, actor: str | None = None) -> JobRecord:
    """Send a failed or canceled job again, as a fresh submission (rendered again first
    when it failed before it had a document)."""
    actor = actor or cli_actor()
    with store.locked(job_id) as record:
        if record.state not in RETRIED:
            raise OperationError(
                f"job {job_id} is {record.state}; only failed or canceled jobs are retried"
            )
        if not store.has_document(job_id) and not store.has_order(job_id):
            raise OperationError(f"job {job_id} has neither a film nor an order to make one")
        saved = store.save(
            record.to(
                _requeued(store, record),
                cups_job_id=None,
                attempts=0,
                stuck=False,
                submit_started=None,
            ),
            note="retried by operator",
            actor=actor,
        )
    audit(store, actor, "retry", record, saved.state)
    return saved


def move(
    store: SpoolStore,
    job_id: str,
    printer: str,
    printers: Mapping[str, Sink],
    actor: str | None = None,
    *,
    force: bool = False,
) -> JobRecord:
    """Redirect a job that is not at a destination to another logical printer; a job that
    kept its order is rendered again for that printer's film sizes and settings.  A
    destination that says it accepts nothing takes the job only when ``force`` confirms
    it (as CUPS's ``lpmove`` refuses a queue that rejects jobs)."""
    actor = actor or cli_actor()
    if printer not in printers:
        raise OperationError(f"no printer {printer!r} is configured")
    health = printers[printer].status()
    confirmed = ""
    if health.reachable and not health.accepting:
        why = f" ({health.message})" if health.message else ""
        risk = f"{printer} is not accepting jobs{why}; job {job_id} would wait there"
        confirmed = "; " + _confirmation(force, risk)
    with store.locked(job_id) as record:
        if not _requeueable(record.state):
            refusal = _NOT_MOVED.get(record.state, f"is {record.state}; it cannot be moved")
            raise OperationError(f"job {job_id} {refusal.format(printer=record.printer)}")
        state = JobState.RENDERING if store.has_order(job_id) else _requeued(store, record)
        saved = store.save(
            record.to(state, printer=printer, cups_job_id=None, attempts=0),
            note=f"moved from {record.printer} to {printer} by operator",
            actor=actor,
        )
    detail = f"printer {record.printer} -> {printer}{confirmed}"
    audit(store, actor, "move", record, saved.state, detail)
    return saved


def reprint(
    store: SpoolStore,
    job_id: str,
    *,
    order_only: bool = False,
    actor: str | None = None,
    force: bool = False,
) -> JobRecord:
    """A new job with the same film: rendered again from the kept order, through the same
    path as printing (with the printer's settings of today), or, for a job that kept no
    order, a copy of its PostScript.  ``order_only`` refuses the copy (``rerender``).  A
    job that may still print its first film gets a second only when ``force`` confirms it."""
    actor = actor or cli_actor()
    record = store.get(job_id)
    action = "rerender" if order_only else "reprint"
    confirmed = ""
    if not record.state.final:
        _check_source(store, job_id, order_only)  # a job that cannot be reprinted says so first
        risk = f"job {job_id} is {record.state} and may still print; a second film is made"
        confirmed = "; " + _confirmation(force, risk)
    created = _reprinted(store, record, order_only, actor)
    detail = f"new job {created.job_id} {created.state}{confirmed}"
    audit(store, actor, action, record, record.state, detail)
    return created


def _check_source(store: SpoolStore, job_id: str, order_only: bool) -> None:
    """What a reprint is made from: the kept order, or (not for ``order_only``) the film."""
    if store.has_order(job_id):
        return
    if order_only:
        raise OperationError(f"job {job_id} kept no objects to render again")
    if not store.has_document(job_id):
        raise OperationError(f"job {job_id} has neither a film nor an order to make one")


def _reprinted(store: SpoolStore, record: JobRecord, order_only: bool, actor: str) -> JobRecord:
    job_id = record.job_id
    request = JobRequest.model_validate(record.model_dump(include=set(JobRequest.model_fields)))
    if store.has_order(job_id):
        return store.create(
            request,
            attachments=store.order_files(job_id),
            note=f"{'re-rendered' if order_only else 'reprint'} from {job_id}",
            actor=actor,
        )
    _check_source(store, job_id, order_only)
    source = store.document(job_id)

    def copy(out: BinaryIO) -> None:
        with open(source, "rb") as film:
            shutil.copyfileobj(film, out, 1 << 20)

    return store.create(request, copy, note=f"reprint of {job_id}", actor=actor)


def purge(
    store: SpoolStore,
    older_than: datetime,
    states: tuple[JobState, ...],
    actor: str | None = None,
) -> list[str]:
    """Remove jobs in ``states`` last changed before ``older_than``; returns their ids.

    What each job was is written to ``audit.log`` first; a job whose line cannot be
    written is kept (nothing disappears without a trace).
    """
    actor = actor or cli_actor()
    removed = []
    for record in store.list():
        if record.state in states and record.updated < older_than:
            if not _purge_one(store, actor, record):
                continue
            removed.append(record.job_id)
    return removed


def _purge_one(store: SpoolStore, actor: str, record: JobRecord) -> bool:
    """Audit, then remove one job; False when it was kept."""
    entry = {
        "time": utc_now().isoformat(),
        "actor": actor,
        "action": "purge",
        "job": record.job_id,
        "from": record.state.value,
        "to": "removed",
        "printer": record.printer,
        "calling_ae": record.calling_ae,
        "title": record.title,
        "films": record.pages,
        "copies": record.copies,
        "created": record.created.isoformat(),
        "updated": record.updated.isoformat(),
    }
    try:
        store.append_audit(json.dumps(entry))
    except OSError as exc:
        AUDIT.error("job %s kept: cannot write the spool's audit.log: %s", record.job_id, exc)
        return False
    store.remove(record.job_id)
    AUDIT.info(
        "%s purge job %s: %s -> removed (printer %s, created %s)",
        actor,
        record.job_id,
        record.state,
        record.printer,
        f"{record.created:%Y-%m-%d %H:%M:%S}Z",
    )
    return True
