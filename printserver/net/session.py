"""One association's print session: its state and its DIMSE-N request handlers.

An :class:`AssociationSession` is made when an association is accepted and
bound to that association alone (``Association.bind`` overrides the
server-wide handlers), so a handler finds its state as ``self`` and nothing is
looked up in a server-wide table.  pynetdicom calls the handlers from the
association's own thread, one request at a time.  Every handler answers: model
errors become their status with an Error Comment, and anything unexpected
becomes 0x0110 with a log entry, never a dropped request or a dead server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, generate_uid
from pynetdicom import evt
from pynetdicom.association import Association

from printserver.config import LimitsConfig
from printserver.model.errors import ImageTooLarge, NoSuchInstance, PrintModelError, SpoolFull
from printserver.model.film_box import FilmBox
from printserver.model.film_session import FilmSession
from printserver.model.hierarchy import PrintHierarchy
from printserver.model.printer import Printer, PrinterStatus
from printserver.model.sop_classes import (
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
from printserver.net import events, replies, status
from printserver.net.association import (
    MISSING_INSTANCE,
    AssociationState,
    accepted_contexts,
    repair_incomplete_requests,
    request_class_uid,
)
from printserver.net.event_channel import EventChannel, JobListeners
from printserver.net.in_flight import InFlight
from printserver.net.incoming import BackgroundSync, Incoming
from printserver.net.print_job import PrintJobIndex, print_job_dataset
from printserver.net.printer import configuration_dataset, printer_dataset, select
from printserver.net.pynetdicom_compat import wrap_request_dispatch
from printserver.net.status import DimseFailure, status_dataset
from printserver.order import admission, requests
from printserver.order.received import ReceivedDataSet, receive, receive_spilled
from printserver.print_queue import PrintQueue
from printserver.spool.job import JobRecord

LOG = logging.getLogger(__name__)

Reply = tuple[int | Dataset, Dataset | None]


@dataclass(frozen=True)
class Shared:
    """What every session uses: the print queue, the Print Job index, the count of requests
    in flight, the live printer status, the limits, and who listens to which job."""

    queue: PrintQueue
    print_jobs: PrintJobIndex
    in_flight: InFlight
    printer_status: Callable[[Printer], PrinterStatus]
    limits: LimitsConfig
    listeners: JobListeners
    event_timeout: float
    """How long a modality has to answer an event (``[server] dimse_timeout``)."""
    sync: BackgroundSync | None = None
    """Makes images durable in the background as they arrive (``net/incoming.py``)."""


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


def _created_reply(instance: Any, hierarchy: PrintHierarchy) -> Dataset:
    if isinstance(instance, FilmSession):
        return replies.film_session(instance)
    if isinstance(instance, FilmBox):
        return replies.film_box(instance, hierarchy)
    return replies.presentation_lut(instance)


class AssociationSession:
    """The print state of one association (PS3.4 H.4.1: it lives as long as the association)
    and the handlers of its requests."""

    def __init__(self, shared: Shared, printer: Printer, calling_ae: str) -> None:
        self.shared = shared
        self.printer = printer
        self.calling_ae = calling_ae
        self._state: AssociationState | None = None
        self.incoming = Incoming(shared.queue.store, shared.sync)  # where its images wait
        self._ended = False
        self._channel: EventChannel | None = None

    def bind(self, assoc: Association) -> None:
        """Make this session the handler of ``assoc``'s requests, and of its end."""
        for event, handler in (
            (evt.EVT_N_CREATE, self.on_n_create),
            (evt.EVT_N_SET, self.on_n_set),
            (evt.EVT_N_GET, self.on_n_get),
            (evt.EVT_N_ACTION, self.on_n_action),
            (evt.EVT_N_DELETE, self.on_n_delete),
            (evt.EVT_RELEASED, self.on_end),
            (evt.EVT_ABORTED, self.on_end),
            (evt.EVT_CONN_CLOSE, self.on_end),
        ):
            assoc.bind(event, handler)
        repair_incomplete_requests(assoc, self.resolve_missing_instance)
        dimse: Any = assoc.dimse  # net/message_limits.BoundedDIMSE; outermost: it holds the turn
        wrap_request_dispatch(assoc, dimse.exchange.answering_wrapper)
        dimse.spill_to = self._image_file
        dimse.spill_written = self.incoming.written
        peer = assoc.requestor.address
        LOG.info("association from %s (%s) for %s", self.calling_ae, peer, self.printer.ae_title)

    def on_end(self, event: evt.Event) -> None:
        """Release or abort deletes the film session and everything under it (PS3.4 H.4.1);
        what was printed is in the spool already."""
        if not self._ended:
            self._ended = True
            how = {"EVT_RELEASED": "released", "EVT_ABORTED": "aborted"}
            LOG.info("association from %s %s", self.calling_ae, how.get(event.event.name, "closed"))
        self._state = None
        if self._channel is not None:
            self._channel.stop()
            self.shared.listeners.forget(self._channel)
            self._channel = None
        dimse: Any = event.assoc.dimse  # net/message_limits.BoundedDIMSE
        dimse.abandon()
        self.incoming.close()

    def _spill(self, received: ReceivedDataSet) -> ReceivedDataSet:
        """Write an admitted image's data set to this association's directory in the spool
        and read it from there, as DCMTK's print SCP stores images at N-SET: memory then
        holds no image between requests, however many associations are open."""
        if received.file is not None:  # written as it arrived (net/message_limits.py)
            return received
        if not self.shared.queue.accepting:
            raise ImageTooLarge("the spool disk is full; the image cannot be stored")
        return received.spilled(self.incoming.new_path())

    def _image_file(self) -> tuple[Path, BinaryIO] | None:
        """A file for an image's data set as it arrives; None (kept in memory, refused at
        admission) while the spool disk is full or after the association ended."""
        if not self.shared.queue.accepting:
            return None
        try:
            return self.incoming.open()
        except OSError as exc:
            LOG.warning("image of %s kept in memory: %s", self.calling_ae, exc)
            return None

    def state(self, assoc: Association) -> AssociationState:
        """The session's state, made at the first request (the contexts are known by then)."""
        if self._state is None:
            contexts = accepted_contexts(assoc)
            hierarchy = PrintHierarchy(
                self.printer,
                self.calling_ae,
                annotations=ANNOTATION_BOX in contexts,
                limits=self.shared.limits,
            )
            settings = self.printer.settings
            state = AssociationState(
                hierarchy,
                contexts,
                events=settings.print_job_events,
                printer_events=settings.send_events and settings.print_job_events != "off",
            )
            self._state = state
            if state.events == "on" and (state.print_job_negotiated or state.printer_events):
                self._channel = self._open_channel(assoc, state)
        return self._state

    def _open_channel(self, assoc: Association, state: AssociationState) -> EventChannel:
        printer = self.printer
        status = (lambda: self.shared.printer_status(printer)) if state.printer_events else None
        channel = EventChannel(
            assoc, state, self._job, printer.name, status, self.shared.event_timeout
        )
        dul: Any = assoc.dul  # net/upper_layer.BoundedDUL: outlives network_timeout while waiting
        dul.awaiting = lambda: channel.waiting
        if state.printer_events:
            channel.wake()  # the first look sets the printer's baseline
        return channel

    def resolve_missing_instance(self, assoc: Association, class_uid: str) -> str | None:
        """The instance a request without SOP Instance UID most plausibly means (lenient)."""
        if class_uid == PRINTER:
            return PRINTER_INSTANCE
        if class_uid == PRINTER_CONFIGURATION:
            return PRINTER_CONFIGURATION_INSTANCE
        hierarchy = self.state(assoc).hierarchy
        if self.printer.settings.strict:
            return None
        if class_uid == FILM_BOX:
            film_box = hierarchy.current_film_box()
            return film_box.uid if film_box is not None else None
        if class_uid == FILM_SESSION and hierarchy.session is not None:
            return hierarchy.session.uid
        return None

    # status and events --------------------------------------------------------

    def _job(self, job_id: str) -> JobRecord | None:
        try:
            return self.shared.queue.store.get(job_id)
        except (OSError, ValueError, LookupError):
            return None

    def _flush_events(self, event: evt.Event, state: AssociationState) -> None:
        """``with_next_request``: what is due goes out before this request is answered."""
        if state.events != "with_next_request":
            return
        printer = self.printer
        due = events.due_print_job_events(state, self._job, printer.name)
        if state.printer_events:
            current = self.shared.printer_status(printer)
            printer_event = events.due_printer_event(state, current, printer.name)
            due += [printer_event] if printer_event is not None else []
        timeout = self.shared.event_timeout
        for outgoing in due:
            if not events.send(event.assoc, state, outgoing, timeout, within_answer=True):
                LOG.warning(
                    "%s: the N-EVENT-REPORT to %s was not answered within %g s",
                    outgoing.about,
                    self.calling_ae,
                    timeout,
                )
                return

    # dispatch ---------------------------------------------------------------

    def _answer(
        self,
        event: evt.Event,
        name: str,
        work: Callable[[AssociationState], Reply],
        *,
        flush: bool = True,
    ) -> Reply:
        with self.shared.in_flight.request():
            try:
                _check_received(event)
                state = self.state(event.assoc)
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
        uid = str(request.AffectedSOPInstanceUID) if request.AffectedSOPInstanceUID else None

        def work(state: AssociationState) -> Reply:
            ds = event.attribute_list
            context = str(event.context.abstract_syntax)
            created = requests.n_create(
                state.hierarchy, class_uid, uid, ds, context=context, big_endian=_big_endian(event)
            )
            state.transcript.record(
                "N-CREATE", class_uid, created.uid, ds, context, state.hierarchy
            )
            reply = _created_reply(created.instance, state.hierarchy)
            if uid is None:
                reply.AffectedSOPInstanceUID = created.uid
            LOG.info("N-CREATE %s %s from %s", class_uid, created.uid, self.calling_ae)
            return status.for_notices(created.notices), reply

        return self._answer(event, "N-CREATE", work)

    def on_n_set(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work(state: AssociationState) -> Reply:
            # read in place, not decoded into copies: order/received.py, order/admission.py
            request: Any = event.request
            syntax = str(event.context.transfer_syntax)
            dimse: Any = event.assoc.dimse  # net/message_limits.BoundedDIMSE
            written = dimse.spilled(int(request.MessageID))
            if written is not None:
                ds = receive_spilled(written, syntax)
            else:
                ds = receive(request.ModificationList, syntax)
            notices, kept = admission.n_set(state.hierarchy, class_uid, uid, ds, self._spill)
            kept.unmap_pages()
            state.transcript.record(
                "N-SET", class_uid, uid, kept, str(event.context.abstract_syntax), state.hierarchy
            )
            LOG.info("N-SET %s %s", class_uid, uid)
            return status.for_notices(notices), None

        return self._answer(event, "N-SET", work)

    def on_n_get(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work(state: AssociationState) -> Reply:
            printer = self.printer
            wanted = [int(tag) for tag in event.attribute_identifiers or []]
            if class_uid == PRINTER:
                self._check_well_known(uid, PRINTER_INSTANCE)
                everything = printer_dataset(printer, self.shared.printer_status(printer))
            elif class_uid == PRINTER_CONFIGURATION:
                self._check_well_known(uid, PRINTER_CONFIGURATION_INSTANCE)
                everything = configuration_dataset(printer)
            elif class_uid == PRINT_JOB:
                job_id = self.shared.print_jobs.job_id(uid)
                record = self._job(job_id) if job_id is not None else None
                if record is None:
                    raise NoSuchInstance(f"no such Print Job: {uid}")
                everything = print_job_dataset(record, printer.name)
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-GET of {class_uid}")
            LOG.info("N-GET %s %s from %s", class_uid, uid, self.calling_ae)
            return status.SUCCESS, select(everything, wanted, strict=printer.settings.strict)

        return self._answer(event, "N-GET", work)

    def _check_well_known(self, uid: str, expected: str) -> None:
        if uid != expected and self.printer.settings.strict:
            raise NoSuchInstance(f"not the well-known instance {expected}")

    def on_n_action(self, event: evt.Event) -> Reply:
        """Print (PS3.4 H.4.1.2.4, H.4.2.2.4): everything that can be refused is checked by
        the print model first; then the film order is spooled durably and answered, and the
        render stage makes the film."""
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
            most = self.shared.limits.max_jobs_per_association
            if state.jobs_spooled >= most:
                raise DimseFailure(full, f"this association has queued {most} films, the limit")
            print_job_uid = generate_uid() if state.print_job_negotiated else ""
            order = state.transcript.objects(class_uid, uid)
            try:
                record = self.shared.queue.enqueue(job, print_job_uid, order)
            except SpoolFull as exc:
                raise DimseFailure(full, str(exc)) from exc
            state.jobs_spooled += 1
            LOG.info(
                "job %s: printed %s %s from %s", record.job_id, class_uid, uid, self.calling_ae
            )
            if not print_job_uid:
                return status.for_notices(notices), None
            self.shared.print_jobs.add(print_job_uid, record.job_id)
            events.print_job_created(state, print_job_uid, record.job_id)
            if self._channel is not None:  # its events wait for the turn this answer holds
                self.shared.listeners.listen(record.job_id, self._channel)
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
