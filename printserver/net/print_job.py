"""Print Job SOP instances (PS3.4 H.4.5): the spool's real job state, as DICOM reads it.

A Print Job instance is created for every N-ACTION on an association that
negotiated the Print Job class; its UID is kept with the spool job, so N-GET
and N-EVENT-REPORT tell the truth about the film until it is DONE or FAILURE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum

from pydicom.dataset import Dataset

from printserver.spool.job import JobInfo, JobRecord, JobState


class ExecutionStatus(StrEnum):
    """Execution Status (2100,0020): its Enumerated Values (PS3.3 C.13.8, Table C.13-8)."""

    PENDING = "PENDING"
    PRINTING = "PRINTING"
    DONE = "DONE"
    FAILURE = "FAILURE"


EXECUTION_STATUS: dict[JobState, tuple[ExecutionStatus, int]] = {
    JobState.RENDERING: (ExecutionStatus.PENDING, 1),
    JobState.PENDING: (ExecutionStatus.PENDING, 1),
    JobState.HELD: (ExecutionStatus.PENDING, 1),  # the info says why, e.g. REQ MED NOT INST
    JobState.PRINTING: (ExecutionStatus.PRINTING, 2),
    JobState.DONE: (ExecutionStatus.DONE, 3),
    JobState.FAILURE: (ExecutionStatus.FAILURE, 4),
    JobState.CANCELED: (ExecutionStatus.FAILURE, 4),
}
"""Spool state → Execution Status and its N-EVENT-REPORT Event Type ID (PS3.4 H.4.5.1.1)."""

FINAL_STATUSES = frozenset({ExecutionStatus.DONE, ExecutionStatus.FAILURE})

UNKNOWN = "UNKNOWN"
"""Execution Status Info when no Defined Term (PS3.3 C.13.9.1) says what happened."""

INFO_TERMS = frozenset(
    info.value
    for info in (
        JobInfo.QUEUED,
        JobInfo.NORMAL,
        JobInfo.PRINTER_DOWN,
        JobInfo.INVALID_PAGE_DES,
        JobInfo.REQ_MED_NOT_INST,
    )
)
"""The spool's infos that are Execution Status Info Defined Terms (PS3.3 C.13.8, C.13.9.1)
and are reported as they are; the others are the spool's own words."""

_INFO_OF_STATE: dict[JobState, str] = {
    JobState.RENDERING: JobInfo.QUEUED.value,
    JobState.PENDING: JobInfo.QUEUED.value,
    JobState.PRINTING: JobInfo.NORMAL.value,  # the only term defined for PRINTING
    JobState.DONE: JobInfo.NORMAL.value,
    JobState.CANCELED: UNKNOWN,  # canceled by an operator: no Defined Term says so
}
"""Execution Status Info fixed by the state; held and failed jobs report their own info."""


def execution_status(record: JobRecord) -> tuple[str, str]:
    """Execution Status and Execution Status Info (PS3.3 C.13.8, C.13.9.1)."""
    status = EXECUTION_STATUS[record.state][0].value
    info = _INFO_OF_STATE.get(record.state)
    if info is None:
        info = record.state_info if record.state_info in INFO_TERMS else UNKNOWN
    return status, info


def print_job_dataset(record: JobRecord, printer_name: str) -> Dataset:
    """Every attribute of the Print Job N-GET (PS3.4 Table H.4-15)."""
    status, info = execution_status(record)
    created = record.created.astimezone()
    ds = Dataset()
    ds.PrintPriority = record.priority
    ds.ExecutionStatus = status
    ds.ExecutionStatusInfo = info
    ds.CreationDate = created.strftime("%Y%m%d")
    ds.CreationTime = created.strftime("%H%M%S")
    ds.Originator = record.calling_ae or "UNKNOWN"
    ds.PrinterName = printer_name
    return ds


def event_information(record: JobRecord, printer_name: str) -> tuple[int, Dataset]:
    """Event Type ID and Event Information of a Print Job N-EVENT-REPORT (PS3.4 H.4.5.1.1)."""
    _, info = execution_status(record)
    ds = Dataset()
    ds.ExecutionStatusInfo = info
    ds.FilmSessionLabel = record.title
    ds.PrinterName = printer_name
    return EXECUTION_STATUS[record.state][1], ds


class PrintJobIndex:
    """Print Job UID → spool job id, shared by every association (N-GET may come on a new
    one); the newest ``kept`` are remembered, older ones are found by reading the spool."""

    def __init__(self, jobs: Callable[[], list[JobRecord]], kept: int = 10000) -> None:
        self._jobs = jobs
        self._kept = kept
        self._index: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, print_job_uid: str, job_id: str) -> None:
        with self._lock:
            self._index[print_job_uid] = job_id
            while len(self._index) > self._kept:  # oldest first
                del self._index[next(iter(self._index))]

    def job_id(self, print_job_uid: str) -> str | None:
        """The spool job of a Print Job instance, also one created before a restart."""
        with self._lock:
            job_id = self._index.get(print_job_uid)
        if job_id is not None:
            return job_id
        return next(
            (job.job_id for job in self._jobs() if job.print_job_uid == print_job_uid), None
        )
