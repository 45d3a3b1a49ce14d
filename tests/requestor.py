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

:func:`guard_reactor` closes the window on the requestor's side: the reactor's
non-blocking reads only take *requests* (an N-EVENT-REPORT from the printer,
which is what the reactor is there for); responses stay on the queue for the
``send_*()`` call that waits for them.  ``tests/test_soak.py`` shows the race
and the guard.
"""

from __future__ import annotations

from typing import Any

from pynetdicom.association import Association

QueueItem = tuple[Any, Any]


def guard_reactor(assoc: Association) -> Association:
    """Let ``assoc``'s reactor take requests only; returns ``assoc``."""
    dimse = assoc.dimse
    messages = dimse.msg_queue
    blocking_get = dimse.get_msg

    def get_msg(block: bool = False) -> QueueItem:
        if block:  # a send_*() call waiting for its response
            return blocking_get(block=True)
        with messages.mutex:  # the reactor polling: only a request is its business
            if messages.queue and getattr(messages.queue[0][1], "is_valid_request", False):
                item: QueueItem = messages.queue.popleft()
                messages.not_full.notify()
                return item
        return None, None

    dimse.get_msg = get_msg  # type: ignore[method-assign]
    return assoc
