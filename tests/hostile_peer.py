"""A hostile or broken peer for tests: raw PDUs on raw sockets, and what it costs the server.

Everything here talks to 127.0.0.1 only; every loop has a deadline.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Sequence
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom import sop_class
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context
from pynetdicom.transport import AddressInformation

IMPLICIT_LE = "1.2.840.10008.1.2"
GRAY_META = sop_class.BasicGrayscalePrintManagementMeta


def associate_rq(
    called: str = "PRINTSERVER",
    calling: str = "HOSTILE",
    contexts: tuple[str, ...] = (GRAY_META,),
    max_pdu: int = 16384,
    syntaxes: tuple[str, ...] = (IMPLICIT_LE,),
) -> bytes:
    """An encoded A-ASSOCIATE-RQ PDU proposing each of ``contexts`` once per transfer syntax
    (all contexts with the first syntax, then all with the second, …)."""
    proposals = [(uid, (syntax,)) for syntax in syntaxes for uid in contexts]
    return proposal_rq(called, calling, proposals, max_pdu)


def proposal_rq(
    called: str, calling: str, proposals: Sequence[tuple[str, Sequence[str]]], max_pdu: int
) -> bytes:
    """An encoded A-ASSOCIATE-RQ proposing each abstract syntax with its transfer syntaxes,
    in order, as presentation contexts 1, 3, 5 …"""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    primitive.calling_presentation_address = AddressInformation("127.0.0.1", 0)
    primitive.called_presentation_address = AddressInformation("127.0.0.1", 0)
    cxs = []
    for index, (uid, offered) in enumerate(proposals):
        cx = build_context(uid, list(offered))
        cx.context_id = 2 * index + 1
        cxs.append(cx)
    primitive.presentation_context_definition_list = cxs
    length = MaximumLengthNotification()
    length.maximum_length_received = max_pdu
    primitive.user_information = [length]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def pdu_header(pdu_type: int, length: int) -> bytes:
    return struct.pack(">BBL", pdu_type, 0, length)


def p_data(context_id: int, fragment: bytes, *, command: bool, last: bool) -> bytes:
    """One P-DATA-TF PDU holding one PDV."""
    control = (1 if command else 0) | (2 if last else 0)
    pdv = struct.pack(">LB", len(fragment) + 2, context_id) + bytes([control]) + fragment
    return pdu_header(0x04, len(pdv)) + pdv


def encode_implicit(ds: Dataset) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = True
    write_dataset(buffer, ds)
    return buffer.getvalue()


RELEASE_RQ = pdu_header(0x05, 4) + b"\x00" * 4


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_pdu(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes] | None:
    """The next PDU's type and body, or None when the server closed the connection."""
    sock.settimeout(timeout)
    header = _read_exactly(sock, 6)
    if header is None:
        return None
    pdu_type, _, length = struct.unpack(">BBL", header)
    body = _read_exactly(sock, length)
    return (pdu_type, body) if body is not None else None


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = bytearray()
    while len(data) < count:
        try:
            chunk = sock.recv(count - len(data))
        except (ConnectionError, TimeoutError):
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True when the server closes (or resets) the connection within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        if not chunk:
            return True
    return False


def rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc (VmRSS, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


def peak_rss_kb(pid: int) -> int:
    """High-water mark of the resident set size (VmHWM, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise LookupError(f"no VmHWM for {pid}")
