"""N-EVENT-REPORT to the SCU: the Print Job's progress and the Printer's status.

What is due is decided here, once, for both ways of sending (``print_job_events``):

* ``on`` (the default): an :class:`~printserver.net.event_channel.EventChannel`
  sends each event as the job changes, on its own thread, at a moment when no
  request of the association is being answered;
* ``with_next_request``: the handler of the modality's next request sends what is
  due before it answers, for a modality that cannot take an event on its own;
* ``off``: none.

Print Job events (PS3.4 H.4.5.1.1) go to associations that negotiated the Print
Job SOP Class, on the Print Job instance of the N-ACTION reply.  Printer events
(H.4.6.1.1) are opt-in (``send_events``).  An event is never sent before the
N-ACTION response (Agfa NX aborts on that, fo-dicom#1523): the Print Job exists
for the association only once the N-ACTION handler answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT

from printserver.model.printer import FAILURE, NORMAL, PrinterStatus
from printserver.model.sop_classes import PRINT_JOB, PRINTER, PRINTER_INSTANCE
from printserver.net.association import AssociationState
from printserver.net.print_job import (
    FINAL_STATUSES,
    ExecutionStatus,
    event_information,
    execution_status,
)
from printserver.order.transfer_syntax import encode_as
from printserver.spool.job import JobRecord

LOG = logging.getLogger(__name__)

PRINTER_EVENT_TYPES = {NORMAL: 1, "WARNING": 2, FAILURE: 3}
"""Printer N-EVENT-REPORT Event Type IDs (PS3.4 H.4.6.1.1)."""
PRINT_JOB_EVENT_NAMES = {1: "PENDING", 2: "PRINTING", 3: "DONE", 4: "FAILURE"}
"""Print Job Event Type IDs (PS3.4 H.4.5.1.1)."""


@dataclass(frozen=True)
class Outgoing:
    """One N-EVENT-REPORT to send."""

    class_uid: str
    instance_uid: str
    event_type: int
    information: Dataset | None
    context_uid: str
    """The abstract syntax of the presentation context it goes on."""
    about: str
    """For the log: ``job <id> DONE`` or ``printer WARNING``."""


def print_job_created(state: AssociationState, uid: str, job_id: str) -> None:
    """A Print Job of this association (N-ACTION): its reply says the job is queued, so
    PENDING is its baseline and is not sent again (PS3.4 H.4.5.1.1 makes PENDING optional)."""
    state.print_jobs[uid] = job_id
    state.reported_jobs[uid] = ExecutionStatus.PENDING.value


def due_print_job_events(
    state: AssociationState, job: Callable[[str], JobRecord | None], printer_name: str
) -> list[Outgoing]:
    """Every Print Job whose Execution Status changed since it was last reported (rendering,
    pending and held are all PENDING to the modality); each is marked as reported."""
    if not state.print_job_negotiated:
        return []
    due = []
    for uid, job_id in list(state.print_jobs.items()):
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
        name = PRINT_JOB_EVENT_NAMES.get(event_type, str(event_type))
        due.append(Outgoing(PRINT_JOB, uid, event_type, info, PRINT_JOB, f"job {job_id} {name}"))
    return due


def due_printer_event(
    state: AssociationState, current: PrinterStatus, printer_name: str
) -> Outgoing | None:
    """A Printer status change (PS3.4 H.4.6.1.1); the first look sets the baseline."""
    previous, state.reported_printer = state.reported_printer, current
    context = state.printer_context
    if previous is None or previous == current or context is None:
        return None
    info = None
    if current.status != NORMAL:
        info = Dataset()
        info.PrinterStatusInfo = current.info
        info.PrinterName = printer_name
    event_type = PRINTER_EVENT_TYPES[current.status]
    return Outgoing(
        PRINTER, PRINTER_INSTANCE, event_type, info, context, f"printer {current.status}"
    )


def send(
    assoc: Association,
    state: AssociationState,
    event: Outgoing,
    timeout: float,
    *,
    within_answer: bool = False,
) -> bool:
    """Send one event and wait for its N-EVENT-REPORT-RSP; False when the association
    cannot carry it or the modality did not answer within ``timeout``."""
    context = _context(assoc, event.context_uid)
    if context is None:
        LOG.warning("%s: no presentation context for it; not sent", event.about)
        return False
    message_id = state.message_id()
    request = _request(event, message_id, context.transfer_syntax[0])
    dimse: Any = assoc.dimse  # net/message_limits.BoundedDIMSE on every association we accept
    response = dimse.exchange.request(
        message_id,
        lambda: dimse.send_msg(request, context.context_id),
        timeout,
        within_answer=within_answer,
    )
    if response is None:  # the caller says what follows, in one WARNING
        return False
    status = getattr(response, "Status", None)
    LOG.info(
        "%s: N-EVENT-REPORT to %s answered 0x%04X",
        event.about,
        state.hierarchy.calling_ae,
        int(status) if status is not None else 0xFFFF,
    )
    return True


def _context(assoc: Association, abstract_syntax: str) -> Any | None:
    for context in assoc.accepted_contexts:
        if str(context.abstract_syntax) == abstract_syntax:
            return context
    return None


def _request(event: Outgoing, message_id: int, syntax: Any) -> N_EVENT_REPORT:
    request = N_EVENT_REPORT()
    request.MessageID = message_id
    request.AffectedSOPClassUID = event.class_uid
    request.AffectedSOPInstanceUID = event.instance_uid
    request.EventTypeID = event.event_type
    if event.information is not None:
        request.EventInformation = BytesIO(encode_as(event.information, str(syntax)))
    return request
