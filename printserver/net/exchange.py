"""The DIMSE exchange of one association: whose turn it is to write, and where answers go.

pynetdicom has one queue of received DIMSE messages per association, read by
its reactor (requests) and by ``send_*()`` calls waiting for a response; when
both read it, either can take the other's message (the requestor race of
``tests/requestor.py``).  An SCP that sends N-EVENT-REPORTs of its own (PS3.4
H.4.5.1.1: the Print Job's progress) needs both at once, so here the queue
only ever holds requests: a response is handed straight to the event that
waits for it, matched by Message ID Being Responded To (PS3.7 9.3.1.2), and
is never served as a request.

A message of ours is written only when no request of the peer is being
answered, or received and waiting to be: never between a request and its
response.  The association's request dispatcher, wrapped by
:meth:`Exchange.answering_wrapper`, holds the turn from the moment it takes a
request to the moment its response is queued; an event waits for its turn.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

Dispatch = Callable[[Any, int], None]


class Exchange:
    """Requests of the peer and requests of ours on one association."""

    def __init__(self, assembling: Callable[[], bool]) -> None:
        self._assembling = assembling
        self._lock = threading.Lock()
        self._open = 0  # requests received and not yet answered
        self._awaited: dict[int, queue.SimpleQueue[Any]] = {}
        self._turn = threading.Condition()

    def arrived(self, primitive: Any) -> bool:
        """A complete message from the peer: True when it is a request, for the queue."""
        responded = getattr(primitive, "MessageIDBeingRespondedTo", None)
        if responded is None:
            with self._lock:
                self._open += 1
            return True
        with self._lock:
            waiter = self._awaited.pop(int(responded), None)
        if waiter is None:
            LOG.debug("a response to message %d, which waits no more: ignored", int(responded))
        else:
            waiter.put(primitive)
        return False

    def answering_wrapper(self, dispatch: Dispatch) -> Dispatch:
        """The association's request dispatcher, holding the turn while it answers."""

        def answer(message: Any, context_id: int) -> None:
            with self._turn:
                try:
                    dispatch(message, context_id)
                finally:
                    with self._lock:
                        self._open = max(0, self._open - 1)
                    self._turn.notify_all()

        return answer

    def _quiet(self) -> bool:
        with self._lock:
            return self._open == 0 and not self._assembling()

    def request(
        self,
        message_id: int,
        send: Callable[[], None],
        timeout: float,
        *,
        within_answer: bool = False,
    ) -> Any | None:
        """Write a request of ours with ``send()`` at the first quiet moment, and wait for
        its response; None when it was not written or not answered within ``timeout``.

        ``within_answer``: called by the handler of a request, before it answers (the
        turn is its own already).
        """
        waiter: queue.SimpleQueue[Any] = queue.SimpleQueue()
        deadline = time.monotonic() + timeout
        with self._turn:  # reentrant: the handler's own thread holds it already
            while not within_answer and not self._quiet():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._turn.wait(min(remaining, 1.0))
            with self._lock:
                self._awaited[message_id] = waiter
            send()
        try:
            return waiter.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        finally:
            with self._lock:
                self._awaited.pop(message_id, None)


class RequestQueue(queue.Queue[Any]):
    """pynetdicom's queue of received messages, which keeps requests only."""

    def __init__(self, exchange: Exchange, wake: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.exchange = exchange
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with contextlib.suppress(IndexError, TypeError):
            if not self.exchange.arrived(item[1]):
                return
        super().put(item, block, timeout)
        self._wake()  # the association's thread serves it now
