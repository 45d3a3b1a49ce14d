"""A sink that writes each document into a directory: the built-in default printer.

Writing is atomic (``printserver.durable.replace_durably``: temp file, fsync,
rename, fsync of the directory) and named after the job's unique title, so
writing the same job again after a crash replaces the file instead of adding a
copy.  Copies are not multiplied here: the file is the film, once.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from printserver.durable import replace_durably
from printserver.sinks.base import DestinationStatus, SinkError, SinkState, Submission

LOG = logging.getLogger(__name__)


class DirectorySink:
    """PostScript files in a directory."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory

    def target(self, title: str) -> Path:
        """The file a submission of this title becomes: operators look for it by job."""
        return self.directory / f"{title}.ps"

    def submit(self, submission: Submission, on_created: Callable[[int], None]) -> int | None:
        target = self.target(submission.title)

        def copy(out: BinaryIO) -> None:
            with open(submission.document, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            replace_durably(target, copy)
        except OSError as exc:
            raise SinkError(f"cannot write {target}: {exc.strerror}") from exc
        LOG.info("%s written to %s", submission.title, target)
        return None

    def adopt(self, job_id: int) -> bool:
        return False  # no job ids: writing again replaces the same file

    def state(self, job_id: int) -> tuple[SinkState, str]:
        return SinkState.DONE, ""

    def cancel(self, job_id: int) -> None:
        return None

    def status(self) -> DestinationStatus:
        """Whether files can be written; looking creates nothing (``printserver printers``
        runs anywhere), the directory is made at the first film."""
        existing = self.directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            return DestinationStatus(False, False, f"{existing} is not a directory")
        writable = os.access(existing, os.W_OK | os.X_OK)
        if not writable:
            return DestinationStatus(False, False, f"{existing}: not writable")
        return DestinationStatus(True, True, "" if existing == self.directory else "not made yet")
