"""A sink that prints through a CUPS queue with pycups.

Exactly once: the CUPS job is created first (``createJob``), its id handed to
the caller to record, and only then the document is streamed and closed.  A
crash before the id is recorded leaves an empty job that CUPS never prints; a
crash after it leaves a job that :meth:`CupsSink.adopt` inspects by its number
of documents.

A fresh connection is opened for every operation (pycups connections are not
shared between threads), on a thread of its own under a deadline
(``sinks/deadline.py``).  That thread first names the server with
``cups.setServer``, whose setting libcups keeps per thread: libcups builds the
printer URI of Create-Job from it, and with the host and port given only to the
connection a server on any port but 631 answers "printer does not exist".  pycups has no
timeout, and a host that accepts connections and never answers must cost the
spool one retry, not a blocked worker.  A submit abandoned at its deadline may
still have reached CUPS: its job id was recorded before the document was sent,
so the next attempt adopts or cancels it, and an id that arrives after the
deadline is refused, leaving CUPS a job without document that never prints.
Every failure to reach CUPS, or a queue that rejects jobs, is a transient
error: the spool keeps the job and tries again.  Success is judged by job state
9 (completed) only.

The server is named as ``CUPS_SERVER`` names it: ``host``, ``host:port``,
``[v6address]:port`` or the path of cupsd's local socket.

What CUPS can and cannot know: when a filter of the queue fails (Ghostscript
rejecting the PostScript on a raster queue), cupsd stops the job, job state 6
with reason ``job-completed-with-errors`` or ``cups-filter-crashed``; that job
will never print, so it is reported :attr:`SinkState.UNPRINTABLE`.  On a
PostScript queue no filter interprets the program: CUPS copies it to the
device and reports state 9 whatever the printer's interpreter makes of it.
That is why the PostScript writer must not be able to produce a document
that fails (``postscript.dsc_text``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cups

from printserver.config.sections import cups_address
from printserver.sinks.base import (
    STATUS_SECONDS,
    DestinationStatus,
    SinkError,
    SinkState,
    Submission,
)
from printserver.sinks.deadline import Caller, Deadline

ENCRYPTION = {
    "if-requested": cups.HTTP_ENCRYPT_IF_REQUESTED,
    "never": cups.HTTP_ENCRYPT_NEVER,
    "required": cups.HTTP_ENCRYPT_REQUIRED,
    "always": cups.HTTP_ENCRYPT_ALWAYS,
}
"""IPP encryption (``cups_encryption``): ``required`` upgrades to TLS, ``always`` is IPPS."""
BYTES_PER_SECOND = 1 << 20
"""A submit's deadline grows by a second per MiB of document (1 MiB/s at the slowest)."""
_IPP_NOT_FOUND = 1030
_STOPPED = 6
_FILTER_FAILED = frozenset({"job-completed-with-errors", "cups-filter-crashed"})
"""job-state-reasons cupsd gives a job it stopped because a filter failed (scheduler/job.c)."""

_STATES = {
    3: SinkState.PENDING,
    4: SinkState.PENDING,
    5: SinkState.PRINTING,
    6: SinkState.PRINTING,
    7: SinkState.CANCELED,
    8: SinkState.FAILED,
    9: SinkState.DONE,
}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


class CupsSink:
    """One CUPS destination."""

    def __init__(
        self,
        name: str,
        queue: str,
        server: str | None = None,
        *,
        timeout: float = 20.0,
        encryption: str = "if-requested",
    ) -> None:
        self.name = name
        self.queue = queue
        self.server = server
        self.timeout = timeout
        self._address = cups_address(server) if server else None
        self._encryption = ENCRYPTION[encryption]
        where = "the local CUPS"
        if self._address is not None:
            host, port = self._address
            where = host if port is None and host.startswith("/") else f"{host}:{port or 631}"
        self._caller = Caller(where)

    def _connect(self) -> Any:
        """A connection on this (fresh) thread, whose libcups settings name the server."""
        try:
            if self.server:
                cups.setServer(self.server)
            cups.setEncryption(self._encryption)
            return cups.Connection()
        except RuntimeError as exc:
            raise SinkError(f"CUPS server {self._caller.where} unreachable: {exc}") from exc

    def _call(
        self,
        what: str,
        action: Callable[..., Any],
        *,
        seconds: float | None = None,
        deadline_aware: bool = False,
    ) -> Any:
        def work(deadline: Deadline) -> Any:
            try:
                connection = self._connect()
                return action(connection, deadline) if deadline_aware else action(connection)
            except cups.IPPError as exc:
                code, message = exc.args if len(exc.args) == 2 else (0, str(exc))
                raise SinkError(f"CUPS {what} failed: {message} ({code})") from exc
            except RuntimeError as exc:
                raise SinkError(f"CUPS {what} failed: {exc}") from exc

        return self._caller.call(what, seconds or self.timeout, work)

    def _printer(self, connection: Any) -> dict[str, Any]:
        try:
            attributes: dict[str, Any] = connection.getPrinterAttributes(self.queue)
        except cups.IPPError as exc:
            if exc.args and exc.args[0] == _IPP_NOT_FOUND:
                raise SinkError(f"CUPS queue {self.queue!r} does not exist") from exc
            raise
        return attributes

    def submit(self, submission: Submission, on_created: Callable[[int], None]) -> int | None:
        options = {"copies": str(submission.copies), **submission.options}

        def send(connection: Any, deadline: Deadline) -> int:
            self._printer(connection)
            job_id = int(connection.createJob(self.queue, submission.title, options))
            try:
                deadline.report(lambda: on_created(job_id))
            except SinkError:
                connection.cancelJob(job_id)  # nobody recorded it: it must never print
                raise
            connection.startDocument(
                self.queue, job_id, submission.document.name, cups.CUPS_FORMAT_AUTO, 1
            )
            with open(submission.document, "rb") as document:
                while chunk := document.read(1 << 20):
                    connection.writeRequestData(chunk, len(chunk))
            connection.finishDocument(self.queue)
            return job_id

        seconds = self.timeout + submission.document.stat().st_size / BYTES_PER_SECOND
        result: int = self._call("submit", send, seconds=seconds, deadline_aware=True)
        return result

    def adopt(self, job_id: int) -> bool:
        def inspect(connection: Any) -> bool:
            try:
                attrs = connection.getJobAttributes(
                    job_id, requested_attributes=["job-state", "number-of-documents"]
                )
            except cups.IPPError:
                return False  # CUPS no longer knows it: it cannot print
            if int(attrs.get("number-of-documents", 0)) > 0:
                return True
            if int(attrs.get("job-state", 3)) < 7:
                connection.cancelJob(job_id)
            return False

        result: bool = self._call("job lookup", inspect)
        return result

    def state(self, job_id: int) -> tuple[SinkState, str]:
        attrs = self._call("job query", lambda c: c.getJobAttributes(job_id))
        code = int(attrs.get("job-state", 3))
        state = _STATES.get(code, SinkState.PENDING)
        raw = attrs.get("job-state-reasons") or ()
        reasons = {str(r) for r in ([raw] if isinstance(raw, str) else raw)}
        if code == _STOPPED and reasons & _FILTER_FAILED:
            state = SinkState.UNPRINTABLE
        reason = _text(attrs.get("job-state-reasons"))
        message = _text(attrs.get("job-printer-state-message"))
        return state, "; ".join(part for part in (reason, message) if part)

    def cancel(self, job_id: int) -> None:
        def stop(connection: Any) -> None:
            state = int(connection.getJobAttributes(job_id).get("job-state", 3))
            if state < 7:
                connection.cancelJob(job_id)

        self._call("cancel", stop)

    def status(self) -> DestinationStatus:
        try:
            attrs = self._call("status", self._printer, seconds=min(self.timeout, STATUS_SECONDS))
        except SinkError as exc:
            return DestinationStatus(False, False, str(exc), reachable=False)
        accepting = bool(attrs.get("printer-is-accepting-jobs", True))
        stopped = int(attrs.get("printer-state", 3)) == 5
        raw = attrs.get("printer-state-reasons") or ()
        reasons = tuple(str(r) for r in ([raw] if isinstance(raw, str) else raw) if r != "none")
        message = _text(attrs.get("printer-state-message")) or ", ".join(reasons)
        return DestinationStatus(not stopped, accepting, message, reasons=reasons)
