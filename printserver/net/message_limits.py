"""DIMSE message assembly (PS3.7, PS3.8 Annex E) with a bound on what one message may hold.

pynetdicom appends every P-DATA fragment of a message to a buffer until the
last one arrives, whatever the total.  :class:`BoundedDIMSE` is the DIMSE
provider of our associations (installed by ``net/upper_layer.py``): it counts
the fragments as they arrive and discards what goes beyond the limit, and it
writes the data set of an image N-SET to a file of the association's
(``net/incoming.py``) as it arrives instead of assembling it in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from pydicom.uid import UID
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import DIMSEMessage

from printserver.model.sop_classes import COLOR_IMAGE_BOX, GRAYSCALE_IMAGE_BOX
from printserver.net.exchange import Exchange, RequestQueue
from printserver.net.pynetdicom_compat import INVALID_PDU
from printserver.net.reactor import wake_reactor
from printserver.net.unanswered import RequestWatch
from printserver.order.transfer_syntax import decode

LOG = logging.getLogger(__name__)

MAX_COMMAND_SET = 65536
"""A command set is a few hundred bytes (PS3.7 E); anything this long is not one."""
MAX_OTHER_DATA_SET = 1_048_576
"""Data sets of requests other than N-SET: the largest, a Presentation LUT of 65536
entries, is 128 KiB; a megabyte of tiny elements would already cost pydicom far more."""
N_SET_RQ = 0x0120
NO_DATA_SET = 0x0101
"""Command Data Set Type (0000,0800) of a message without data set (PS3.7 E.1)."""
SPILL_FROM = 65536
"""An image N-SET's data set goes to a file once it is this long (an erase is a few bytes)."""
IMAGE_BOXES = frozenset({GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX})
REQUESTS = {
    0x0030: "C-ECHO",
    0x0100: "N-EVENT-REPORT",
    0x0110: "N-GET",
    0x0120: "N-SET",
    0x0130: "N-ACTION",
    0x0140: "N-CREATE",
    0x0150: "N-DELETE",
}
"""Command Field (0000,0100) of the requests an SCP answers (PS3.7 E.1), by name."""


def _class_name(uid: object) -> str:
    """A SOP class by its name, for the log: a peer's UID is shown only if it is a UID."""
    value = UID(str(uid))
    if value.name != str(value):
        return value.name
    return f"SOP class {value}" if value.is_valid else "an unnamed SOP class"


def _association_name(assoc: Any) -> str:
    requestor = assoc.requestor
    return f"from {requestor.ae_title} at {requestor.address}"


class BoundedDIMSE(DIMSEServiceProvider):
    """Assembles DIMSE messages, discarding any data set beyond ``max_message_bytes``.

    A command set is never that long, and one that is means the peer does not
    speak DIMSE: the association is aborted.  A data set that is that long is
    discarded as it arrives; the request still reaches its handler, with an
    empty data set, and :meth:`refusal` tells the handler why, so the client
    gets a failure status with an Error Comment rather than an abort.
    """

    def __init__(self, assoc: Association, max_message_bytes: int, watch: RequestWatch) -> None:
        super().__init__(assoc)
        self.max_message_bytes = max_message_bytes
        self.watch = watch
        self.exchange = Exchange(lambda: self.message is not None)
        self.msg_queue = RequestQueue(self.exchange, wake_reactor(assoc))
        self._command_bytes = 0
        self._data_bytes = 0
        self._discarding = False
        self._refusals: dict[int, str] = {}
        self._lock = threading.RLock()
        self.spill_to: Callable[[], tuple[Path, BinaryIO] | None] | None = None
        """Opens a file for an image's data set (None: keep it in memory); set by the session."""
        self.spill_written: Callable[[Path], None] = lambda path: None
        self._spill: tuple[Path, BinaryIO] | None = None
        self._spilled: dict[int, Path] = {}
        self._aside = bytearray()  # a command set interleaved with another message's data

    def receive_primitive(self, primitive: Any) -> None:
        values = primitive.presentation_data_value_list
        values[:] = self._take_interleaved(values)  # in place: the list pynetdicom decoded
        if not values:
            return
        self._consider_spilling(values)
        for index, (context_id, fragment) in enumerate(values):
            control = fragment[0] if fragment else 0
            if control & 1:
                self._command_bytes += len(fragment) - 1
                if self._command_bytes > MAX_COMMAND_SET:
                    LOG.warning("command set over %d bytes: aborting", MAX_COMMAND_SET)
                    self.dul.event_queue.put(INVALID_PDU)
                    return
                continue
            self._data_bytes += len(fragment) - 1
            if not self._discarding and self._data_bytes > self._data_set_limit():
                self._start_discarding()
            if self._spill is not None and not self._discarding:
                self._write_fragment(fragment)
            if self._discarding or self._spill is not None:
                values[index] = [context_id, bytes([control])]  # not kept in memory
            if control & 2:  # the last fragment of the data set: the message is complete
                self._command_bytes = self._data_bytes = 0
                self._discarding = False
                self._spill_complete()
        if self.message is None:  # as pynetdicom would, so the message is known when complete
            self.message = DIMSEMessage()
        assembling = self.message
        try:
            super().receive_primitive(primitive)
        except Exception as exc:  # a command set pynetdicom cannot read: not DIMSE, abort
            LOG.warning("a DIMSE message that does not decode (%s): aborting", exc)
            self.message = None
            self.dul.event_queue.put(INVALID_PDU)
            return
        if self.message is None:  # a message was completed (and queued) by that primitive
            self._command_bytes = self._data_bytes = 0
            self._received(assembling)

    def _take_interleaved(self, values: list[Any]) -> list[Any]:
        """The fragments of this primitive that belong to the message being assembled.

        A command fragment that arrives while a data set is being received belongs to
        another message.  PS3.8 E.2 forbids that, but pynetdicom's SCU answers our
        N-EVENT-REPORT from its own thread, so the answer can land between two fragments
        of the N-SET it is sending.  Such an answer (a response without data set) goes to
        the event waiting for it; anything else interleaved is not DIMSE we can follow.
        """
        command = getattr(self.message, "command_set", None)
        if command is None or not any(f and f[0] & 1 for _, f in values):
            return values
        kept = []
        for value in values:
            fragment = value[1]
            if not (fragment and fragment[0] & 1):
                kept.append(value)
                continue
            self._aside += memoryview(fragment)[1:]
            if len(self._aside) > MAX_COMMAND_SET:
                LOG.warning("command set over %d bytes: aborting", MAX_COMMAND_SET)
                self.dul.event_queue.put(INVALID_PDU)
                return []
            if fragment[0] & 2:
                aside, self._aside = bytes(self._aside), bytearray()
                if not self._answer_aside(aside):
                    self.dul.event_queue.put(INVALID_PDU)
                    return []
        return kept

    def _answer_aside(self, encoded: bytes) -> bool:
        """Hand an interleaved response to the request of ours it answers; False when it
        is not a response without data set."""
        try:
            command = decode(encoded, implicit=True, little=True)
            responded = command.get("MessageIDBeingRespondedTo")
            alone = command.get("CommandDataSetType") == NO_DATA_SET
        except Exception as exc:  # whatever pydicom makes of garbage: not DIMSE, abort
            LOG.warning("an interleaved command set that does not decode (%s): aborting", exc)
            return False
        if responded is None or not alone:
            LOG.warning("a request interleaved with the fragments of another: aborting")
            return False
        self.exchange.arrived(command)
        return True

    def _received(self, message: Any) -> None:
        """A complete request is queued for the association's thread: the watch starts."""
        command = getattr(message, "command_set", None)
        field = getattr(command, "CommandField", None)
        message_id = getattr(command, "MessageID", None)
        if field not in REQUESTS or message_id is None:
            return
        class_uid = getattr(command, "AffectedSOPClassUID", None) or getattr(
            command, "RequestedSOPClassUID", ""
        )
        assoc = self.assoc
        self.watch.received(
            (id(assoc), int(message_id)),
            _association_name(assoc),
            f"{REQUESTS[field]} (message {int(message_id)}) of {_class_name(class_uid)}",
            assoc.ident,
        )

    def send_msg(self, primitive: Any, context_id: int) -> None:
        """Queue a message for the DUL; a response moves its request to the last stage."""
        super().send_msg(primitive, context_id)
        responded = getattr(primitive, "MessageIDBeingRespondedTo", None)
        if responded is not None:
            dul: Any = self.dul
            self.watch.answered(
                (id(self.assoc), int(responded)), dul.ident, getattr(dul, "pdata_queued", 0)
            )

    def _consider_spilling(self, values: list[Any]) -> None:
        """Open the spill file before a primitive that takes an image N-SET's data set past
        :data:`SPILL_FROM`, so that its fragments are written in order after the earlier
        ones."""
        spill_to = self.spill_to
        if self._spill is not None or self._discarding or spill_to is None:
            return
        arriving = sum(len(f) - 1 for _, f in values if f and not f[0] & 1)
        if self._data_bytes + arriving > SPILL_FROM:
            with self._lock:
                try:
                    self._open_spill(spill_to)
                except OSError as exc:  # the file cannot be made: the image stays in memory
                    LOG.warning("image not written as received: %s", exc)
                    self._drop_spill()

    def _write_fragment(self, fragment: bytes) -> None:
        with self._lock:
            if self._spill is None:
                return
            try:
                self._spill[1].write(memoryview(fragment)[1:])
            except OSError as exc:  # the disk is full or failing: the request is refused
                self._start_discarding(f"the image cannot be stored: {exc.strerror or exc}")

    def _open_spill(self, spill_to: Callable[[], tuple[Path, BinaryIO] | None]) -> None:
        """Start writing this message's data set to a file, with what arrived so far, when
        it is an image N-SET."""
        message: Any = self.message
        command = getattr(message, "command_set", None)
        if getattr(command, "CommandField", None) != N_SET_RQ:
            return
        if str(getattr(command, "RequestedSOPClassUID", "")) not in IMAGE_BOXES:
            return
        opened = spill_to()
        if opened is None:
            return
        self._spill = opened
        with message.data_set.getbuffer() as arrived:
            opened[1].write(arrived)
        message.data_set = BytesIO()

    def _spill_complete(self) -> None:
        with self._lock:
            if self._spill is None:
                return
            path, handle = self._spill
            self._spill = None
            try:
                handle.close()
            except OSError as exc:
                LOG.warning("image file %s not written: %s", path.name, exc)
                path.unlink(missing_ok=True)
                return
            message_id = getattr(getattr(self.message, "command_set", None), "MessageID", None)
            if message_id is None:
                path.unlink(missing_ok=True)
                return
            if len(self._spilled) > 64:  # never asked for: the association's end removes them
                self._spilled.clear()
            self._spilled[int(message_id)] = path
        self.spill_written(path)

    def _drop_spill(self) -> None:
        if self._spill is not None:
            path, handle = self._spill
            self._spill = None
            try:
                handle.close()
            except OSError:
                LOG.debug("closing %s failed; it is removed anyway", path.name)
            path.unlink(missing_ok=True)

    def spilled(self, message_id: int) -> Path | None:
        """The file holding this request's data set, when it was written as it arrived."""
        with self._lock:
            return self._spilled.pop(message_id, None)

    def abandon(self) -> None:
        """The association ends: a data set still being written is not kept."""
        with self._lock:
            self._drop_spill()

    def _data_set_limit(self) -> int:
        """Only an N-SET carries an image; every other request's data set is small."""
        command = getattr(self.message, "command_set", None)
        if getattr(command, "CommandField", None) == N_SET_RQ:
            return self.max_message_bytes
        return MAX_OTHER_DATA_SET

    def _start_discarding(self, reason: str = "") -> None:
        self._discarding = True
        message: Any = self.message
        command = getattr(message, "command_set", None)
        message_id = getattr(command, "MessageID", None)
        if message_id is None:  # one PDU larger than a whole message may be: no answer possible
            LOG.warning("data set over %d bytes in a single PDU: aborting", self.max_message_bytes)
            self.dul.event_queue.put(INVALID_PDU)
            return
        reason = reason or f"data set over {self._data_set_limit() >> 20} MiB; not received"
        with self._lock:
            self._drop_spill()
        LOG.warning("message %s: %s", message_id, reason)
        with self._lock:
            if len(self._refusals) > 64:
                self._refusals.clear()
            self._refusals[int(message_id)] = reason
        message.data_set = BytesIO()  # the part buffered so far goes now

    def refusal(self, message_id: int) -> str | None:
        """Why the data set of this request was discarded, or None; asked once."""
        with self._lock:
            return self._refusals.pop(message_id, None)
