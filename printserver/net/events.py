"""N-EVENT-REPORT to the SCU: Print Job progress and Printer status changes.

Off unless the printer's ``send_events`` is set: some modalities choke on
unsolicited events (PS3.4 H.4.6.1.1 makes them optional).  When on, events are sent only from inside
a request handler of the same association, before that handler answers —
never from another thread, where an event would interleave with the client's
next request on the one DIMSE queue and break the association.
N-ACTION itself sends none (Agfa NX aborts on an event before its N-ACTION
response, fo-dicom#1523); the next request carries them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydicom.dataset import Dataset
from pynetdicom.association import Association

from printserver.model.printer import FAILURE, NORMAL, PrinterStatus
from printserver.model.sop_classes import PRINT_JOB, PRINTER, PRINTER_INSTANCE
from printserver.net.association import AssociationState
from printserver.net.print_job import FINAL_STATUSES, event_information, execution_status
from printserver.spool.job import JobRecord

LOG = logging.getLogger(__name__)

PRINTER_EVENT_TYPES = {NORMAL: 1, "WARNING": 2, FAILURE: 3}
"""Printer N-EVENT-REPORT Event Type IDs (PS3.4 H.4.6.1.1)."""


def _send(
    assoc: Association,
    state: AssociationState,
    dataset: Dataset | None,
    event_type: int,
    class_uid: str,
    instance_uid: str,
    meta_uid: str | None,
) -> None:
    try:
        status, _ = assoc.send_n_event_report(
            dataset,
            event_type,
            class_uid,
            instance_uid,
            msg_id=state.message_id(),
            meta_uid=meta_uid,
        )
        LOG.info(
            "N-EVENT-REPORT %s type %d to %s: status %s",
            class_uid,
            event_type,
            state.hierarchy.calling_ae,
            getattr(status, "Status", "none"),
        )
    except Exception:  # the client's trouble with an event must not fail its request
        LOG.exception("N-EVENT-REPORT %s type %d failed", class_uid, event_type)


def flush_print_job_events(
    assoc: Association,
    state: AssociationState,
    job: Callable[[str], JobRecord | None],
    printer_name: str,
) -> None:
    """Report every Print Job whose Execution Status changed since it was last reported
    (rendering, pending and held are all PENDING to the client)."""
    if not state.print_job_negotiated:
        return
    for uid, job_id in state.print_jobs.items():
        if state.reported_jobs.get(uid) in FINAL_STATUSES:
            continue  # its last event is out; nothing will change any more
        record = job(job_id)
        if record is None:
            continue
        status, _ = execution_status(record)
        if state.reported_jobs.get(uid) == status:
            continue
        state.reported_jobs[uid] = status
        event_type, info = event_information(record, printer_name)
        _send(assoc, state, info, event_type, PRINT_JOB, uid, None)


def flush_printer_event(
    assoc: Association, state: AssociationState, current: PrinterStatus, printer_name: str
) -> None:
    """Report a Printer status change (PS3.4 H.4.6.1.1); the first look sets the baseline."""
    previous, state.reported_printer = state.reported_printer, current
    if previous is None or previous == current:
        return
    context = state.printer_context
    if context is None:
        return
    info = None
    if current.status != NORMAL:
        info = Dataset()
        info.PrinterStatusInfo = current.info
        info.PrinterName = printer_name
    meta = None if context == PRINTER else context
    _send(assoc, state, info, PRINTER_EVENT_TYPES[current.status], PRINTER, PRINTER_INSTANCE, meta)
