"""The spool's job record: what was printed, for whom, and where it stands.

States follow the DICOM Print Job Execution Status (PS3.3 C.13.8: PENDING,
PRINTING, DONE, FAILURE) plus ``rendering`` (the film order is on disk, its
PostScript is being made; DICOM still calls that PENDING), ``held``
(waiting for an operator, e.g. for the film size to be loaded) and
``canceled`` for jobs an operator stopped.  Every
change of state is journaled in the record's ``history``.  The
record knows nothing of DICOM messages; the film session and film box UIDs are
kept as plain strings so that an operator can trace a film back to its request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

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
    """One journaled change of a job: when, to which state, and why."""

    model_config = ConfigDict(frozen=True)

    time: datetime
    state: JobState
    info: str = ""
    note: str = ""


class JobRecord(JobRequest):
    """A spooled job as written to ``job.json``.

    ``cups_job_id`` is saved the moment CUPS creates the job, before the
    document is sent; a job found after a crash still ``pending`` with an id is
    adopted (the document arrived) or canceled at CUPS and sent again (it did
    not), so a film reaches CUPS exactly once.
    """

    job_id: str
    created: datetime
    updated: datetime
    state: JobState = JobState.PENDING
    state_info: str = "QUEUED"
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

    def journaled(self, previous: JobRecord | None, note: str = "") -> JobRecord:
        """This record with a history entry added when its state changed (or ``note``)."""
        changed = previous is None or (previous.state, previous.state_info) != (
            self.state, self.state_info)
        if not changed and not note:
            return self
        entry = HistoryEntry(time=utc_now(), state=self.state, info=self.state_info, note=note)
        return self.model_copy(update={"history": (*self.history, entry)})

    @property
    def sink_title(self) -> str:
        """The unique name the job carries at its destination."""
        return f"printserver-{self.job_id}"
