"""The one small interface every destination of finished PostScript implements.

A sink knows PostScript files and where they go; it knows nothing of DICOM or of
the spool's bookkeeping.  The spool worker drives it.
"""

from __future__ import annotations

from collections.abc import Callable
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
    CANCELED = "canceled"


class SinkError(Exception):
    """Submitting or following a document failed.

    ``transient`` is true when trying again later may succeed (server down,
    queue rejecting jobs); false when the document itself cannot be printed.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Submission:
    """A document to hand to a destination; ``title`` is unique per spool job."""

    title: str
    document: Path
    copies: int = 1
    options: dict[str, str] = field(default_factory=dict)


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


class Sink(Protocol):
    """A destination for finished PostScript."""

    name: str

    def submit(
        self, submission: Submission, on_created: Callable[[int], None]
    ) -> int | None:
        """Hand the document over; return the destination's job id, or None when
        the destination completed it synchronously (nothing left to follow).

        A destination with job ids calls ``on_created`` with the id *before* it
        transfers the document, so the caller can record it durably first.
        """
        ...

    def adopt(self, job_id: int) -> bool:
        """After a crash: True when the job ``job_id`` received its whole document
        and will print; False when it did not (it is then canceled, never printed)."""
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
