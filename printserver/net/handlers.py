"""DIMSE-N requests of the Print Management Service Class → the print model.

pynetdicom calls these from each association's own thread (digest §6.2); the
per-association :class:`PrintHierarchy` is found by the association object.
Every handler answers: model errors become their status with an Error Comment,
and anything unexpected becomes 0x0110 with a log entry, never a dropped
request or a dead server.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian
from pynetdicom import evt

import printserver
from printserver.config import Config
from printserver.model.errors import PrintModelError, SpoolFull
from printserver.model.film_box import FilmBox
from printserver.model.film_session import FilmSession
from printserver.model.hierarchy import PrintHierarchy
from printserver.net import attributes, status
from printserver.net.status import DimseFailure, status_dataset
from printserver.net.uids import FILM_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX, PRINTER
from printserver.print_queue import PrintQueue
from printserver.sinks.base import Sink

LOG = logging.getLogger(__name__)

Reply = tuple[int | Dataset, Dataset | None]


def _uid(value: Any) -> str | None:
    return str(value) if value else None


def _called_ae(event: evt.Event) -> str:
    """The AE title the client called: it selects the logical printer."""
    primitive: Any = event.assoc.requestor.primitive
    return str(primitive.called_ae_title).strip()


def _requested(event: evt.Event) -> tuple[str, str]:
    """Requested SOP Class and Instance UID of an N-SET/N-GET/N-ACTION/N-DELETE."""
    request: Any = event.request
    return str(request.RequestedSOPClassUID), str(request.RequestedSOPInstanceUID)


def _reference(class_uid: str, instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    return item


class PrintService:
    """The SCP's request handlers and the per-association print state."""

    def __init__(self, config: Config, queue: PrintQueue, sinks: Mapping[str, Sink]) -> None:
        self.config = config
        self.queue = queue
        self.sinks = sinks
        self._states: dict[int, PrintHierarchy] = {}
        self._lock = threading.Lock()

    # association life -------------------------------------------------------

    def bindings(self) -> list[Any]:
        """The pynetdicom event handlers to pass to ``AE.start_server``."""
        return [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_CONN_OPEN, self.on_connection_open),
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
        """Reject an association whose called AE title names no printer (PS3.8 9.3.4)."""
        called = _called_ae(event)
        if self.config.printer_for(called) is None:
            primitive: Any = event.assoc.requestor.primitive
            LOG.warning(
                "rejecting association from %s: called AE %r is no printer",
                str(primitive.calling_ae_title).strip(), called,
            )
            # rejected-permanent, DICOM UL service-user, called AE title not recognised
            event.assoc.acse.send_reject(0x01, 0x01, 0x07)
            event.assoc.kill()  # lets the DUL send the A-ASSOCIATE-RJ before the socket closes

    def on_connection_open(self, event: evt.Event) -> None:
        """Set TCP_NODELAY: small DIMSE messages otherwise wait on Nagle (digest §interop)."""
        sock = event.assoc.dul.socket
        if sock is not None and sock.socket is not None:
            sock.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_association_end(self, event: evt.Event) -> None:
        """Release or abort deletes the film session and everything under it (PS3.4 H.4.1)."""
        with self._lock:
            self._states.pop(id(event.assoc), None)

    def _hierarchy(self, event: evt.Event) -> PrintHierarchy:
        key = id(event.assoc)
        with self._lock:
            state = self._states.get(key)
            if state is None:
                called = _called_ae(event)
                printer = self.config.printer_for(called)
                if printer is None:  # on_requested rejects these; be safe anyway
                    raise DimseFailure(status.PROCESSING_FAILURE, f"no printer {called}")
                calling = str(event.assoc.requestor.ae_title).strip()
                state = self._states[key] = PrintHierarchy(printer, calling)
            return state

    # dispatch ---------------------------------------------------------------

    def _answer(self, event: evt.Event, name: str, work: Callable[[], Reply]) -> Reply:
        try:
            return work()
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

        def work() -> Reply:
            hierarchy = self._hierarchy(event)
            ds = event.attribute_list
            if class_uid == FILM_SESSION:
                session, notices = hierarchy.create_film_session(
                    uid, attributes.film_session_request(ds)
                )
                reply = self._film_session_reply(session)
                created = session.uid
            elif class_uid == FILM_BOX:
                film_box, notices = hierarchy.create_film_box(
                    uid,
                    attributes.film_box_request(ds),
                    attributes.referenced_uid(ds, "ReferencedFilmSessionSequence"),
                )
                reply = self._film_box_reply(film_box, hierarchy)
                created = film_box.uid
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-CREATE of {class_uid}")
            if uid is None:
                reply.AffectedSOPInstanceUID = created
            LOG.info("N-CREATE %s %s", class_uid, created)
            return status.for_notices(notices), reply

        return self._answer(event, "N-CREATE", work)

    def _film_session_reply(self, session: FilmSession) -> Dataset:
        reply = Dataset()
        reply.NumberOfCopies = str(session.number_of_copies)
        reply.PrintPriority = session.print_priority
        reply.MediumType = session.medium_type
        reply.FilmDestination = session.film_destination
        if session.film_session_label:
            reply.FilmSessionLabel = session.film_session_label
        return reply

    def _film_box_reply(self, film_box: FilmBox, hierarchy: PrintHierarchy) -> Dataset:
        assert hierarchy.session is not None
        reply = Dataset()
        reply.ImageDisplayFormat = film_box.image_display_format
        reply.FilmOrientation = film_box.film_orientation
        reply.FilmSizeID = film_box.film_size_id
        reply.MagnificationType = film_box.magnification_type
        reply.BorderDensity = film_box.border_density
        reply.EmptyImageDensity = film_box.empty_image_density
        reply.MinDensity = film_box.min_density
        reply.MaxDensity = film_box.max_density
        reply.Trim = film_box.trim
        if film_box.configuration_information:
            reply.ConfigurationInformation = film_box.configuration_information
        reply.ReferencedFilmSessionSequence = [_reference(FILM_SESSION, hierarchy.session.uid)]
        reply.ReferencedImageBoxSequence = [
            _reference(box.sop_class_uid, box.uid) for box in film_box.image_boxes
        ]
        return reply

    def on_n_set(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work() -> Reply:
            hierarchy = self._hierarchy(event)
            ds = event.modification_list
            if class_uid == GRAYSCALE_IMAGE_BOX:
                self._set_image_box(hierarchy, uid, ds, event)
                notices = []
            elif class_uid == FILM_SESSION:
                notices = hierarchy.film_session(uid).apply(attributes.film_session_request(ds))
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-SET of {class_uid}")
            LOG.info("N-SET %s %s", class_uid, uid)
            return status.for_notices(notices), None

        return self._answer(event, "N-SET", work)

    def _set_image_box(
        self, hierarchy: PrintHierarchy, uid: str, ds: Dataset, event: evt.Event
    ) -> None:
        """N-SET of a Basic Grayscale Image Box (PS3.4 H.4.3.1.2.1)."""
        box = hierarchy.image_box(uid)
        position = attributes.integer(ds, "ImageBoxPosition")
        if position is None:
            raise DimseFailure(status.MISSING_ATTRIBUTE, "Image Box Position is required")
        if position != box.position:
            raise DimseFailure(
                status.INVALID_ATTRIBUTE_VALUE,
                f"Image Box Position {position} is not this box's position {box.position}",
            )
        if "BasicGrayscaleImageSequence" not in ds:
            raise DimseFailure(status.MISSING_ATTRIBUTE, "Basic Grayscale Image Sequence missing")
        sequence = ds.BasicGrayscaleImageSequence
        big_endian = event.context.transfer_syntax == ExplicitVRBigEndian
        image = attributes.grayscale_image(sequence[0], big_endian=big_endian) if sequence else None
        box.set(
            image=image,
            polarity=attributes.code(ds, "Polarity"),
            magnification=attributes.code(ds, "MagnificationType"),
        )

    def on_n_get(self, event: evt.Event) -> Reply:
        class_uid, _ = _requested(event)

        def work() -> Reply:
            if class_uid != PRINTER:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-GET of {class_uid}")
            wanted = [int(tag) for tag in event.attribute_identifiers or []]
            return status.SUCCESS, self._printer_attributes(event, wanted)

        return self._answer(event, "N-GET", work)

    def _printer_attributes(self, event: evt.Event, wanted: list[int]) -> Dataset:
        """Printer module (PS3.3 C.13.9): everything we know; unknown requests are omitted."""
        printer = self._hierarchy(event).printer
        sink = self.sinks.get(printer.ae_title)
        health = sink.status() if sink is not None else None
        everything = Dataset()
        if health is None or (health.ok and health.accepting):
            everything.PrinterStatus = "NORMAL"
            everything.PrinterStatusInfo = "NORMAL"
        else:
            # the spool still takes films while the destination is down (digest §4.7.1)
            everything.PrinterStatus = "WARNING"
            everything.PrinterStatusInfo = "PRINTER DOWN"
        everything.PrinterName = printer.printer_name
        everything.Manufacturer = "printserver"
        everything.ManufacturerModelName = "printserver PostScript film printer"
        everything.SoftwareVersions = printserver.__version__
        if not wanted:
            return everything
        reply = Dataset()
        for element in everything:
            if int(element.tag) in wanted:
                reply.add(element)
        return reply

    def on_n_action(self, event: evt.Event) -> Reply:
        class_uid, uid = _requested(event)

        def work() -> Reply:
            if event.action_type != 1:
                raise DimseFailure(status.NO_SUCH_ACTION, f"Action Type {event.action_type}")
            hierarchy = self._hierarchy(event)
            if class_uid == FILM_BOX:
                job, notices = hierarchy.print_film_box(uid)
                full = status.QUEUE_FULL_FILM_BOX
            elif class_uid == FILM_SESSION:
                job, notices = hierarchy.print_film_session(uid)
                full = status.QUEUE_FULL_FILM_SESSION
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-ACTION of {class_uid}")
            try:
                record = self.queue.enqueue(job)
            except SpoolFull as exc:
                raise DimseFailure(full, str(exc)) from exc
            LOG.info(
                "printed %s %s from %s as job %s", class_uid, uid, hierarchy.calling_ae,
                record.job_id,
            )
            return status.for_notices(notices), None

        return self._answer(event, "N-ACTION", work)

    def on_n_delete(self, event: evt.Event) -> int | Dataset:
        class_uid, uid = _requested(event)

        def work() -> Reply:
            hierarchy = self._hierarchy(event)
            if class_uid == FILM_BOX:
                hierarchy.delete_film_box(uid)
            elif class_uid == FILM_SESSION:
                hierarchy.delete_film_session(uid)
            else:
                raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-DELETE of {class_uid}")
            LOG.info("N-DELETE %s %s", class_uid, uid)
            return status.SUCCESS, None

        return self._answer(event, "N-DELETE", work)[0]
