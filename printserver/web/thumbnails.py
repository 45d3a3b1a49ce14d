"""Pictures of spooled films for the console, made lazily and kept beside the job.

Each page is decoded from the job's own PostScript by ``postscript/reader.py`` (what
``printserver queue preview`` shows; exact for the PostScript this server writes and needing
no interpreter on the server) and scaled to a thumbnail and a large preview.  The PNGs live
in the job directory's ``previews/``, named after the document's mtime and size, so a
re-rendered film gets new pictures and a purged job takes its pictures with it.  Callers
run this in a small thread pool: decoding a 14×17 film takes a good part of a second.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from printserver.durable import private_open
from printserver.postscript.reader import iter_pages, page_count
from printserver.spool.store import DIR_MODE, SpoolStore

SIZES = {"thumb": 256, "large": 1024}
"""Longest side in pixels of each kind of picture."""
CACHE = "previews"


class NoPicture(LookupError):
    """The job has no film yet, or no such page."""


def _scaled(page: npt.NDArray[np.uint8]) -> dict[str, bytes]:
    """The page as a PNG of every size in :data:`SIZES`, largest first."""
    picture = Image.fromarray(page)
    encoded = {}
    for kind, pixels in sorted(SIZES.items(), key=lambda item: -item[1]):
        picture.thumbnail((pixels, pixels), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.save(out, format="PNG")
        encoded[kind] = out.getvalue()
    return encoded


class Thumbnails:
    """PNG pictures of the pages of spooled jobs, cached on disk."""

    def __init__(self, store: SpoolStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._jobs: dict[str, threading.Lock] = {}

    def _job_lock(self, job_id: str) -> threading.Lock:
        with self._lock:
            if len(self._jobs) > 1000:
                self._jobs = {k: v for k, v in self._jobs.items() if v.locked()}
            return self._jobs.setdefault(job_id, threading.Lock())

    def png(self, job_id: str, page: int, kind: str) -> bytes:
        """Page ``page`` (from 1) of a job as a PNG of ``kind`` (a key of :data:`SIZES`)."""
        if kind not in SIZES or page < 1:
            raise NoPicture(f"no picture {kind} of page {page}")
        document = self.store.document(job_id)  # checks the id before any path is made
        try:
            pages = page_count(document)
        except FileNotFoundError:
            raise NoPicture(f"job {job_id} has no film yet") from None
        if page > pages:  # known from the header: no page is decoded to find out
            raise NoPicture(f"job {job_id} has no page {page}")
        with self._job_lock(job_id):
            try:
                stat = document.stat()
            except FileNotFoundError:
                raise NoPicture(f"job {job_id} has no film yet") from None
            directory = document.parent / CACHE
            prefix = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
            wanted = directory / f"{prefix}-{page}-{kind}.png"
            if not wanted.is_file():
                self._render(document, directory, prefix, last=page if page == 1 else None)
            try:
                return wanted.read_bytes()
            except FileNotFoundError:
                raise NoPicture(f"job {job_id} has no page {page}") from None

    def _render(self, document: Path, directory: Path, prefix: str, last: int | None) -> None:
        """Write the pictures of pages 1 to ``last`` (None: all), dropping stale ones."""
        try:
            directory.mkdir(mode=DIR_MODE, exist_ok=True)
            for stale in directory.iterdir():
                if not stale.name.startswith(prefix + "-"):
                    stale.unlink(missing_ok=True)
            for number, page in enumerate(iter_pages(document), start=1):
                if not (directory / f"{prefix}-{number}-thumb.png").is_file():
                    for kind, data in _scaled(page).items():
                        _write(directory / f"{prefix}-{number}-{kind}.png", data)
                if number == last:
                    break
        except FileNotFoundError:
            raise NoPicture(f"{document.parent.name} is gone") from None


def _write(target: Path, data: bytes) -> None:
    """A private file, complete or absent: written under a temporary name, then renamed."""
    temp = target.with_name(f".{target.name}.tmp")
    with private_open(temp) as out:
        out.write(data)
    os.replace(temp, target)
