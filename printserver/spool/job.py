"""The spool's job record: what was printed, for whom, and where it stands.

States follow the DICOM Print Job Execution Status (PS3.3 C.13.8: PENDING,
PRINTING, DONE, FAILURE) plus ``canceled`` for jobs an operator stopped.  The
record knows nothing of DICOM messages; the film session and film box UIDs are
kept as plain strings so that an operator can trace a film back to its request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class JobState(StrEnum):
    PENDING = "pending"
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

    @property
    def sink_title(self) -> str:
        """The unique name the job carries at its destination."""
        return f"printserver-{self.job_id}"
