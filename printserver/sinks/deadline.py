"""Calls to a destination that may never answer, given a deadline.

pycups has no connect or read timeout: a CUPS host that accepts the connection
and then says nothing holds the calling thread for as long as libcups waits.
Each call therefore runs on a thread of its own, and the caller stops waiting
at the deadline.  The abandoned thread is left to finish or fail on its own; a
:class:`Deadline` tells it that nobody listens any more, so that it does not
report a CUPS job id the spool has already given up on (the job then has no
document and CUPS never prints it).  A destination that has abandoned calls
still running gets no new ones beyond :data:`MAX_ABANDONED`: a hung host costs a
few threads, not one per retry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from printserver.sinks.base import SinkError

T = TypeVar("T")

MAX_ABANDONED = 4
"""Calls to one destination still running after their deadline before new ones are refused."""


class Deadline:
    """Whether the caller still waits for a call's answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True

    def still_wanted(self) -> bool:
        with self._lock:
            return not self._abandoned

    def report(self, action: Callable[[], None]) -> None:
        """Run ``action`` (e.g. record a job id) only while the caller still waits; the lock
        makes the check and the action one step against :meth:`abandon`."""
        with self._lock:
            if self._abandoned:
                raise SinkError("the call was abandoned at its deadline")
            action()


class Caller:
    """Runs one destination's calls under deadlines and counts those left running."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._lock = threading.Lock()
        self._running_late = 0

    def call(self, what: str, seconds: float, work: Callable[[Deadline], T]) -> T:
        """``work(deadline)`` on its own thread; :class:`SinkError` when it has not answered
        within ``seconds`` (transient: the destination may come back)."""
        with self._lock:
            if self._running_late >= MAX_ABANDONED:
                raise SinkError(
                    f"no answer from {self.where}: {self._running_late} calls still waiting"
                )
        deadline = Deadline()
        outcome: list[T] = []
        failure: list[BaseException] = []
        done = threading.Event()

        def run() -> None:
            try:
                outcome.append(work(deadline))
            except BaseException as exc:  # handed to the waiting caller
                failure.append(exc)
            finally:
                done.set()
                with self._lock:
                    if not deadline.still_wanted():
                        self._running_late -= 1

        thread = threading.Thread(target=run, name=f"cups-{what}", daemon=True)
        thread.start()
        if not done.wait(seconds):
            with self._lock:
                if not done.is_set():
                    deadline.abandon()
                    self._running_late += 1
                    raise SinkError(f"no answer from {self.where} for {seconds:.3g} s ({what})")
        if failure:
            raise failure[0]
        return outcome[0]
