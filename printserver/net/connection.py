"""A TCP connection before it is an association: reads under deadlines, and counts.

Everything here runs on a connection's own thread or the listener's, before
pynetdicom has an :class:`~pynetdicom.association.Association` for it, so a
peer that stalls, floods or sends garbage costs a blocked thread at most (PS3.8
9.3: PDU structure; PS3.15 B.1: the TLS handshake).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pynetdicom.pdu import A_ASSOCIATE_RQ as A_ASSOCIATE_RQ_PDU

LOG = logging.getLogger(__name__)

PDU_HEADER = 6


@dataclass(frozen=True)
class EdgeLimits:
    """What one peer may make the server spend before it is refused or cut off."""

    max_pdu: int
    max_associate_pdu: int
    acse_timeout: float
    socket_timeout: float
    tls_handshake_timeout: float
    max_pending: int
    max_pending_per_address: int
    max_message_bytes: int
    print_job_wait: float


def edge_limits(server: Any, max_message_bytes: int) -> EdgeLimits:
    """The limits from the ``[server]`` section (and the largest DIMSE data set)."""
    return EdgeLimits(
        max_pdu=server.max_pdu_size,
        max_associate_pdu=server.max_associate_pdu_size,
        acse_timeout=server.acse_timeout,
        socket_timeout=server.socket_timeout,
        tls_handshake_timeout=server.tls_handshake_timeout,
        max_pending=server.max_pending_connections,
        max_pending_per_address=server.max_pending_per_address,
        max_message_bytes=max_message_bytes,
        print_job_wait=server.print_job_wait,
    )


class PendingConnections:
    """Connections accepted but not yet associated, counted in total and per address."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total, self.per_address = total, per_address
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._refused = 0
        self._last_log = 0.0

    def admit(self, address: str) -> bool:
        with self._lock:
            if (
                sum(self._counts.values()) >= self.total
                or self._counts[address] >= self.per_address
            ):
                self._note_refusal(address)
                return False
            self._counts[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self._counts[address] -= 1
            if self._counts[address] <= 0:
                del self._counts[address]

    def count(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def _note_refusal(self, address: str) -> None:
        """Log refusals at most every 10 s, so a flood cannot flood the log too."""
        self._refused += 1
        now = time.monotonic()
        if now - self._last_log >= 10.0:
            LOG.warning(
                "connection from %s closed: %d connection(s) refused since the last "
                "report, over the limit of unassociated connections",
                address,
                self._refused,
            )
            self._refused, self._last_log = 0, now


def fill(sock: socket.socket, view: memoryview, deadline: float) -> bool:
    """Fill ``view`` from the socket before ``deadline`` (monotonic); False if closed or stalled.

    The socket's own timeout is put back afterwards, so that sends keep theirs.
    """
    done, count = 0, len(view)
    timeout = sock.gettimeout()
    try:
        while done < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            sock.settimeout(remaining)
            received = sock.recv_into(view[done:], min(count - done, 1 << 20))
            if received == 0:
                return False
            done += received
    except (OSError, ValueError):
        return False
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(timeout)
    return True


def read_pdu(sock: socket.socket, header: bytes, deadline: float) -> bytearray | None:
    """The PDU whose 6-byte header was read: header and body in one buffer, or None."""
    length = struct.unpack(">L", header[2:6])[0]
    pdu = bytearray(PDU_HEADER + length)
    pdu[:PDU_HEADER] = header
    with memoryview(pdu) as view:
        complete = fill(sock, view[PDU_HEADER:], deadline)
    return pdu if complete else None


def read_header(sock: socket.socket, deadline: float) -> tuple[int, int, bytes] | None:
    """PDU type, length and the raw 6 bytes, or None if the peer closed or stalled."""
    header = bytearray(PDU_HEADER)
    with memoryview(header) as view:
        if not fill(sock, view, deadline):
            return None
    pdu_type, _, length = struct.unpack(">BBL", header)
    return pdu_type, length, bytes(header)


def associate_rq_problem(pdu: bytearray) -> str | None:
    """Why an A-ASSOCIATE-RQ cannot start an association, or None (PS3.8 9.3.2).

    Checked before an association exists: an AE title field outside the default
    repertoire (PS3.5 6.2) or a PDU pynetdicom cannot decode would otherwise
    hold an association slot until the ACSE timeout.
    """
    for name, field in (("called", pdu[10:26]), ("calling", pdu[26:42])):
        # NUL is tolerated: some old devices pad AE titles with it instead of spaces
        if len(field) < 16 or any(
            not (0x20 <= byte <= 0x7E or byte == 0) or byte == 0x5C for byte in field
        ):
            return f"{name} AE title field is not 16 characters of the default repertoire"
    try:
        request = A_ASSOCIATE_RQ_PDU()
        request.decode(bytes(pdu))
        request.to_primitive()
    except Exception as exc:  # whatever garbage it holds, it starts nothing
        return f"A-ASSOCIATE-RQ does not decode ({type(exc).__name__})"
    return None


def handshake(sock: socket.socket, context: ssl.SSLContext, timeout: float) -> ssl.SSLSocket | None:
    """The server side of a TLS handshake, bounded as a whole (not per read)."""
    deadline = time.monotonic() + timeout
    try:
        secured = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    except (OSError, ValueError):
        return None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            secured.settimeout(remaining)
            try:
                secured.do_handshake()
                return secured
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
    except (OSError, ValueError):
        pass
    # the TLS socket took over the connection's descriptor: closing it is what ends the
    # connection (the plain socket the caller holds is detached and closes nothing)
    secured.close()
    return None


def send_abort(sock: socket.socket, reason: int = 0) -> None:
    """A-ABORT from the service provider (PS3.8 9.3.8); best effort, the peer may be gone."""
    with contextlib.suppress(OSError):
        sock.sendall(struct.pack(">BBLBBBB", 0x07, 0, 4, 0, 0, 2, reason))
