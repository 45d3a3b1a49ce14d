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

:func:`guard_reactor`, the server's own ``net/pynetdicom_compat.guard_requestor``
(which guards the imagers the server prints to), closes the window: the reactor's
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
modality that heard DONE and then hung on its N-DELETE).  With the guard the flag is
the reactor's own: only the association's thread, or ``kill()``, sets it; and a
release waits for the answers to the events under way.
"""

from __future__ import annotations

from printserver.net.pynetdicom_compat import guard_requestor

guard_reactor = guard_requestor
"""The tests' and benchmarks' name for the server's own guard: one guard for every requestor."""
