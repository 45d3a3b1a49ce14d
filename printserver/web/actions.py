"""The operator actions of the console: the functions of ``spool/operations.py`` that
``printserver queue`` calls, so a browser can do exactly what the command line can.

Each call names its actor, ``web:<user>``, for the audit trail.  A refusal comes back as
the operation's own sentence.  What the command line confirms with ``--force`` the console
confirms with the form's ``confirm`` tick; the operation decides when it is needed.
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
    "rerender": "to be re-rendered",
    "move": "moved",
}
"""Every action the console offers, and how its success is reported."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    job_id: str


@dataclass(frozen=True)
class Request:
    """One action as the console's form asked for it."""

    action: str
    job_id: str
    user: str
    target: str = ""
    confirmed: bool = False


def _run(request: Request, store: SpoolStore, sinks: Mapping[str, Sink]) -> JobRecord:
    action, job_id, force = request.action, request.job_id, request.confirmed
    actor = f"web:{request.user}"
    if action == "hold":
        return operations.hold(store, job_id, actor=actor)
    if action == "release":
        return operations.release(store, job_id, actor=actor)
    if action == "cancel":
        return operations.cancel(store, job_id, sinks, actor=actor)
    if action == "retry":
        return operations.retry(store, job_id, actor=actor)
    if action == "reprint":
        return operations.reprint(store, job_id, actor=actor, force=force)
    if action == "rerender":
        return operations.reprint(store, job_id, order_only=True, actor=actor, force=force)
    if action == "move":
        return operations.move(store, job_id, request.target, sinks, actor=actor, force=force)
    raise ValueError(f"unknown action {action!r}")


def perform(request: Request, store: SpoolStore, sinks: Mapping[str, Sink]) -> Outcome:
    """Do what ``request`` asks; never raises for what an operator can cause."""
    job_id = request.job_id
    try:
        record = _run(request, store, sinks)
    except JobNotFound:  # InvalidJobId too: the caller checked the id, so the job went
        return Outcome(False, f"no job {job_id}", job_id)
    except operations.NeedsConfirmation as exc:
        return Outcome(False, f"{exc}; tick “confirm” to do it all the same", job_id)
    except operations.OperationError as exc:
        return Outcome(False, str(exc), job_id)
    action = request.action
    verb = f"moved to {request.target}" if action == "move" else VERBS[action]
    extra = f" as {record.job_id}" if record.job_id != job_id else ""
    return Outcome(True, f"{job_id}: {verb}{extra} ({record.state.value})", record.job_id)
