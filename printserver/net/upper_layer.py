"""The DICOM Upper Layer (PS3.8) at our network edge: every limit checked before we spend.

pynetdicom's acceptor trusts its peer in ways a hospital server cannot afford:
an accepted TCP connection becomes an association thread (and one of the
``max_associations`` slots) before it has sent a byte; TLS handshakes run in
the listener's accept loop; an accepted socket has no receive timeout, so half
a PDU holds a thread forever; a PDU is buffered whole, whatever length its
header claims; and a DIMSE data set grows as long as fragments arrive.

This module is the one place where that is corrected, by subclassing the
pieces pynetdicom lets an application replace rather than patching it:

* :class:`EdgeServer` accepts connections and caps those not yet associated,
  in total and per peer address (a refused connection is closed at once).
* :class:`EdgeRequestHandler` runs, on the connection's own thread, the TLS
  handshake and the read of the A-ASSOCIATE-RQ, each under a deadline.  Only a
  complete A-ASSOCIATE-RQ of bounded size makes an :class:`Association`, so
  only real association requests count against ``max_associations``.
* :class:`BoundedDUL` reads each PDU after checking its 6-byte header: type,
  and length against what we advertised (PS3.8 9.3.1, D.1); too long means
  A-ABORT without reading the body.  The body must arrive within the socket
  timeout.
* :class:`~printserver.net.message_limits.BoundedDIMSE` caps the command set
  and the data set of one DIMSE message; a data set beyond the limit is
  discarded as it streams in and the request is answered with a failure status
  by the handlers.

The reads under deadlines, the pending-connection counts and the TLS handshake,
which run before an association exists, live in ``net/connection.py``.  Each
piece keeps pynetdicom's state machine and event flow intact, so they could be
offered upstream as options of ``AssociationServer``.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.pdu import P_DATA_TF as P_DATA_TF_PDU
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

from printserver.net.connection import (
    EdgeLimits,
    PendingConnections,
    associate_rq_problem,
    handshake,
    read_header,
    read_pdu,
    send_abort,
)
from printserver.net.message_limits import BoundedDIMSE
from printserver.net.pynetdicom_compat import (
    ABORTED,
    ACCEPTOR,
    INVALID_PDU,
    attach_server,
    decode_pdu,
    register_server,
    server_handlers,
    wrap_request_dispatch,
)
from printserver.net.reactor import EventDrivenAssociation, EventDrivenDUL
from printserver.net.unanswered import RequestWatch

LOG = logging.getLogger(__name__)

A_ASSOCIATE_RQ = 0x01
P_DATA_TF = 0x04
SMALL_PDU = 64
"""A-RELEASE and A-ABORT PDUs carry 4 bytes (PS3.8 9.3.6-9.3.8); allow some slack."""


class EdgeServer(ThreadedAssociationServer):
    """An association server whose connections are bounded from accept on."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        ae: Any,
        address: tuple[str, int],
        limits: EdgeLimits,
        evt_handlers: list[Any],
        watch: RequestWatch,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits
        self.watch = watch
        self.tls = tls
        self.pending = PendingConnections(limits.max_pending, limits.max_pending_per_address)
        super().__init__(
            ae,
            address,
            ae.ae_title,
            ae.supported_contexts,
            evt_handlers=evt_handlers,
            request_handler=EdgeRequestHandler,
        )

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        """Accept only; TLS and everything slow happen on the connection's own thread."""
        assert self.socket is not None
        client, address = self.socket.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.settimeout(self.limits.socket_timeout)
        return client, address

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.pending.admit(str(client_address[0]))

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.exception("connection from %s failed", client_address[0])


class EdgeRequestHandler(RequestHandler):
    """One connection: TLS and the A-ASSOCIATE-RQ under deadlines, then the association."""

    server: EdgeServer

    def handle(self) -> None:
        address = str(self.client_address[0])
        try:
            connection, first = self._open(address)
        finally:
            self.server.pending.release(address)
        if first is None:
            self.server.shutdown_request(connection)
            return
        self.request = connection
        assoc = self._create_association()
        assoc.set_socket(EdgeSocket(assoc, connection, first))
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()

    def _open(self, address: str) -> tuple[socket.socket, bytearray | None]:
        limits = self.server.limits
        connection: socket.socket = self.request
        if self.server.tls is not None:
            secured = handshake(connection, self.server.tls, limits.tls_handshake_timeout)
            if secured is None:
                LOG.warning(
                    "TLS handshake with %s failed or took over %g s",
                    address,
                    limits.tls_handshake_timeout,
                )
                return connection, None
            connection = secured
        return connection, self._read_associate_rq(connection, address)

    def _read_associate_rq(self, connection: socket.socket, address: str) -> bytearray | None:
        """The whole A-ASSOCIATE-RQ PDU, read before any association state exists."""
        limits = self.server.limits
        header = read_header(connection, time.monotonic() + limits.acse_timeout)
        if header is None:
            LOG.info("connection from %s closed without an association request", address)
            return None
        pdu_type, length, raw = header
        if pdu_type != A_ASSOCIATE_RQ or length > limits.max_associate_pdu:
            LOG.warning(
                "connection from %s closed: PDU type 0x%02X of %d bytes where an "
                "A-ASSOCIATE-RQ of at most %d was expected",
                address,
                pdu_type,
                length,
                limits.max_associate_pdu,
            )
            send_abort(connection)
            return None
        pdu = read_pdu(connection, raw, time.monotonic() + limits.socket_timeout)
        if pdu is None:
            LOG.warning(
                "connection from %s closed: A-ASSOCIATE-RQ not complete within %g s",
                address,
                limits.socket_timeout,
            )
            return None
        problem = associate_rq_problem(pdu)
        if problem is not None:
            LOG.warning("connection from %s closed: %s", address, problem)
            send_abort(connection, reason=6)  # invalid PDU parameter value
            return None
        return pdu

    def _create_association(self) -> Association:
        """An acceptor with our DUL and DIMSE providers, configured like pynetdicom's own."""
        server = self.server
        ae = server.ae
        assoc = EventDrivenAssociation(ae, ACCEPTOR)
        attach_server(assoc, server)
        # "AcceptorThread" in the name is how pynetdicom counts association slots
        assoc.name = f"AcceptorThread@{datetime.now():%Y%m%d%H%M%S}"
        assoc.dul = BoundedDUL(assoc, server.limits, server.watch)
        assoc.dimse = BoundedDIMSE(assoc, server.limits.max_message_bytes, server.watch)
        wrap_request_dispatch(assoc, server.watch.dispatch_wrapper(id(assoc)))
        # the timeouts were pushed into the DUL pynetdicom made; push them into ours
        assoc.acse_timeout = ae.acse_timeout
        assoc.network_timeout = ae.network_timeout
        acceptor, requestor = assoc.acceptor, assoc.requestor
        acceptor.maximum_length = ae.maximum_pdu_size
        acceptor.ae_title = server.ae_title
        acceptor.address_info = self.local
        acceptor.implementation_class_uid = ae.implementation_class_uid
        acceptor.implementation_version_name = ae.implementation_version_name
        acceptor.supported_contexts = list(server.contexts)
        requestor.address_info = self.remote
        for event, bound in server_handlers(server).items():
            if event.is_intervention:
                if bound:
                    assoc.bind(event, *bound)
                continue
            for handler, args in cast(list[tuple[Any, Any]], bound):
                assoc.bind(event, handler, args)
        return assoc


class EdgeSocket(AssociationSocket):
    """An accepted connection whose A-ASSOCIATE-RQ was read before the association existed."""

    def __init__(self, assoc: Association, connection: socket.socket, first_pdu: bytearray) -> None:
        super().__init__(assoc, client_socket=connection)
        self._pending = first_pdu

    @property
    def ready(self) -> bool:
        return bool(self._pending) or bool(super().ready)

    def take_pending(self) -> bytearray | None:
        """The A-ASSOCIATE-RQ read at connection time, once."""
        pending, self._pending = self._pending, bytearray()
        return pending or None


class BoundedDUL(EventDrivenDUL):
    """Our DUL (``net/reactor.py``) with a PDU reader that checks each header before reading
    a body, and that tells the request watch when a response is on the wire."""

    def __init__(self, assoc: Association, limits: EdgeLimits, watch: RequestWatch) -> None:
        super().__init__(assoc)
        self.limits = limits
        self.watch = watch
        self.pdata_queued = 0
        self.pdata_written = 0
        self.awaiting: Callable[[], bool] = lambda: False
        """True while the association waits for Print Job events (set by its session)."""

    def idle_timer_expired(self) -> bool:
        """``network_timeout``, except for an association waiting for the DONE of a film
        it printed: that one is kept up to ``print_job_wait`` of silence."""
        if not super().idle_timer_expired():
            return False
        if not self.awaiting():
            return True
        timer = self._idle_timer
        silent = (timer.timeout or 0.0) - timer.remaining
        return silent >= self.limits.print_job_wait

    def send_pdu(self, primitive: Any) -> None:
        if isinstance(primitive, P_DATA):
            self.pdata_queued += 1
        super().send_pdu(primitive)

    def _send(self, pdu: Any) -> None:
        super()._send(pdu)
        if isinstance(pdu, P_DATA_TF_PDU):
            self.pdata_written += 1
            self.watch.written(id(self.assoc), self.pdata_written)

    def reactor_ended(self) -> None:
        self.watch.forget(id(self.assoc))

    def _peer(self) -> str:
        info = self.assoc.requestor.address_info
        return str(info.address) if info is not None else "?"

    def _limit(self, pdu_type: int) -> int:
        if pdu_type == P_DATA_TF:
            return self.limits.max_pdu
        if pdu_type in (0x05, 0x06, 0x07):
            return SMALL_PDU
        return self.limits.max_associate_pdu

    def _read_pdu_data(self) -> None:
        """Read one PDU, or end the connection; never buffer more than the limit allows."""
        sock = cast(EdgeSocket, self.socket)
        pending = sock.take_pending()
        if pending is not None:
            self._accept_pdu(pending)
            return
        raw = sock.socket
        if raw is None or self.state_machine.current_state == ABORTED:
            sock.close()  # gone, or aborted: whatever the peer still sends is not read
            return
        timeout = self.limits.socket_timeout
        header = read_header(raw, time.monotonic() + timeout)
        if header is None:
            sock.close()  # closed by the peer, or a header begun and not finished
            return
        pdu_type, length, raw_header = header
        if not 0x01 <= pdu_type <= 0x07:
            LOG.warning("%s sent an unknown PDU type 0x%02X: aborted", self._peer(), pdu_type)
            self.event_queue.put(INVALID_PDU)
            return
        if length > self._limit(pdu_type):
            LOG.warning(
                "%s sent a PDU of type 0x%02X claiming %d bytes, over the %d accepted: aborted",
                self._peer(),
                pdu_type,
                length,
                self._limit(pdu_type),
            )
            self.event_queue.put(INVALID_PDU)
            return
        pdu = read_pdu(raw, raw_header, time.monotonic() + timeout)
        if pdu is None:
            LOG.warning(
                "%s stopped within a PDU of %d bytes for over %g s: connection closed",
                self._peer(),
                length,
                timeout,
            )
            sock.close()
            return
        self._accept_pdu(pdu)

    def _accept_pdu(self, pdu: bytearray) -> None:
        """Hand a PDU to the state machine once it is known to convert to a primitive.

        pynetdicom converts PDUs other than P-DATA-TF inside the state machine,
        where a bad value (an A-ABORT source of 3, say) kills the DUL thread;
        converting here first turns it into the standard answer instead.
        """
        try:
            decoded, event = decode_pdu(self, pdu)
            if pdu[0] != P_DATA_TF:
                decoded.to_primitive()
        except Exception as exc:  # any malformed content: the standard answer is A-ABORT
            LOG.warning("%s sent a PDU that does not decode (%s): aborted", self._peer(), exc)
            if pdu[0] == 0x07:  # the peer is aborting anyway: just close
                cast(EdgeSocket, self.socket).close()
            else:
                self.event_queue.put(INVALID_PDU)
            return
        self.event_queue.put(event)
        self._recv_pdu.put(decoded)


def listen(server: EdgeServer) -> EdgeServer:
    """Start listening in a thread of its own; the server stops with ``shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="EdgeServer", daemon=True)
    thread.start()
    register_server(server.ae, server)
    return server
