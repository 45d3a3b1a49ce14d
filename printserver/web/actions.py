"""The operator actions of the console: the functions of ``spool/operations.py`` that
``printserver queue`` calls, so a browser can do exactly what the command line can.

Each call names its actor, ``web:<user>``, for the audit trail.  A refusal comes back as
the operation's own sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from printserver.sinks.base import Sink
from printserver.spool import operations
from printserver.spool.job import JobRecord
from printserver.spool.store import JobNotFound, SpoolStore

VERBS = {
    "hold": "held",
    "release": "released",
    "cancel": "canceled",
    "retry": "queued again",
    "reprint": "reprinted",
    "move": "moved",
}
"""Every action the console offers, and how its success is reported."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    job_id: str


def _run(
    action: str, store: SpoolStore, sinks: Mapping[str, Sink], job_id: str, target: str, actor: str
) -> JobRecord:
    if action == "hold":
        return operations.hold(store, job_id, actor=actor)
    if action == "release":
        return operations.release(store, job_id, actor=actor)
    if action == "cancel":
        return operations.cancel(store, job_id, sinks, actor=actor)
    if action == "retry":
        return operations.retry(store, job_id, actor=actor)
    if action == "reprint":
        return operations.reprint(store, job_id, actor=actor)
    if action == "move":
        return operations.move(store, job_id, target, sinks, actor=actor)
    raise ValueError(f"unknown action {action!r}")


def perform(
    action: str,
    store: SpoolStore,
    sinks: Mapping[str, Sink],
    job_id: str,
    *,
    user: str,
    target: str = "",
) -> Outcome:
    """Do ``action`` to a job as ``user``; never raises for what an operator can cause."""
    try:
        record = _run(action, store, sinks, job_id, target, f"web:{user}")
    except JobNotFound:  # InvalidJobId too: the caller checked the id, so the job went
        return Outcome(False, f"no job {job_id}", job_id)
    except operations.OperationError as exc:
        return Outcome(False, str(exc), job_id)
    verb = f"moved to {target}" if action == "move" else VERBS[action]
    extra = f" as {record.job_id}" if record.job_id != job_id else ""
    return Outcome(True, f"{job_id}: {verb}{extra} ({record.state.value})", record.job_id)
