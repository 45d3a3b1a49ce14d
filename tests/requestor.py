"""pynetdicom as a requesting modality in tests and benchmarks, without its lost-response race.

A pynetdicom requestor runs a reactor thread beside the caller.  Before each
``send_*()`` the caller "pauses" the reactor: it clears an event and spins until
a flag says the reactor is paused.  The reactor sets that flag *before* it waits
on the event, and clears it right after, without a lock.  So the caller can see
"paused" while the reactor is already past its checkpoint, about to take the
next message off the DIMSE queue with a non-blocking ``get_msg()``.  If the
response to the caller's request arrives in that moment (the reactor thread
descheduled on a loaded machine is enough), the reactor takes it, logs
"Received unexpected N-... service message" and drops it.  The caller waits
for its DIMSE timeout, then aborts the association (pynetdicom#875 reports the
same with C-FIND).  The server answered in milliseconds: nothing in its log.

:func:`guard_reactor` closes the window on the requestor's side (the server's own
``guard_requestor`` does it): the reactor's
non-blocking reads only take *requests* (an N-EVENT-REPORT from the printer,
which is what the reactor is there for); responses stay on the queue for the
``send_*()`` call that waits for them, and that call takes only a response.
Without the second half, a Print Job event that crosses the modality's next
request on the wire is taken by that request's ``send_*()`` as its response.
``tests/test_soak.py`` shows the race and the guard.

It also closes a second window, where the caller waits forever: pynetdicom serves
an N-EVENT-REPORT request on a thread of its own, started by the DUL thread
(``DIMSEServiceProvider.receive_primitive``), and that thread's ``_serve_request``
sets the reactor's pause flag to True, runs the handler, then sets it to False,
whatever the reactor is doing.  When a ``send_*()`` has cleared the checkpoint and
the reactor is already asleep at it, that last False leaves the caller spinning on
a flag nobody sets again: the association hangs until it is killed (seen as a
modality that heard DONE and then hung on its N-DELETE).  Here the flag is the
reactor's own: only the association's thread, or ``kill()``, sets it.
"""

from __future__ import annotations

import threading
from typing import Any

from pynetdicom.association import Association

from printserver.net.pynetdicom_compat import guard_requestor

ANSWERS_BEFORE_RELEASE = 30.0
"""Seconds ``release()`` waits for the answers to the events under way (a handler that never
returns holds it that long at most)."""


class _GuardedRequestor(Association):
    """pynetdicom's requestor with a pause flag only its reactor sets, and a release that
    waits for the answers to the events the association is handling.

    ``_is_paused`` is what the association's own thread (the reactor) last set; a write
    from another thread counts only once the association is being killed (``kill()`` sets
    the flag so that a waiting ``send_*()`` goes on), so the thread pynetdicom serves an
    N-EVENT-REPORT on no longer sets it.  And as that thread sends the event's answer
    while the caller goes on, the caller's A-RELEASE-RQ could overtake it: pynetdicom then
    fails on the answer (``Evt9`` in ``Sta7``, pynetdicom#820) and the printer never hears
    it.  ``release()`` first waits until every event being handled has been answered.
    """

    _answering: threading.Condition
    _events_in_hand: int

    @property
    def _is_paused(self) -> bool:
        state = self.__dict__
        return bool(state.get("_reactors_pause_flag", state.get("_is_paused", False)))

    @_is_paused.setter
    def _is_paused(self, value: bool) -> None:
        if threading.get_ident() == self.ident or self._kill:
            self.__dict__["_reactors_pause_flag"] = value

    def _serve_request(self, msg: Any, context_id: int) -> None:
        with self._answering:
            self._events_in_hand += 1
        try:
            super()._serve_request(msg, context_id)
        finally:
            with self._answering:
                self._events_in_hand -= 1
                self._answering.notify_all()

    def release(self) -> None:
        with self._answering:
            self._answering.wait_for(lambda: self._events_in_hand == 0, ANSWERS_BEFORE_RELEASE)
        super().release()


_GUARDED: dict[type[Association], type[Association]] = {}


def _guarded(kind: type[Association]) -> type[Association]:
    if issubclass(kind, _GuardedRequestor):
        return kind
    if kind not in _GUARDED:
        _GUARDED[kind] = type(kind.__name__, (_GuardedRequestor, kind), {})
    return _GUARDED[kind]


def guard_reactor(assoc: Association) -> Association:
    """Let ``assoc``'s reactor take requests only, and a ``send_*()`` call responses only
    (``net/pynetdicom_compat.guard_requestor``, which the server uses for the imagers it
    prints to); let only the reactor say whether it is paused, and a release wait for the
    answers to the events under way (:class:`_GuardedRequestor`); returns ``assoc``."""
    assoc.__dict__.update(_answering=threading.Condition(), _events_in_hand=0)
    assoc.__class__ = _guarded(type(assoc))
    return guard_requestor(assoc)
