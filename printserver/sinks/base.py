"""The one small interface every destination of finished PostScript implements.

A sink knows PostScript files and where they go; it knows nothing of DICOM or of
the spool's bookkeeping.  The spool worker drives it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class SinkState(StrEnum):
    """Where a submitted document stands at its destination."""

    PENDING = "pending"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"
    UNPRINTABLE = "unprintable"  # the destination's filters could not interpret the document
    CANCELED = "canceled"


STATUS_SECONDS = 3.0
"""Deadline of one destination's status query: Printer N-GET and ``printserver printers``
wait no longer (``StatusWatch`` bounds them all at once besides)."""


class SinkError(Exception):
    """Submitting or following a document failed.

    ``transient`` is true when trying again later may succeed (server down,
    queue rejecting jobs); false when the document itself cannot be printed.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class MayHavePrinted(SinkError):
    """The request to print went out and its answer never came: the destination may have
    printed it, so it is not sent again by itself (exactly once)."""


@dataclass(frozen=True)
class Submission:
    """A document to hand to a destination; ``title`` is unique per spool job."""

    title: str
    document: Path
    copies: int = 1
    options: dict[str, str] = field(default_factory=dict)
    order: Mapping[str, Path] = field(default_factory=dict)
    """The job's film order (opaque files), for a destination that takes it rather than
    the document; empty for a job that kept none."""


@dataclass(frozen=True)
class DestinationStatus:
    """Health of a destination, as its operator would read it.

    ``ok`` is false when the destination is stopped or cannot be reached
    (``reachable``); ``reasons`` are the destination's own keywords, such as
    the IPP printer-state-reasons of CUPS (RFC 8011 5.4.12).
    """

    ok: bool
    accepting: bool
    message: str = ""
    reachable: bool = True
    reasons: tuple[str, ...] = ()
    printer_status: tuple[str, str] | None = None
    """A DICOM imager's own Printer Status and Printer Status Info (PS3.3 C.13.9.1)."""


class Sink(Protocol):
    """A destination for finished PostScript."""

    name: str

    def submit(self, submission: Submission, on_created: Callable[[int], None]) -> int | None:
        """Hand the document over; return the destination's job id, or None when
        the destination completed it synchronously (nothing left to follow).

        A destination with job ids calls ``on_created`` with the id *before* it
        transfers the document, so the caller can record it durably first.
        """
        ...

    def adopt(self, job_id: int) -> bool | None:
        """After a crash: True when the job ``job_id`` received its whole document
        and will print; False when it did not (it is then canceled, never printed);
        None when the destination cannot say (the job may have printed)."""
        ...

    def state(self, job_id: int) -> tuple[SinkState, str]:
        """Return the state of a submitted job and a short reason text."""
        ...

    def cancel(self, job_id: int) -> None:
        """Cancel a submitted job (no error if it already ended)."""
        ...

    def status(self) -> DestinationStatus:
        """Report whether the destination is up and accepting jobs."""
        ...


class StatusWatch:
    """Destination status with a time limit and a short memory.

    A CUPS server that accepts connections but does not answer would otherwise
    hold a modality's Printer N-GET for minutes; after ``timeout`` seconds the
    destination counts as unreachable.  Associations asking while a query is
    under way share it; answers may be reused for ``ttl`` seconds (0: never, so
    a status change shows at once).
    """

    def __init__(self, timeout: float = 3.0, ttl: float = 0.0, workers: int = 16) -> None:
        self.timeout = timeout
        self.ttl = ttl
        # one thread per printer asked at once: a hung host must not queue a healthy one
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status")
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, DestinationStatus]] = {}
        self._asking: dict[str, Future[DestinationStatus]] = {}

    def status(self, sink: Sink) -> DestinationStatus:
        return self.statuses([sink])[sink.name]

    def statuses(self, sinks: Iterable[Sink]) -> dict[str, DestinationStatus]:
        """Every destination's status, all asked at once: the answer takes one time limit,
        however many destinations do not answer."""
        asked = {sink.name: self._ask(sink) for sink in sinks}
        until = time.monotonic() + self.timeout
        return {
            name: answer
            if isinstance(answer, DestinationStatus)
            else self._wait(name, answer, until)
            for name, answer in asked.items()
        }

    def _ask(self, sink: Sink) -> DestinationStatus | Future[DestinationStatus]:
        """A fresh enough answer, or the query under way (started now if none is)."""
        now = time.monotonic()
        with self._lock:
            answer = self._answers.get(sink.name)
            if answer is not None and now - answer[0] < self.ttl:
                return answer[1]
            future = self._asking.get(sink.name)
            if future is None or future.done():
                future = self._asking[sink.name] = self._pool.submit(sink.status)
            return future

    def _wait(
        self, name: str, future: Future[DestinationStatus], until: float
    ) -> DestinationStatus:
        try:
            result = future.result(timeout=max(0.0, until - time.monotonic()))
        except FutureTimeout:
            result = DestinationStatus(
                False, False, f"no answer within {self.timeout:g} s", reachable=False
            )
        except Exception as exc:  # a sink that fails to report is a sink that is down
            result = DestinationStatus(False, False, str(exc), reachable=False)
        with self._lock:
            self._answers[name] = (time.monotonic(), result)
        return result
