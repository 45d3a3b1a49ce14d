"""The DUL's loop (the PS3.8 9.2 state machine's driver) and the association's request loop,
woken by events instead of a poll.

pynetdicom's DUL thread sleeps a fixed delay between looks at its socket and at
the queue of primitives its association hands it: a response that is ready,
or a PDU that has arrived, waits for the next look.  Here the thread sleeps in
the kernel on both at once, the socket and a wake-up counter (an eventfd) that
every hand-over increments, so a PDU that arrives is read at once and a
response that is queued is written at once.  An idle association costs one
wake-up a second (timers and the kill flag are looked at then), not fifty.

Each turn of the loop does what pynetdicom's does, in its order: the ARTIM
timer, then one primitive to send or one PDU to read, then one state machine
event.

The association's own thread (:class:`EventDrivenAssociation`) likewise sleeps
until a request is complete, the DUL hands it a release or an abort, or the
association is killed, where pynetdicom's wakes every millisecond to look: a
request is served the moment it is whole, and an association waiting for its
film's DONE costs nothing while it waits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import ssl
import threading
from collections.abc import Callable
from typing import Any, cast

from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.fsm import InvalidEventError
from pynetdicom.pdu import A_ABORT_RQ

from printserver.net.pynetdicom_compat import ARTIM_EXPIRED, LOCAL_EVENTS

LOG = logging.getLogger(__name__)

MAX_SLEEP = 1.0
"""Longest sleep with nothing to do: how late a timer or a kill flag may be seen."""
REACTOR_SLEEP = 0.5
"""Longest sleep of an association's thread: how late its idle timer may be seen."""


class WakeUp:
    """An eventfd that another thread increments to end the DUL thread's sleep.

    Closed when the loop ends; a wake-up after that is ignored, never written to a
    file descriptor number the kernel may have given to something else since.
    """

    def __init__(self) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._lock = threading.Lock()

    def fileno(self) -> int:
        return self._fd

    def set(self) -> None:
        with self._lock:
            if self._fd >= 0:
                with contextlib.suppress(BlockingIOError):  # the counter is full: set anyway
                    os.eventfd_write(self._fd, 1)

    def clear(self) -> None:
        with contextlib.suppress(BlockingIOError):  # nobody woke us: a timeout or the socket
            os.eventfd_read(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class _HandingQueue(queue.Queue[Any]):
    """The DUL's queue of primitives for its association, which wakes it at each one."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._wake()


def wake_reactor(assoc: Association) -> Callable[[], None]:
    """What wakes ``assoc``'s thread: nothing for pynetdicom's own, which polls."""
    if isinstance(assoc, EventDrivenAssociation):
        return assoc.wake_reactor
    return lambda: None


class EventDrivenAssociation(Association):
    """pynetdicom's acceptor with a request loop that sleeps until there is work.

    Each turn does what pynetdicom's does, in its order: serve one request, answer a
    release the peer asked for, end on an abort, end when the DUL thread has ended, end
    on the idle timeout.  It sleeps only after a turn that found nothing, so requests
    queued together are served one after the other at once.
    """

    def __init__(self, ae: Any, mode: str) -> None:
        super().__init__(ae, mode)
        self._work = threading.Event()

    def wake_reactor(self) -> None:
        self._work.set()

    def kill(self) -> None:
        self._work.set()
        super().kill()

    def _run_reactor(self) -> None:
        self._is_paused = False
        idle = False
        while not self._kill:
            if idle:
                self._is_paused = True  # asleep, it touches no queue: send_*() may go on
                self._work.wait(REACTOR_SLEEP)
            self._is_paused = True
            self._reactor_checkpoint.wait()  # a send_*() of pynetdicom's is under way
            self._is_paused = False
            self._work.clear()
            if self._kill:
                return
            idle = not self._turn()

    def _turn(self) -> bool:
        """One turn of the loop; True when it found something to do."""
        context_id, message = self.dimse.get_msg(block=False)
        if message:
            self._serve_request(message, cast(int, context_id))
            return True
        if self.is_established and self.acse.is_release_requested():
            self.acse.send_release(is_response=True)
            self.is_released, self.is_established = True, False
            evt.trigger(self, evt.EVT_RELEASED, {})
            self.kill()
            return True
        if self.acse.is_aborted():
            self.dul.receive_pdu(wait=False)  # so that EVT_ACSE_RECV fires for the abort
            self.is_aborted, self.is_established = True, False
            evt.trigger(self, evt.EVT_ABORTED, {})
            self.kill()
            return True
        if not self.dul.is_alive():
            self.kill()
            return True
        if self.dul.idle_timer_expired():
            LOG.warning("association idle for longer than its network timeout: aborting")
            self.abort()
            self.kill()
            return True
        return False


class EventDrivenDUL(DULServiceProvider):
    """pynetdicom's DUL service provider with a loop that sleeps until there is work."""

    def __init__(self, assoc: Association) -> None:
        super().__init__(assoc)
        self._wake = WakeUp()
        self.to_user_queue = _HandingQueue(wake_reactor(assoc))

    def send_pdu(self, primitive: Any) -> None:
        """Queue a primitive for the peer (from the association's thread) and wake the DUL."""
        super().send_pdu(primitive)
        self._wake.set()

    def kill_dul(self) -> None:
        super().kill_dul()
        self._wake.set()

    def run_reactor(self) -> None:
        try:
            self._loop()
        finally:
            self._wake.close()
            self.reactor_ended()
            wake_reactor(self.assoc)()  # its association sees at once that the DUL ended

    def reactor_ended(self) -> None:
        """Called once on the DUL thread when its loop ends, however it ends."""

    def _loop(self) -> None:
        self._idle_timer.start()
        while not self._kill_thread:
            if not self.assoc._dul_ready.is_set():
                self.assoc._dul_ready.set()
            if self.artim_timer.expired:
                self.event_queue.put(ARTIM_EXPIRED)
            try:
                if self._process_recv_primitive():
                    pass
                elif self._is_transport_event():
                    self._idle_timer.restart()
            except Exception:  # as pynetdicom does: abort at once, bypassing the state machine
                LOG.exception("the DUL failed: aborting the association")
                self._abort_now()
                return
            try:
                event = self.event_queue.get(block=False)
            except queue.Empty:
                self._sleep()
                continue
            try:
                self.state_machine.do_action(event)
            except InvalidEventError:
                if not self._drop(event):
                    return

    def _drop(self, event: str) -> bool:
        """An event the state machine has no transition for (PS3.8 9.2): a primitive our side
        queued after the association was aborted (a response in Sta13, say) is discarded;
        anything else ends the association.  False when the loop must end."""
        if event in LOCAL_EVENTS:
            with contextlib.suppress(queue.Empty):
                self.to_provider_queue.get(block=False)
            state = self.state_machine.current_state
            LOG.debug("%s in %s: the association is ending; not sent", event, state)
            return True
        LOG.warning("%s in %s: no transition; aborting", event, self.state_machine.current_state)
        self._abort_now()
        return False

    def _sleep(self) -> None:
        """Until the socket is readable, a primitive is queued, the DUL is killed, or the
        ARTIM timer (PS3.8 9.1.5) runs out; at most :data:`MAX_SLEEP`."""
        sock = self.socket.socket if self.socket is not None else None
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return  # decrypted bytes wait in the TLS layer, where the kernel cannot see them
        timeout = MAX_SLEEP
        remaining = self.artim_timer.remaining
        if remaining < timeout:
            timeout = max(remaining, 0.01)
        poller = select.poll()
        poller.register(self._wake, select.POLLIN)
        if sock is not None and sock.fileno() >= 0:
            poller.register(sock, select.POLLIN)
        poller.poll(timeout * 1000)
        self._wake.clear()

    def _abort_now(self) -> None:
        abort = A_ABORT_RQ()
        abort.source = 0x02
        abort.reason_diagnostic = 0x00
        try:
            cast(Any, self.socket).send(abort.encode())
        except Exception:  # the connection is gone already
            LOG.debug("A-ABORT not sent: the connection is gone")
        assoc = self.assoc
        assoc.is_aborted = True
        assoc.is_established = False
        assoc._kill = True
        self._kill_thread = True
