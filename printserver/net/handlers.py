"""DIMSE-N requests of the Print Management Service Class → the print model.

pynetdicom calls these from each association's own thread (digest §6.2); the
per-association state is found by the association object.  Every handler
answers: model errors become their status with an Error Comment, and anything
unexpected becomes 0x0110 with a log entry, never a dropped request or a dead
server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, generate_uid
from pynetdicom import evt
from pynetdicom.association import Association

from printserver.config import Config, PrinterConfig
from printserver.model.errors import NoSuchInstance, PrintModelError, SpoolFull
from printserver.model.hierarchy import PrintHierarchy
from printserver.model.printer import PrinterStatus, printer_status
from printserver.net import admission, events, replies, requests, status
from printserver.net.association import (
    MISSING_INSTANCE,
    AssociationState,
    accepted_contexts,
    repair_incomplete_requests,
    request_class_uid,
)
from printserver.net.print_job import print_job_dataset
from printserver.net.printer import configuration_dataset, printer_dataset, select
from printserver.net.received import receive
from printserver.net.status import DimseFailure, status_dataset
from printserver.net.uids import (
    ANNOTATION_BOX,
    COLOR_IMAGE_BOX,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    PRINT_JOB,
    PRINTER,
    PRINTER_CONFIGURATION,
    PRINTER_CONFIGURATION_INSTANCE,
    PRINTER_INSTANCE,
)
from printserver.print_queue import PrintQueue
from printserver.sinks.base import Sink, StatusWatch
from printserver.spool.job import JobRecord

LOG = logging.getLogger(__name__)

Reply = tuple[int | Dataset, Dataset | None]
MIN_PEER_PDU = 1024
"""Smallest Maximum Length (PS3.8 D.1) we accept from a peer; real ones offer 4 KiB or more."""
PRINT_JOBS_KEPT = 10000
"""Print Job instances answerable by N-GET, newest kept (PS3.4 H.4.5: the SCP may delete them)."""


def _uid(value: Any) -> str | None:
    return str(value) if value else None


def _called_ae(assoc: Association) -> str:
    """The AE title the client called: it selects the logical printer."""
    primitive: Any = assoc.requestor.primitive
    return str(primitive.called_ae_title).strip()


def _calling_ae(assoc: Association) -> str:
    """The client's own AE title, as it sent it in the A-ASSOCIATE-RQ."""
    primitive: Any = assoc.requestor.primitive
    return str(primitive.calling_ae_title).strip()


def _big_endian(event: evt.Event) -> bool:
    return bool(event.context.transfer_syntax == ExplicitVRBigEndian)


def _requested(event: evt.Event) -> tuple[str, str]:
    """Requested SOP Class and Instance UID of an N-SET/N-GET/N-ACTION/N-DELETE."""
    request: Any = event.request
    return str(request.RequestedSOPClassUID), str(request.RequestedSOPInstanceUID)


def _check_received(event: evt.Event) -> None:
    """Refuse a request whose data set the upper layer discarded as too large."""
    dimse: Any = event.assoc.dimse  # net/message_limits.BoundedDIMSE, on every association
    request: Any = event.request
    refusal = dimse.refusal(int(request.MessageID))
    if refusal is None:
        return
    if request_class_uid(request) in (GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX):
        raise DimseFailure(status.IMAGE_TOO_LARGE, refusal)
    raise DimseFailure(status.RESOURCE_LIMITATION, refusal)


class PrintService:
    """The SCP's request handlers and the per-association print state."""

    def __init__(self, config: Config, queue: PrintQueue, sinks: Mapping[str, Sink]) -> None:
        self.config = config
        self.queue = queue
        self.sinks = sinks
        self._states: dict[int, AssociationState] = {}
        self._print_jobs: dict[str, str] = {}  # Print Job UID -> spool job id
        self._lock = threading.Lock()
        self._in_flight = 0
        self.watch = StatusWatch()
        self._idle = threading.Condition(self._lock)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled (graceful shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    # association life -------------------------------------------------------

    def bindings(self) -> list[Any]:
        """The pynetdicom event handlers to pass to ``AE.start_server``."""
        return [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_RELEASED, self.on_association_end),
            (evt.EVT_ABORTED, self.on_association_end),
            (evt.EVT_CONN_CLOSE, self.on_association_end),
            (evt.EVT_N_CREATE, self.on_n_create),
            (evt.EVT_N_SET, self.on_n_set),
            (evt.EVT_N_GET, self.on_n_get),
            (evt.EVT_N_ACTION, self.on_n_action),
            (evt.EVT_N_DELETE, self.on_n_delete),
        ]

    def on_requested(self, event: evt.Event) -> None:
        """Reject unknown called or calling AE titles (PS3.8 9.3.4), else prepare the state."""
        assoc = event.assoc
        called, calling = _called_ae(assoc), _calling_ae(assoc)
        printer = self.config.printer_for(called)
        reason = None
        if printer is None:
            reason, diagnostic = f"called AE {called!r} is no printer", 0x07
        elif not self._caller_allowed(printer, calling):
            reason, diagnostic = f"calling AE {calling!r} is not allowed", 0x03
        elif 0 < (assoc.requestor.maximum_length or 0) < MIN_PEER_PDU:
            # replies cut into PDUs of a few bytes would cost us thousands of sends each
            reason = f"Maximum Length {assoc.requestor.maximum_length} is below {MIN_PEER_PDU}"
            diagnostic = 0x01
        if reason is not None:
            LOG.warning("rejecting association from %s to %s: %s", calling, called, reason)
            # rejected-permanent, DICOM UL service-user
            assoc.acse.send_reject(0x01, 0x01, diagnostic)
            assoc.kill()  # lets the DUL send the A-ASSOCIATE-RJ before the socket closes
            return
        repair_incomplete_requests(assoc, self._resolve_missing_instance)

    def _caller_allowed(self, printer: PrinterConfig, calling: str) -> bool:
        allowed = self.config.server.allowed_calling_aes
        return (not allowed or calling in allowed) and printer.accepts_caller(calling)

    def on_association_end(self, event: evt.Event) -> None:
        """Release or abort deletes the film session and everything under it (PS3.4 H.4.1)."""
        with self._lock:
            self._states.pop(id(event.assoc), None)

    def _state(self, assoc: Association) -> AssociationState:
        key = id(assoc)
        with self._lock:
            state = self._states.get(key)
            if state is None:
                called = _called_ae(assoc)
                printer = self.config.printer_for(called)
                if printer is None:  # on_requested rejects these; be safe anyway
                    raise DimseFailure(status.PROCESSING_FAILURE, f"no printer {called}")
                contexts = accepted_contexts(assoc)
                hierarchy = PrintHierarchy(printer, _calling_ae(assoc),
                                           annotations=ANNOTATION_BOX in contexts,
                                           limits=self.config.limits)
                state = self._states[key] = AssociationState(
                    hierarchy, contexts, send_events=printer.send_events)
            return state

    def _resolve_missing_instance(self, assoc: Association, class_uid: str) -> str | None:
        """The instance a request without SOP Instance UID most plausibly means (lenient)."""
        if class_uid == PRINTER:
            return PRINTER_INSTANCE
        if class_uid == PRINTER_CONFIGURATION:
            return PRINTER_CONFIGURATION_INSTANCE
        state = self._state(assoc)
        hierarchy = state.hierarchy
        if hierarchy.printer.strict:
            return None
        if class_uid == FILM_BOX:
            film_box = hierarchy.current_film_box()
            return film_box.uid if film_box is not None else None
        if class_uid == FILM_SESSION and hierarchy.session is not None:
            return hierarchy.session.uid
        return None

    # status and events --------------------------------------------------------

    def printer_status(self, printer: PrinterConfig) -> PrinterStatus:
        sink = self.sinks.get(printer.ae_title)
        return printer_status(self.watch.status(sink) if sink is not None else None,
                              spool_accepting=self.queue.accepting)

    def _job(self, job_id: str) -> JobRecord | None:
        try:
            return self.queue.store.get(job_id)
        except (OSError, ValueError, LookupError):
            return None

    def _print_job(self, uid: str) -> JobRecord | None:
        """The spool job of a Print Job instance, also one created before a restart."""
        with self._lock:
            job_id = self._print_jobs.get(uid)
        if job_id is not None:
            return self._job(job_id)
        return next((job for job in self.queue.store.list() if job.print_job_uid == uid), None)

    def _flush_events(self, event: evt.Event, state: AssociationState) -> None:
        if not state.send_events:
            return
        printer = state.hierarchy.printer
        events.flush_print_job_events(event.assoc, state, self._job, printer.printer_name)
        events.flush_printer_event(event.assoc, state, self.printer_status(printer),
                                   printer.printer_name)

    # dispatch ---------------------------------------------------------------

    def _answer(self, event: evt.Event, name: str, work: Callable[[AssociationState], Reply],
                *, flush: bool = True) -> Reply:
        with self._lock:
            self._in_flight += 1
        try:
            return self._handle(event, name, work, flush)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle(self, event: evt.Event, name: str, work: Callable[[AssociationState], Reply],
                flush: bool) -> Reply:
        try:
            _check_received(event)
            state = self._state(event.assoc)
            if flush:
                self._flush_events(event, state)
            return work(state)
        except PrintModelError as exc:
            code = status.for_error(exc)
            LOG.warning("%s refused with 0x%04X: %s", name, code, exc)
            return status_dataset(code, str(exc)), None
        except DimseFailure as exc:
            LOG.warning("%s refused with 0x%04X: %s", name, exc.status, exc)
            return status_dataset(exc.status, str(exc)), None
        except Exception as exc:  # a bug must not cost the client its answer
            LOG.exception("%s failed", name)
            return status_dataset(status.PROCESSING_FAILURE, f"internal error: {exc}"), None

    def on_n_create(self, event: evt.Event) -> Reply:
        request: Any = event.request
        class_uid = str(request.AffectedSOPClassUID)
        uid = _uid(request.AffectedSOPInstanceUID)

        def work(state: AssociationState) -> Reply:
            ds = event.attribute_list
            created = requests.n_create(
                state.hierarchy, class_uid, uid, ds, context=str(event.context.abstract_syntax),
                big_endian=_big_endian(event))
            state.transcript.record("N-CREATE", class_uid, created.uid, ds,
                                    str(event.context.abstract_syntax), state.hierarchy)
            reply = created.reply
            if uid is None:
                reply.AffectedSOPInstanceUID = created.uid
            LOG.info("N-CREATE %s %s from %s", class_uid, created.uid,
                     state.hierarchy.calling_ae)
            return status.for_notices(created.notices), reply

        return self._answer(event, "N-CREATE", work)

    def on_n_set(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work(state: AssociationState) -> Reply:
            # read in place, not decoded into copies: net/received.py, net/admission.py
            request: Any = event.request
            ds = receive(request.ModificationList, str(event.context.transfer_syntax))
            notices, kept = admission.n_set(state.hierarchy, class_uid, uid, ds)
            state.transcript.record("N-SET", class_uid, uid, kept,
                                    str(event.context.abstract_syntax), state.hierarchy)
            LOG.info("N-SET %s %s", class_uid, uid)
            return status.for_notices(notices), None

        return self._answer(event, "N-SET", work)

    def on_n_get(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work(state: AssociationState) -> Reply:
            printer = state.hierarchy.printer
            wanted = [int(tag) for tag in event.attribute_identifiers or []]
            if class_uid == PRINTER:
                self._check_well_known(uid, PRINTER_INSTANCE, printer)
                everything = printer_dataset(printer, self.printer_status(printer))
            elif class_uid == PRINTER_CONFIGURATION:
                self._check_well_known(uid, PRINTER_CONFIGURATION_INSTANCE, printer)
                everything = configuration_dataset(printer)
            elif class_uid == PRINT_JOB:
                record = self._print_job(uid)
                if record is None:
                    raise NoSuchInstance(f"no such Print Job: {uid}")
                everything = print_job_dataset(record, printer.printer_name)
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-GET of {class_uid}")
            return status.SUCCESS, select(everything, wanted, strict=printer.strict)

        return self._answer(event, "N-GET", work)

    @staticmethod
    def _check_well_known(uid: str, expected: str, printer: PrinterConfig) -> None:
        if uid != expected and printer.strict:
            raise NoSuchInstance(f"not the well-known instance {expected}")

    def on_n_action(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work(state: AssociationState) -> Reply:
            if event.action_type != 1:
                raise DimseFailure(status.NO_SUCH_ACTION, f"Action Type {event.action_type}")
            if uid == MISSING_INSTANCE:
                raise NoSuchInstance("no SOP Instance UID given and none to print")
            hierarchy = state.hierarchy
            if class_uid == FILM_BOX:
                job, notices = hierarchy.print_film_box(uid)
                full = status.QUEUE_FULL_FILM_BOX
            elif class_uid == FILM_SESSION:
                job, notices = hierarchy.print_film_session(uid)
                full = status.QUEUE_FULL_FILM_SESSION
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-ACTION of {class_uid}")
            print_job_uid = generate_uid() if state.print_job_negotiated else ""
            objects = state.transcript.objects("N-ACTION", class_uid, uid)
            try:
                record = self.queue.enqueue(job, print_job_uid, objects)
            except SpoolFull as exc:
                raise DimseFailure(full, str(exc)) from exc
            LOG.info("job %s: printed %s %s from %s", record.job_id, class_uid, uid,
                     hierarchy.calling_ae)
            if not print_job_uid:
                return status.for_notices(notices), None
            with self._lock:
                self._print_jobs[print_job_uid] = record.job_id
                while len(self._print_jobs) > PRINT_JOBS_KEPT:  # oldest first
                    del self._print_jobs[next(iter(self._print_jobs))]
            state.print_jobs[print_job_uid] = record.job_id
            return status.for_notices(notices), replies.print_job_reference(print_job_uid)

        return self._answer(event, "N-ACTION", work, flush=False)

    def on_n_delete(self, event: evt.Event) -> int | Dataset:
        class_uid, uid = _requested(event)

        def work(state: AssociationState) -> Reply:
            requests.n_delete(state.hierarchy, class_uid, uid)
            state.transcript.forget(class_uid, uid)
            LOG.info("N-DELETE %s %s", class_uid, uid)
            return status.SUCCESS, None

        return self._answer(event, "N-DELETE", work)[0]
