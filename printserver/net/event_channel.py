"""One association's events, sent on their own as the jobs they report change.

A modality that printed waits for the Print Job's DONE or FAILURE (Agfa NX
releases only then; a console that hears nothing prints the film again).  The
channel's thread sleeps until one of its jobs changes: the spool tells the
:class:`JobListeners` of every job record it saves in this process (render
stage, delivery lanes, CUPS completion, the web console), and the thread also
looks once a second, for changes made by the operator's command line in
another process.  What is due, and how it is sent, is ``net/events.py``.

A modality that does not answer an event within the DIMSE timeout is aborted
with one WARNING; it holds nothing of any other association's.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from pynetdicom.association import Association

from printserver.model.printer import PrinterStatus
from printserver.net import events
from printserver.net.association import AssociationState
from printserver.net.print_job import FINAL_STATUSES
from printserver.spool.job import JobRecord

LOG = logging.getLogger(__name__)

LOOK_INTERVAL = 1.0
"""How often a channel looks at its jobs and printer without being told of a change."""


class EventChannel:
    """Sends one association's Print Job (and, opt-in, Printer) events."""

    def __init__(
        self,
        assoc: Association,
        state: AssociationState,
        job: Callable[[str], JobRecord | None],
        printer_name: str,
        printer_status: Callable[[], PrinterStatus] | None,
        timeout: float,
    ) -> None:
        self.assoc = assoc
        self.state = state
        self._job = job
        self._printer_name = printer_name
        self._printer_status = printer_status
        self._timeout = timeout
        self._changed = threading.Condition()
        self._woken = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    @property
    def waiting(self) -> bool:
        """A Print Job of this association has not had its DONE or FAILURE yet."""
        reported = self.state.reported_jobs
        return any(reported.get(uid) not in FINAL_STATUSES for uid in list(self.state.print_jobs))

    def wake(self) -> None:
        """Something this channel reports may have changed: look now."""
        with self._changed:
            self._woken = True
            self._changed.notify()
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name=f"Events@{self.state.hierarchy.calling_ae}", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """The association ended: nothing more is sent."""
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._woken and not self._stopped:
                    self._changed.wait(LOOK_INTERVAL)
                if self._stopped:
                    return
                self._woken = False
            if not self._send_due():
                return

    def _send_due(self) -> bool:
        """Send what is due; False (the association aborted) when the modality did not answer."""
        if not self.assoc.is_established:
            return True
        due = events.due_print_job_events(self.state, self._job, self._printer_name)
        if self._printer_status is not None:
            printer = events.due_printer_event(
                self.state, self._printer_status(), self._printer_name
            )
            due += [printer] if printer is not None else []
        for event in due:
            if self._stopped or not self.assoc.is_established:
                return True
            if not events.send(self.assoc, self.state, event, self._timeout):
                if self.assoc.is_established:
                    LOG.warning(
                        "%s: the N-EVENT-REPORT to %s was not answered within %g s; "
                        "association aborted",
                        event.about,
                        self.state.hierarchy.calling_ae,
                        self._timeout,
                    )
                    self.assoc.abort()
                return False
        return True


class JobListeners:
    """Spool job id → the channels that report it; told of every job the spool saves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, set[EventChannel]] = defaultdict(set)

    def listen(self, job_id: str, channel: EventChannel) -> None:
        with self._lock:
            self._channels[job_id].add(channel)
        channel.wake()

    def forget(self, channel: EventChannel) -> None:
        with self._lock:
            for job_id in [j for j, chans in self._channels.items() if channel in chans]:
                self._channels[job_id].discard(channel)
                if not self._channels[job_id]:
                    del self._channels[job_id]

    def changed(self, job_id: str) -> None:
        """The spool saved this job (any thread of this process)."""
        with self._lock:
            channels = list(self._channels.get(job_id, ()))
        for channel in channels:
            channel.wake()
