"""A print SCU written at the PDU level, to send what real modalities send and pynetdicom's SCU
will not: an N-GET without Attribute Identifier List, an N-ACTION without Requested SOP
Instance UID, retired contexts and Big Endian data sets, a 16 KB maximum PDU."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.uid import generate_uid
from pynetdicom.pdu import A_ASSOCIATE_AC

from tests.fuzz_cases import FILM_BOX, FILM_SESSION, N_CREATE, command_set
from tests.hostile_peer import RELEASE_RQ, connect, p_data, proposal_rq, read_pdu
from tests.print_client import GRAY_META, reference

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def encode(ds: Dataset, syntax: str) -> bytes:
    """A data set in the bytes of a transfer syntax."""
    buffer = DicomBytesIO()
    buffer.is_little_endian = syntax != EXPLICIT_BE
    buffer.is_implicit_VR = syntax == IMPLICIT_LE
    write_dataset(buffer, ds)
    return buffer.getvalue()


def decode(data: bytes, syntax: str = IMPLICIT_LE) -> Dataset:
    return read_dataset(BytesIO(data), syntax == IMPLICIT_LE, syntax != EXPLICIT_BE)


N_EVENT_REPORT_RQ = 0x0100
PRINT_JOB = "1.2.840.10008.5.1.1.14"


def _event_response(request: Dataset) -> bytes:
    """N-EVENT-REPORT-RSP, Success (PS3.7 10.1.1.1), as an encoded command set."""
    ds = Dataset()
    ds.AffectedSOPClassUID = request.AffectedSOPClassUID
    ds.CommandField = 0x8100
    ds.MessageIDBeingRespondedTo = request.MessageID
    ds.CommandDataSetType = 0x0101
    ds.Status = 0
    ds.AffectedSOPInstanceUID = request.AffectedSOPInstanceUID
    ds.EventTypeID = request.EventTypeID
    body = encode(ds, IMPLICIT_LE)
    return struct.pack("<HHLL", 0, 0, 4, len(body)) + body


@dataclass(frozen=True)
class Context:
    context_id: int
    abstract_syntax: str
    transfer_syntax: str


class RawAssociation:
    """One association: proposes ``proposals`` and keeps the contexts the server accepts."""

    def __init__(
        self,
        port: int,
        proposals: Sequence[tuple[str, Sequence[str]]],
        *,
        max_pdu: int = 16384,
        called: str = "PRINTSERVER",
        calling: str = "RAWSCU",
    ) -> None:
        self.max_pdu = max_pdu
        self.sock: socket.socket = connect(port)
        self.sock.sendall(proposal_rq(called, calling, proposals, max_pdu))
        reply = read_pdu(self.sock)
        assert reply is not None and reply[0] == 0x02, f"association not accepted: {reply}"
        ac = A_ASSOCIATE_AC()
        ac.decode(struct.pack(">BBL", 0x02, 0, len(reply[1])) + reply[1])
        self.accepted: list[Context] = []
        for item in ac.presentation_context:
            if item.result == 0:
                uid, _ = proposals[(item.context_id - 1) // 2]
                self.accepted.append(Context(item.context_id, uid, str(item.transfer_syntax)))
        self._message_id = 0
        self.events: list[tuple[Dataset, Dataset | None]] = []
        """N-EVENT-REPORT requests received (command, Event Information), answered."""

    def context(self, abstract_syntax: str) -> Context:
        return next(cx for cx in self.accepted if cx.abstract_syntax == abstract_syntax)

    def request(
        self,
        meta: str,
        command: int,
        sop_class: str,
        instance: str | None = None,
        dataset: Dataset | None = None,
        extra: list[tuple[int, str, object]] | None = None,
    ) -> tuple[Dataset, Dataset | None]:
        """Send one DIMSE request on ``meta``'s context; the response command and data set."""
        cx = self.context(meta)
        self._message_id += 1
        cmd = command_set(
            command,
            sop_class,
            self._message_id,
            dataset=dataset is not None,
            instance=instance,
            extra=extra,  # type: ignore[arg-type]
        )
        self._send(cx.context_id, cmd, command=True)
        if dataset is not None:
            self._send(cx.context_id, encode(dataset, cx.transfer_syntax), command=False)
        return self._response(cx)

    def _send(self, context_id: int, data: bytes, *, command: bool) -> None:
        step = self.max_pdu - 12 if self.max_pdu else len(data)
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            self.sock.sendall(p_data(context_id, chunk, command=command, last=last))

    def _response(self, cx: Context) -> tuple[Dataset, Dataset | None]:
        """The response to our request; an N-EVENT-REPORT the printer sends meanwhile is kept
        in ``events`` and answered, as a modality that negotiated Print Job does."""
        while True:
            command, data = self._message(cx)
            if int(command.CommandField) != N_EVENT_REPORT_RQ:
                return command, data
            self.events.append((command, data))
            self._send(self._event_context(command), _event_response(command), command=True)

    def wait_for_event(
        self, event_types: set[int], timeout: float = 30.0
    ) -> tuple[Dataset, Dataset | None]:
        """Wait, sending nothing, for an N-EVENT-REPORT of one of ``event_types``; answered."""
        deadline = time.monotonic() + timeout
        print_job = next((cx for cx in self.accepted if cx.abstract_syntax == PRINT_JOB), None)
        while True:
            for command, data in self.events:
                if int(command.EventTypeID) in event_types:
                    return command, data
            assert time.monotonic() < deadline, f"no event {event_types}: {self.events}"
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            command, data = self._message(print_job or self.accepted[0])
            assert int(command.CommandField) == N_EVENT_REPORT_RQ, command
            self.events.append((command, data))
            self._send(self._event_context(command), _event_response(command), command=True)

    def _event_context(self, command: Dataset) -> int:
        """The context an event came on: Print Job's, or the meta class's for Printer events."""
        uid = str(command.AffectedSOPClassUID)
        for cx in self.accepted:
            if cx.abstract_syntax == uid:
                return cx.context_id
        return self.accepted[0].context_id

    def _message(self, cx: Context) -> tuple[Dataset, Dataset | None]:
        parts: dict[bool, bytearray] = {True: bytearray(), False: bytearray()}
        done = {True: False, False: False}
        command: Dataset | None = None
        while True:
            pdu = read_pdu(self.sock, timeout=30)
            assert pdu is not None and pdu[0] == 0x04, f"no P-DATA-TF: {pdu}"
            body, offset = pdu[1], 0
            while offset < len(body):
                length, _, control = struct.unpack(">LBB", body[offset : offset + 6])
                is_command = bool(control & 1)
                parts[is_command] += body[offset + 6 : offset + 4 + length]
                done[is_command] = done[is_command] or bool(control & 2)
                offset += 4 + length
            if done[True] and command is None:
                command = decode(bytes(parts[True]))
            if command is not None:
                if command.CommandDataSetType == 0x0101:
                    return command, None
                if done[False]:
                    return command, decode(bytes(parts[False]), cx.transfer_syntax)

    def release(self) -> None:
        self.sock.sendall(RELEASE_RQ)
        reply = read_pdu(self.sock)
        assert reply is not None and reply[0] == 0x06, f"no A-RELEASE-RP: {reply}"
        self.sock.close()


def one_image_film_box(raw: RawAssociation) -> tuple[str, str]:
    """A Film Session and a one-image Film Box over ``raw``: the box's and its image box's
    UIDs."""
    session, box = generate_uid(), generate_uid()
    assert raw.request(GRAY_META, N_CREATE, FILM_SESSION, session)[0].Status == 0
    film_box = Dataset()
    film_box.ImageDisplayFormat = "STANDARD\\1,1"
    film_box.ReferencedFilmSessionSequence = [reference(FILM_SESSION, session)]
    _, reply = raw.request(GRAY_META, N_CREATE, FILM_BOX, box, film_box)
    assert reply is not None
    return box, str(reply.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID)
