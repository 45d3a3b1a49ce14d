"""What the SCP keeps per association, and the repair of requests pynetdicom would drop.

The state lives as long as the association: its print hierarchy, which optional
SOP classes were negotiated, the Print Job instances it created, and what has
been reported to it by N-EVENT-REPORT.

pynetdicom silently drops a DIMSE-N request that lacks a mandatory command
field, so the client waits for its timeout (FUJI FCR and
ClearCanvas send N-ACTION with an empty SOP Instance UID).  The association's
request dispatcher is wrapped so such a request is completed before dispatch:
the instance the client most plausibly meant (the current film box, the
session, the well-known Printer instance), or a placeholder the handlers
answer with a failure status.  Either way the client gets an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_ACTION, N_CREATE, N_DELETE, N_GET, N_SET

from printserver.model.hierarchy import PrintHierarchy
from printserver.model.printer import PrinterStatus
from printserver.model.sop_classes import (
    COLOR_PRINT_META,
    GRAYSCALE_PRINT_META,
    NAMES,
    PRINT_JOB,
    PRINTER,
)
from printserver.net.pynetdicom_compat import RequestDispatch, wrap_request_dispatch
from printserver.order.transcript import Transcript

LOG = logging.getLogger(__name__)

MISSING_INSTANCE = "2.25.0"
"""Stands in for a Requested SOP Instance UID the client left empty."""

NO_ACTION_TYPE = 0
"""Stands in for a missing Action Type ID; answered with 0x0123 No such action."""


@dataclass
class AssociationState:
    """One association's print state."""

    hierarchy: PrintHierarchy
    contexts: frozenset[str]
    events: str = "off"
    """``print_job_events`` of the printer: on, with_next_request or off (net/events.py)."""
    printer_events: bool = False
    print_jobs: dict[str, str] = field(default_factory=dict)  # Print Job UID -> spool job id
    reported_jobs: dict[str, str] = field(default_factory=dict)  # UID -> Execution Status sent
    reported_printer: PrinterStatus | None = None
    transcript: Transcript = field(default_factory=Transcript)
    next_message_id: int = 0x8000
    jobs_spooled: int = 0  # N-ACTIONs answered with a job, held to max_jobs_per_association

    @property
    def print_job_negotiated(self) -> bool:
        return PRINT_JOB in self.contexts

    @property
    def printer_context(self) -> str | None:
        """The meta SOP class Printer events go out on, or Printer itself."""
        for uid in (GRAYSCALE_PRINT_META, COLOR_PRINT_META, PRINTER):
            if uid in self.contexts:
                return uid
        return None

    def message_id(self) -> int:
        self.next_message_id = self.next_message_id + 1 if self.next_message_id < 0xFFFF else 1
        return self.next_message_id


def accepted_contexts(assoc: Association) -> frozenset[str]:
    return frozenset(str(cx.abstract_syntax) for cx in assoc.accepted_contexts)


Resolver = Callable[[Association, str], str | None]


ANSWERED_CLASSES = frozenset(NAMES) - {GRAYSCALE_PRINT_META, COLOR_PRINT_META}
"""SOP classes a request may name; the meta classes are only presentation contexts."""
NO_SUCH_SOP_CLASS = 0x0118


def repair_incomplete_requests(assoc: Association, resolve: Resolver) -> None:
    """Complete N-SET/N-GET/N-ACTION/N-DELETE requests that lack an instance UID, and
    answer requests naming a SOP class we do not serve (pynetdicom would abort)."""

    def wrap(serve: RequestDispatch) -> RequestDispatch:
        def serve_repaired(message: Any, context_id: int) -> None:
            if isinstance(message, N_ACTION | N_SET | N_GET | N_DELETE):
                _repair(assoc, message, resolve)
            if isinstance(
                message, N_ACTION | N_SET | N_GET | N_DELETE | N_CREATE
            ) and _unknown_class(message):
                _answer_unknown_class(assoc, message, context_id)
                return
            serve(message, context_id)

        return serve_repaired

    wrap_request_dispatch(assoc, wrap)


def _repair(assoc: Association, message: Any, resolve: Resolver) -> None:
    class_uid = message.RequestedSOPClassUID
    if message.MessageID is None or class_uid is None:
        return  # nothing to route or answer by: pynetdicom logs and drops it
    if not message.RequestedSOPInstanceUID:
        uid = resolve(assoc, str(class_uid)) or MISSING_INSTANCE
        LOG.info("%s without SOP Instance UID: taken as %s", message.msg_type, uid)
        message.RequestedSOPInstanceUID = uid
    if isinstance(message, N_ACTION) and message.ActionTypeID is None:
        message.ActionTypeID = NO_ACTION_TYPE
    if isinstance(message, N_SET) and message.ModificationList is None:
        message.ModificationList = BytesIO()


def request_class_uid(message: Any) -> str | None:
    """The SOP class a request names: Affected (N-CREATE) or Requested (the others)."""
    uid = getattr(message, "AffectedSOPClassUID", None) or getattr(
        message, "RequestedSOPClassUID", None
    )
    return str(uid) if uid else None


def _unknown_class(message: Any) -> bool:
    uid = request_class_uid(message)
    return uid is not None and message.MessageID is not None and uid not in ANSWERED_CLASSES


def _answer_unknown_class(assoc: Association, message: Any, context_id: int) -> None:
    """0x0118 No Such SOP Class (PS3.7 C.5), with the request's own identifiers."""
    class_uid = request_class_uid(message)
    LOG.warning(
        "%s of unknown SOP class %r answered 0x%04X", message.msg_type, class_uid, NO_SUCH_SOP_CLASS
    )
    response = type(message)()
    response.MessageIDBeingRespondedTo = message.MessageID
    response.AffectedSOPClassUID = class_uid
    instance = getattr(message, "AffectedSOPInstanceUID", None) or getattr(
        message, "RequestedSOPInstanceUID", None
    )
    if instance:
        response.AffectedSOPInstanceUID = instance
    response.Status = NO_SUCH_SOP_CLASS
    response.ErrorComment = "SOP class not served here"
    assoc.dimse.send_msg(response, context_id)
