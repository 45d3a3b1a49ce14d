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
"""

from __future__ import annotations

from pynetdicom.association import Association

from printserver.net.pynetdicom_compat import guard_requestor


def guard_reactor(assoc: Association) -> Association:
    """Let ``assoc``'s reactor take requests only, and a ``send_*()`` call responses only;
    returns ``assoc`` (``net/pynetdicom_compat.guard_requestor``, which the server uses for
    the imagers it prints to)."""
    return guard_requestor(assoc)
