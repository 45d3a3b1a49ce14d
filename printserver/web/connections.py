"""The console's HTTP connections: a request arrives whole within a deadline, and one
client address holds only a few connections at a time.

uvicorn closes an idle keep-alive connection, but a connection that sends part of a request
head and then nothing (slowloris) stays open for ever, and enough of them fill uvicorn's
concurrency limit so that operators get 503.  This module extends uvicorn's h11 protocol
class (``uvicorn.protocols.http.h11_impl.H11Protocol``, which ``uvicorn.Config(http=...)``
accepts); it is the one module that names uvicorn's protocol internals.

- **Deadline:** from a connection's start, and again after each response, the client has
  ``request_seconds`` to send its next request complete, head and body (a console request
  is at most a small form), else the connection is closed.  A request being answered has no
  deadline: a slow page is ours, not the client's.
- **Per address:** at most ``per_address`` connections of one client address are served at
  once.  The next ones wait, unread, for one of them to close (an idle keep-alive connection
  gives way at once) within their own deadline; beyond ``waiting`` of them, a connection is
  answered 503 and closed before anything of it is read.  A burst from a browser or a script
  is served in turn, and a flood from one address costs the others nothing.
- **In all:** at most ``most`` connections are open (served or waiting), so that floods from
  many addresses cannot take the file descriptors the DICOM side and the spool need.  This
  replaces uvicorn's ``limit_concurrency``, which counts waiting connections too and would
  answer every operator 503 while two addresses flood.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_BUSY_TEXT = b"too many connections from this address; try again in a moment\n"
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 5\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT)
)
"""The whole answer to a connection over the per-address limit, written before reading."""


@dataclass
class ConnectionLimits:
    """The limits, and who is served or waiting per client address (event loop only)."""

    request_seconds: float = 5.0
    per_address: int = 8
    waiting: int = 32
    most: int = 256
    served: Counter[str] = field(default_factory=Counter)
    queued: dict[str, deque[_LimitedConnection]] = field(default_factory=dict)
    open: int = 0

    def admit(self, connection: _LimitedConnection, address: str) -> bool | None:
        """True: serve it now; False: it waits its turn; None: refuse it."""
        if self.open >= self.most:
            return None
        self.open += 1
        if self.served[address] < self.per_address:
            self.served[address] += 1
            return True
        line = self.queued.setdefault(address, deque())
        if len(line) >= self.waiting:
            self.open -= 1
            return None
        line.append(connection)
        return False

    def others_waiting(self, address: str) -> bool:
        return bool(self.queued.get(address))

    def leave(self, connection: _LimitedConnection, address: str, served: bool) -> None:
        """``connection`` closed: its place goes to the next of its address still open."""
        self.open -= 1
        line = self.queued.get(address, deque())
        if not served:
            if connection in line:
                line.remove(connection)
        else:
            self.served[address] -= 1
            while line:
                turn = line.popleft()
                if turn.start_serving():
                    self.served[address] += 1
                    break
        if not line:
            self.queued.pop(address, None)
        if self.served[address] <= 0:
            self.served.pop(address, None)


def protocol_class(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with ``limits``: pass it as ``uvicorn.Config(http=...)``."""

    class LimitedConnection(_LimitedConnection):
        LIMITS = limits

    return LimitedConnection


class _LimitedConnection(H11Protocol):
    LIMITS: ConnectionLimits

    _deadline: asyncio.TimerHandle | None = None
    _address = ""
    _served = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else "?"
        self._arm()
        admitted = self.LIMITS.admit(self, self._address)
        if admitted is None:
            self._address = ""
            transport.write(BUSY)
            transport.close()
        elif admitted:
            self._served = True
        else:
            self.flow.pause_reading()  # its request waits in the kernel, unread

    def start_serving(self) -> bool:
        """Its turn has come: read its request (False when it closed meanwhile)."""
        if self.transport.is_closing():
            return False
        self._served = True
        self.flow.resume_reading()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address:
            self.LIMITS.leave(self, self._address, self._served)
            self._address = ""
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request h11 cannot parse (a broken chunk, say) is answered 400 and closed; the
        request's application task may still be running, and must not then write an answer
        of its own onto the closed exchange (h11 refuses it, and uvicorn logs a traceback
        a client could repeat at will)."""
        if self.cycle is not None:
            self.cycle.disconnected = True
        super().send_400_response(msg)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.LIMITS.others_waiting(self._address):
            self.transport.close()  # an idle keep-alive connection gives way
            return
        self._arm()
        self._follow()  # a pipelined request may be complete already

    def _follow(self) -> None:
        """No deadline once the request is complete: it is ours to answer."""
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.LIMITS.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
