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
``send_*()`` call that waits for them, and that call takes only a response.
Without the second half, a Print Job event that crosses the modality's next
request on the wire is taken by that request's ``send_*()`` as its response.
``tests/test_soak.py`` shows the race and the guard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pynetdicom.association import Association

QueueItem = tuple[Any, Any]


def _is_request(item: QueueItem) -> bool:
    return bool(getattr(item[1], "is_valid_request", False))


def guard_reactor(assoc: Association) -> Association:
    """Let ``assoc``'s reactor take requests only, and a ``send_*()`` call responses only;
    returns ``assoc``."""
    dimse = assoc.dimse
    messages = dimse.msg_queue

    def take(wanted: Callable[[QueueItem], bool]) -> QueueItem | None:
        """The first message ``wanted`` takes, wherever it is in the queue (hold the mutex)."""
        for index, item in enumerate(messages.queue):
            if wanted(item):
                del messages.queue[index]
                messages.not_full.notify()
                return item
        return None

    def get_msg(block: bool = False) -> QueueItem:
        if not block:  # the reactor polling: only a request (an N-EVENT-REPORT) is its business
            with messages.mutex:
                return take(_is_request) or (None, None)
        # a send_*() call waiting for its response: an event the printer sends meanwhile
        # stays for the reactor, which answers it once this call has its response
        timeout = dimse.dimse_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        with messages.not_empty:
            while True:
                item = take(lambda candidate: not _is_request(candidate))
                if item is not None:
                    return item
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None, None
                messages.not_empty.wait(remaining)

    dimse.get_msg = get_msg  # type: ignore[method-assign]
    return assoc
