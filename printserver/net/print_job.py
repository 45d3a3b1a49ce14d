"""Print Job SOP instances (PS3.4 H.4.5): the spool's real job state, as DICOM reads it.

A Print Job instance is created for every N-ACTION on an association that
negotiated the Print Job class; its UID is kept with the spool job, so N-GET
and N-EVENT-REPORT tell the truth about the film until it is DONE or FAILURE.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from printserver.spool.job import JobRecord, JobState

EXECUTION_STATUS: dict[JobState, tuple[str, int]] = {
    JobState.PENDING: ("PENDING", 1),
    JobState.PRINTING: ("PRINTING", 2),
    JobState.DONE: ("DONE", 3),
    JobState.FAILURE: ("FAILURE", 4),
    JobState.CANCELED: ("FAILURE", 4),
}
"""Spool state → Execution Status (2100,0020) and its N-EVENT-REPORT Event Type ID."""


def execution_status(record: JobRecord) -> tuple[str, str]:
    """Execution Status and Execution Status Info (PS3.3 C.13.8, digest Appendix B)."""
    status = EXECUTION_STATUS[record.state][0]
    if record.state is JobState.PENDING:
        return status, "QUEUED"
    if record.state in (JobState.PRINTING, JobState.DONE):
        return status, "NORMAL"
    if record.state is JobState.CANCELED:
        return status, "UNKNOWN"  # canceled by an operator: no defined term says so
    info = record.state_info if 0 < len(record.state_info) <= 16 else "UNKNOWN"
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
