"""A sink that writes each document into a directory: the built-in default printer.

Writing is atomic (``printserver.durable.replace_durably``: temp file, fsync,
rename, fsync of the directory) and named after the job's unique title, so
writing the same job again after a crash replaces the file instead of adding a
copy.  Copies are not multiplied here: the file is the film, once.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from printserver.durable import replace_durably
from printserver.sinks.base import DestinationStatus, SinkError, SinkState, Submission


class DirectorySink:
    """PostScript files in a directory."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory

    def submit(self, submission: Submission, on_created: Callable[[int], None]) -> int | None:
        target = self.directory / f"{submission.title}.ps"

        def copy(out: BinaryIO) -> None:
            with open(submission.document, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            replace_durably(target, copy)
        except OSError as exc:
            raise SinkError(f"cannot write {target}: {exc.strerror}") from exc
        return None

    def adopt(self, job_id: int) -> bool:
        return False  # no job ids: writing again replaces the same file

    def state(self, job_id: int) -> tuple[SinkState, str]:
        return SinkState.DONE, ""

    def cancel(self, job_id: int) -> None:
        return None

    def status(self) -> DestinationStatus:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return DestinationStatus(False, False, f"{self.directory}: {exc.strerror}")
        writable = os.access(self.directory, os.W_OK)
        return DestinationStatus(writable, writable, "" if writable else "not writable")
