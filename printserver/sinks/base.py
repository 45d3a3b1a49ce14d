"""The one small interface every destination of finished PostScript implements.

A sink knows PostScript files and where they go; it knows nothing of DICOM or of
the spool's bookkeeping.  The spool worker drives it.
"""

from __future__ import annotations

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
    """A document to hand to a destination.

    ``title`` is unique per spool job; destinations that remember jobs use it to
    find an earlier submission again (exactly-once delivery after a crash).
    """

    title: str
    document: Path
    copies: int = 1
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DestinationStatus:
    """Health of a destination, as its operator would read it."""

    ok: bool
    accepting: bool
    message: str = ""


class Sink(Protocol):
    """A destination for finished PostScript."""

    name: str

    def submit(self, submission: Submission) -> int | None:
        """Hand the document over; return the destination's job id, or None when
        the destination completed it synchronously (nothing left to follow)."""
        ...

    def find(self, title: str) -> int | None:
        """Return the id of an earlier submission with this title, if any."""
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
