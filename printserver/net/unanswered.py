"""Requests not yet answered, watched so that a modality left waiting is never a silence.

A modality waits for every DIMSE response (PS3.7 9.1, 10.1); one that waits
too long times out, aborts and sends the film again.  Each request is followed
from the moment its last fragment is read to the moment the last P-DATA-TF PDU
of its response is written to the socket, through three stages:

* ``waiting for its handler``: complete, queued for the association's thread;
* ``in its handler``: that thread is handling it;
* ``answer queued, not written``: the response waits for the DUL to write it.

A request still open after ``after`` seconds logs one WARNING naming the
association, the request, the stage and the line of code the responsible
thread is running (its whole stack at DEBUG), and counts once in the
``printserver_requests_late`` metric.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from printserver.periodic import Periodic

LOG = logging.getLogger(__name__)

WAITING = "waiting for its handler"
HANDLING = "in its handler"
WRITING = "answer queued, not written"

Key = tuple[int, int]
"""(an association's identity, the request's Message ID)."""


@dataclass
class Pending:
    """One request being answered."""

    association: str
    request: str
    received: float
    stage: str
    thread: int | None
    written_after: int = 0
    """With WRITING: the response is out once this many P-DATA-TF PDUs were written."""
    late: bool = False


class RequestWatch:
    """Every request being answered, on every association, and a thread that checks them."""

    def __init__(self, after: float, on_late: Callable[[], None] = lambda: None) -> None:
        self.after = after
        self._on_late = on_late
        self._pending: dict[Key, Pending] = {}
        self._written: dict[int, int] = {}
        """P-DATA-TF PDUs on the wire so far, per association."""
        self._lock = threading.Lock()
        self._checks = Periodic("RequestWatch", min(1.0, after / 4), self._check_now)

    # the network edge reports ------------------------------------------------

    def received(self, key: Key, association: str, request: str, thread: int | None) -> None:
        with self._lock:
            self._pending[key] = Pending(association, request, time.monotonic(), WAITING, thread)

    def handling(self, key: Key, thread: int | None) -> None:
        self._move(key, HANDLING, thread)

    def answered(self, key: Key, thread: int | None, written_after: int) -> None:
        """The response is queued: it is out once ``written_after`` P-DATA-TF PDUs were.

        The DUL thread may have written them already, before this is called: the request
        is then done here, or it would wait for the association's next PDU to be forgotten
        (and be reported late, with a slow next request)."""
        with self._lock:
            if self._written.get(key[0], 0) >= written_after:
                self._pending.pop(key, None)
                return
        self._move(key, WRITING, thread, written_after)

    def written(self, association: int, pdus_written: int) -> None:
        """``pdus_written`` P-DATA-TF PDUs of this association are on the wire."""
        with self._lock:
            self._written[association] = pdus_written
            done = [
                key
                for key, pending in self._pending.items()
                if key[0] == association
                and pending.stage == WRITING
                and pending.written_after <= pdus_written
            ]
            for key in done:
                del self._pending[key]

    def forget(self, association: int) -> None:
        """The association ended: what it had not answered can no longer be."""
        with self._lock:
            self._written.pop(association, None)
            for key in [key for key in self._pending if key[0] == association]:
                del self._pending[key]

    def dispatch_wrapper(
        self, association: int
    ) -> Callable[[Callable[[Any, int], None]], Callable[[Any, int], None]]:
        """Wrap an association's request dispatcher so that a request is marked as being
        handled, by the thread handling it, when its handler starts."""

        def wrap(dispatch: Callable[[Any, int], None]) -> Callable[[Any, int], None]:
            def handle(message: Any, context_id: int) -> None:
                message_id = getattr(message, "MessageID", None)
                if message_id is not None:
                    self.handling((association, int(message_id)), threading.get_ident())
                dispatch(message, context_id)

            return handle

        return wrap

    def _move(self, key: Key, stage: str, thread: int | None, written_after: int = 0) -> None:
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                pending.stage, pending.thread = stage, thread
                pending.written_after = written_after

    # the check -----------------------------------------------------------------

    def open_requests(self) -> int:
        with self._lock:
            return len(self._pending)

    def _check_now(self) -> None:
        self.check()

    def check(self, now: float | None = None) -> list[Pending]:
        """Warn once about each request open longer than ``after``; returns those."""
        now = time.monotonic() if now is None else now
        with self._lock:
            late = [
                pending
                for pending in self._pending.values()
                if not pending.late and now - pending.received >= self.after
            ]
            for pending in late:
                pending.late = True
        for pending in late:
            self._warn(pending, now)
            self._on_late()
        return late

    def _warn(self, pending: Pending, now: float) -> None:
        """One WARNING, naming the line the responsible thread runs (its stack at DEBUG).

        The frame is taken from ``sys._current_frames()`` only here, and let go before
        returning: a frame held on to would keep the request it is handling, image and
        all, alive until the garbage collector happened to run.
        """
        frame = sys._current_frames().get(pending.thread) if pending.thread is not None else None
        try:
            where = _innermost(frame)
            LOG.warning(
                "%s unanswered for %.1f s on the association %s: %s%s",
                pending.request,
                now - pending.received,
                pending.association,
                pending.stage,
                f", at {where}" if where else "",
            )
            if frame is not None:
                LOG.debug("the thread it waits on:\n%s", "".join(traceback.format_stack(frame)))
        finally:
            del frame

    def start(self) -> None:
        self._checks.start()

    def stop(self) -> None:
        self._checks.stop()


def _innermost(frame: object | None) -> str:
    """``file:line in function`` of the code a thread is running now."""
    if frame is None:
        return ""
    code = getattr(frame, "f_code", None)
    if code is None:
        return ""
    return f"{code.co_filename}:{getattr(frame, 'f_lineno', '?')} in {code.co_name}"
