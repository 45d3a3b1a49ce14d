"""The spool's job record: what was printed, for whom, and where it stands.

States follow the DICOM Print Job Execution Status (PS3.3 C.13.8: PENDING,
PRINTING, DONE, FAILURE) plus ``rendering`` (the film order is on disk, its
PostScript is being made; DICOM still calls that PENDING), ``held``
(waiting for an operator, e.g. for the film size to be loaded) and
``canceled`` for jobs an operator stopped.  Every change of state goes through
:meth:`JobRecord.to`, checked against :data:`TRANSITIONS`, and is journaled in
the record's ``history``.  ``state_info`` says why a job is where it is, in the
words of :class:`JobInfo`; what a DICOM client is told of that is decided in
``printserver/net/print_job.py`` alone.  The film session and film box UIDs are
kept as plain strings so that an operator can trace a film back to its request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field


class JobState(StrEnum):
    RENDERING = "rendering"
    PENDING = "pending"
    HELD = "held"
    PRINTING = "printing"
    DONE = "done"
    FAILURE = "failure"
    CANCELED = "canceled"

    @property
    def final(self) -> bool:
        return self in (JobState.DONE, JobState.FAILURE, JobState.CANCELED)

    def can_become(self, target: JobState) -> bool:
        """True when :data:`TRANSITIONS` lets a job in this state go to ``target``."""
        return target in TRANSITIONS[self]


class JobInfo(StrEnum):
    """Why a job is in its state: every value ``state_info`` is given.

    The values are the strings ``job.json`` and ``queue list --json`` have always
    carried.  Most are Execution Status Info terms (PS3.3 C.13.8, C.13.9.1) that
    the Print Job reports as they are; ``PRINTING`` and ``CANCELED`` are the
    spool's own and are translated there.
    """

    QUEUED = "QUEUED"  # waiting for its turn: the render stage, delivery or an operator
    PRINTING = "PRINTING"  # the destination is printing it
    NORMAL = "NORMAL"  # printed
    PRINTER_DOWN = "PRINTER DOWN"  # the destination stopped the job
    INVALID_PAGE_DES = "INVALID PAGE DES"  # the film cannot be made or printed
    REQ_MED_NOT_INST = "REQ MED NOT INST"  # the printer has not loaded the film size or medium
    CANCELED = "CANCELED"  # stopped by an operator or at the destination


TRANSITIONS: Mapping[JobState, frozenset[JobState]] = MappingProxyType(
    {
        # rendered; rendered for a film not loaded, or held by an operator meanwhile;
        # the order makes no film; canceled
        JobState.RENDERING: frozenset(
            {JobState.PENDING, JobState.HELD, JobState.FAILURE, JobState.CANCELED}
        ),
        # moved to another printer (to be rendered again when it kept its order); held;
        # sent (DONE when the destination finished it at once); refused there; canceled
        JobState.PENDING: frozenset(
            {
                JobState.PENDING,
                JobState.RENDERING,
                JobState.HELD,
                JobState.PRINTING,
                JobState.DONE,
                JobState.FAILURE,
                JobState.CANCELED,
            }
        ),
        # released or moved; held while rendered and the order made no film; canceled
        JobState.HELD: frozenset(
            {JobState.PENDING, JobState.RENDERING, JobState.FAILURE, JobState.CANCELED}
        ),
        # what the destination reports (PRINTING again when only the info changes); canceled
        JobState.PRINTING: frozenset(
            {JobState.PRINTING, JobState.DONE, JobState.FAILURE, JobState.CANCELED}
        ),
        # a printed film is never sent again: a reprint is a new job
        JobState.DONE: frozenset(),
        # retried or moved by an operator
        JobState.FAILURE: frozenset({JobState.PENDING, JobState.RENDERING}),
        JobState.CANCELED: frozenset({JobState.PENDING, JobState.RENDERING}),
    }
)
"""Every change of state there is: state → the states it may become.  A job starts
``rendering`` (an order), ``pending`` (a document) or ``held`` (a document for a film
the printer has not loaded)."""

DEFAULT_INFO: Mapping[JobState, JobInfo] = MappingProxyType(
    {
        JobState.RENDERING: JobInfo.QUEUED,
        JobState.PENDING: JobInfo.QUEUED,
        JobState.HELD: JobInfo.QUEUED,
        JobState.PRINTING: JobInfo.QUEUED,
        JobState.DONE: JobInfo.NORMAL,
        JobState.CANCELED: JobInfo.CANCELED,
    }
)
"""The info of a job entering a state when none is given; a failure always says which."""


class IllegalTransition(ValueError):
    """A change of state :data:`TRANSITIONS` does not allow: a bug, never an input."""

    def __init__(self, job_id: str, source: JobState, target: JobState) -> None:
        super().__init__(f"job {job_id}: {source} cannot become {target}")
        self.job_id = job_id
        self.source = source
        self.target = target


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobRequest(BaseModel):
    """What the print path knows when it hands a film to the spool."""

    model_config = ConfigDict(frozen=True)

    printer: str
    calling_ae: str = ""
    film_session_uid: str = ""
    film_box_uids: tuple[str, ...] = ()
    title: str = ""
    copies: int = Field(1, ge=1)
    priority: str = "MED"
    media: str = ""
    pages: int = Field(1, ge=0)
    print_job_uid: str = ""
    medium_type: str = ""
    destination: str = ""
    film_size: str = ""


PRIORITY_ORDER = {"HIGH": 0, "MED": 1, "LOW": 2}
"""Print Priority (2000,0020) → order in the queue; unknown values count as MED."""

SCHEMA_VERSION = 1


class HistoryEntry(BaseModel):
    """One journaled change of a job: when, to which state, why, and who did it.

    ``actor`` names the operator of an operator action (``cli:alice``, ``web:bob``);
    empty for the server's own changes and in records written before it existed.
    """

    model_config = ConfigDict(frozen=True)

    time: datetime
    state: JobState
    info: str = ""
    note: str = ""
    actor: str = ""


_SET_BY_TO = frozenset({"state", "state_info", "last_error", "next_attempt", "history"})
"""Fields :meth:`JobRecord.to` sets itself (or the store journals), never from ``changes``."""


class JobRecord(JobRequest):
    """A spooled job as written to ``job.json``.

    ``cups_job_id`` is saved the moment CUPS creates the job, before the
    document is sent; a job found after a crash still ``pending`` with an id is
    adopted (the document arrived) or canceled at CUPS and sent again (it did
    not), so a film reaches CUPS exactly once.  ``state_info`` stays a plain
    string so that any record ever written still loads.
    """

    job_id: str
    created: datetime
    updated: datetime
    state: JobState = JobState.PENDING
    state_info: str = JobInfo.QUEUED.value
    cups_job_id: int | None = None
    submit_started: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt: datetime | None = None
    document_bytes: int = 0
    schema_version: int = SCHEMA_VERSION
    history: tuple[HistoryEntry, ...] = ()
    stuck: bool = False

    @property
    def rank(self) -> tuple[int, datetime]:
        """Queue order: HIGH before MED before LOW, then oldest first."""
        return PRIORITY_ORDER.get(self.priority, 1), self.created

    def to(
        self,
        state: JobState,
        *,
        info: JobInfo | None = None,
        reason: str | None = None,
        **changes: object,
    ) -> JobRecord:
        """This record moved to ``state``: the one way a job changes state.

        ``info`` defaults to :data:`DEFAULT_INFO`; ``reason`` becomes ``last_error``
        (None clears it: pass the old one to keep it); ``changes`` are other fields
        set in the same step.  A job entering a state waits for no retry time of the
        state it left, so ``next_attempt`` is cleared.  Raises
        :class:`IllegalTransition` for a change :data:`TRANSITIONS` does not allow.
        """
        if not self.state.can_become(state):
            raise IllegalTransition(self.job_id, self.state, state)
        if info is None:
            if state not in DEFAULT_INFO:
                raise TypeError(f"a job entering {state} needs its info")
            info = DEFAULT_INFO[state]
        misplaced = (changes.keys() & _SET_BY_TO) | (changes.keys() - type(self).model_fields)
        if misplaced:
            raise TypeError(f"to() does not set {', '.join(sorted(misplaced))}")
        return self.model_copy(
            update={
                **changes,
                "state": state,
                "state_info": info.value,
                "last_error": reason,
                "next_attempt": None,
            }
        )

    def journaled(self, previous: JobRecord | None, note: str = "", actor: str = "") -> JobRecord:
        """This record with a history entry added when its state changed (or ``note``)."""
        changed = previous is None or (previous.state, previous.state_info) != (
            self.state,
            self.state_info,
        )
        if not changed and not note:
            return self
        entry = HistoryEntry(
            time=utc_now(), state=self.state, info=self.state_info, note=note, actor=actor
        )
        return self.model_copy(update={"history": (*self.history, entry)})

    @property
    def entered(self) -> datetime:
        """When the job entered its present state: the oldest entry of the history's last
        run of entries in that state (its creation when the history says nothing)."""
        entered = self.created
        for entry in reversed(self.history):
            if entry.state is not self.state:
                break
            entered = entry.time
        return entered

    @property
    def reason(self) -> str:
        """Why the job is where it is, for an operator: its last error, else its state info
        when that says more than NORMAL or QUEUED; STUCK first when it makes no progress."""
        text = self.last_error or (
            "" if self.state_info in (JobInfo.NORMAL, JobInfo.QUEUED) else self.state_info
        )
        return ("STUCK: " if self.stuck else "") + text

    def age(self, now: datetime) -> str:
        """How long ago the job was created, in its largest unit: 42s, 5m, 3h, 2d."""
        seconds = max(0, int((now - self.created).total_seconds()))
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds >= size:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"

    @property
    def sink_title(self) -> str:
        """The unique name the job carries at its destination."""
        return f"printserver-{self.job_id}"
