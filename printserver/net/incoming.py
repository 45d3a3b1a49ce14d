"""Where one association's images wait on disk until a film is printed (the spool's
``incoming/``), written as their PDUs arrive.

An image N-SET's data set is written to its own file fragment by fragment on the DUL
thread (``net/message_limits.py``), the way DCMTK's print SCP stores an image while it is
received: no copy of it is ever assembled in memory.  Once complete, the file is handed to
a background thread that makes it durable (fsync) while the next request is received, so
the N-ACTION that links it into a job, and is answered only once the job is on disk
(``spool/store.py``), finds it durable already.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
from pathlib import Path
from typing import BinaryIO

from printserver.durable import private_open
from printserver.spool.store import SpoolStore

LOG = logging.getLogger(__name__)

SYNC_BACKLOG = 256
"""Files waiting for their fsync; beyond it a file is left for the N-ACTION to sync."""


class BackgroundSync:
    """One thread that fsyncs finished spill files, oldest first.

    Best effort by design: a file it has not reached yet is fsync'ed by the N-ACTION
    that links it (``spool/store.py``), so nothing depends on this thread being quick.
    """

    def __init__(self) -> None:
        self._files: queue.Queue[Path | None] = queue.Queue(SYNC_BACKLOG)
        self._thread = threading.Thread(target=self._run, name="spill-sync", daemon=True)
        self._thread.start()

    def submit(self, path: Path) -> None:
        try:
            self._files.put_nowait(path)
        except queue.Full:
            LOG.debug("spill sync backlog full: %s is synced when printed", path.name)

    def stop(self) -> None:
        self._files.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        while (path := self._files.get()) is not None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:  # deleted meanwhile (its association ended): nothing to keep
                continue
            try:
                os.fsync(fd)
            except OSError as exc:
                LOG.warning("fsync of %s failed: %s", path.name, exc)
            finally:
                os.close(fd)


class Incoming:
    """One association's spill directory, made at its first image and removed at its end.

    Shared by the DUL thread (files written as received) and the association's thread
    (images rewritten after admission), hence the lock.
    """

    def __init__(self, store: SpoolStore, sync: BackgroundSync | None = None) -> None:
        self._store = store
        self._sync = sync
        self._directory: Path | None = None
        self._count = 0
        self._closed = False
        self._lock = threading.Lock()

    def new_path(self) -> Path:
        """A fresh file name in the directory (made now if need be)."""
        with self._lock:
            if self._closed:
                raise FileNotFoundError("the association has ended")
            if self._directory is None:
                self._directory = self._store.incoming()
            self._count += 1
            return self._directory / f"{self._count:04d}.dcm"

    def open(self) -> tuple[Path, BinaryIO]:
        """A new private file to write a data set into as it arrives."""
        path = self.new_path()
        return path, private_open(path)

    def written(self, path: Path) -> None:
        """A file is complete: make it durable in the background."""
        if self._sync is not None:
            self._sync.submit(path)

    def close(self) -> None:
        """Remove the directory and everything still in it (printed films link their own)."""
        with self._lock:
            self._closed = True
            directory, self._directory = self._directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
