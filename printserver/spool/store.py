"""Crash-safe job directories on disk.

Layout under the spool root::

    jobs/<job_id>/job.json   the record (replaced atomically on every change)
    jobs/<job_id>/film.ps    the PostScript document
    jobs/<job_id>/lock       flock target serialising changes to one job
    jobs/<job_id>/objects/   what the client sent for the film (opaque to the spool)
    tmp/                     jobs being written; never visible as jobs

A job is written completely under ``tmp/``, every file and directory is
fsync'ed, and only then renamed into ``jobs/``: after a crash a job either
exists whole or not at all, and one that exists was acknowledged to its
client.  Record changes go through a temp file, fsync and rename, under an
flock, so the server and the operator's CLI can change the same job safely.
Job directories are 0700 and files 0600: films carry patient data.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from printserver.spool.job import JobRecord, JobRequest, JobState, utc_now

LOG = logging.getLogger(__name__)

RECORD = "job.json"
DOCUMENT = "film.ps"
LOCK = "lock"
OBJECTS = "objects"


JOB_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
"""The only job ids there are: UTC date and time, then three random bytes (``_new_id``)."""
JOB_ID_EXAMPLE = "20261122-194023-abd56b"


class JobNotFound(LookupError):
    """No job with that id in the spool."""


class InvalidJobId(JobNotFound):
    """Not a job id at all, so no job can have it; no path is ever built from it."""


def check_job_id(job_id: str) -> str:
    """``job_id`` when it has the spool's format; raises :class:`InvalidJobId` otherwise.

    Every path to a job goes through here, so an empty id, ``..``, a slash, a
    control character or 300 characters never reach the filesystem.
    """
    if not JOB_ID.fullmatch(job_id):
        raise InvalidJobId(job_id)
    return job_id


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


FILE_MODE = 0o600
DIR_MODE = 0o700
"""Films hold patient data: readable by the server's user only."""


def _private_open(path: Path) -> BinaryIO:
    """Create (or truncate) a file only its owner can read, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "wb")


def _write_attachments(directory: Path, files: Mapping[str, bytes | memoryview]) -> None:
    directory.mkdir(mode=DIR_MODE)
    for name, data in files.items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"attachment name {name!r}")
        _write_durably(directory / name, data)
    _fsync_dir(directory)


def _write_durably(path: Path, data: bytes | memoryview) -> None:
    with _private_open(path) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class SpoolStore:
    """Job directories under one spool root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs_dir = root / "jobs"
        self.tmp_dir = root / "tmp"
        self._seen: dict[str, tuple[int, int, JobRecord]] = {}  # id -> mtime, size, record

    def open(self) -> None:
        """Create the directories and drop half-written jobs left by a crash."""
        for directory in (self.root, self.jobs_dir, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, DIR_MODE)
        for leftover in self.tmp_dir.iterdir():
            LOG.warning("removing unfinished job %s left by an earlier crash", leftover.name)
            shutil.rmtree(leftover, ignore_errors=True)

    def free_bytes(self) -> int:
        """Free space on the spool's filesystem (0 when it cannot be measured).

        Measured at the nearest existing directory: the CLI may look before the
        server has made the spool.
        """
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        try:
            return shutil.disk_usage(existing).free
        except OSError:
            return 0

    def _new_id(self) -> str:
        return f"{utc_now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"

    def create(self, request: JobRequest, write_document: Callable[[BinaryIO], None], *,
               hold: str | None = None, note: str = "spooled",
               attachments: Mapping[str, bytes | memoryview] | None = None) -> JobRecord:
        """Write a new job, pending (or held, with ``hold`` as the reason); returns only once
        it is durable on disk.  ``attachments`` are opaque files kept in ``objects/`` (the
        request that produced the film, so it can be rendered again)."""
        job_id = self._new_id()
        staging = self.tmp_dir / job_id
        staging.mkdir(parents=True, mode=DIR_MODE)
        os.chmod(staging, DIR_MODE)
        try:
            with _private_open(staging / DOCUMENT) as handle:
                write_document(handle)
                handle.flush()
                os.fsync(handle.fileno())
                size = handle.tell()
            now = utc_now()
            fields = request.model_dump(include=set(JobRequest.model_fields))
            record = JobRecord(
                **fields, job_id=job_id, created=now, updated=now, document_bytes=size
            )
            if attachments:
                _write_attachments(staging / OBJECTS, attachments)
            if hold is not None:
                record = record.model_copy(update={
                    "state": JobState.HELD, "state_info": "REQ MED NOT INST", "last_error": hold})
            record = record.journaled(None, note)
            _write_durably(staging / RECORD, record.model_dump_json(indent=2).encode())
            _private_open(staging / LOCK).close()
            _fsync_dir(staging)
            os.rename(staging, self.jobs_dir / job_id)
            _fsync_dir(self.jobs_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        LOG.info("spooled job %s for printer %s (%d bytes)", job_id, request.printer, size)
        return record

    def path(self, job_id: str) -> Path:
        return self.jobs_dir / check_job_id(job_id)

    def document(self, job_id: str) -> Path:
        return self.path(job_id) / DOCUMENT

    def attachments(self, job_id: str) -> dict[str, bytes]:
        """The files kept with a job in ``objects/`` (empty for jobs without any)."""
        directory = self.path(job_id) / OBJECTS
        if not directory.is_dir():
            return {}
        return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}

    def get(self, job_id: str) -> JobRecord:
        try:
            text = (self.path(job_id) / RECORD).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise JobNotFound(job_id) from None
        return JobRecord.model_validate_json(text)

    def list(self) -> list[JobRecord]:
        """All jobs, oldest first; unreadable records are logged and skipped.

        Finished records are parsed again only when their file changed (a week of
        finished jobs costs one ``stat`` each per scan, not a JSON parse).  Leaving a
        final state always journals a history entry, so the file grows: a changed
        record never looks unchanged.
        """
        if not self.jobs_dir.is_dir():
            return []
        records = []
        seen: dict[str, tuple[int, int, JobRecord]] = {}
        for entry in sorted(os.scandir(self.jobs_dir), key=lambda item: item.name):
            if not JOB_ID.fullmatch(entry.name):
                continue  # no job: not something this spool made, so nothing to deliver
            try:
                info = os.stat(os.path.join(entry.path, RECORD))
                cached = self._seen.get(entry.name)
                if cached is not None and cached[:2] == (info.st_mtime_ns, info.st_size):
                    record = cached[2]
                else:
                    record = self.get(entry.name)
                if record.state.final:
                    seen[entry.name] = (info.st_mtime_ns, info.st_size, record)
                records.append(record)
            except (JobNotFound, ValidationError, OSError) as exc:
                LOG.error("cannot read job %s: %s", entry.name, exc)
        self._seen = seen
        return records

    @contextlib.contextmanager
    def locked(self, job_id: str) -> Iterator[JobRecord]:
        """Hold the job's lock; yields the record as it is on disk now."""
        lock_path = self.path(job_id) / LOCK
        try:
            handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the block below
        except FileNotFoundError:
            raise JobNotFound(job_id) from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield self.get(job_id)
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def save(self, record: JobRecord, note: str = "") -> JobRecord:
        """Replace a job's record atomically; call while holding :meth:`locked`.

        A change of state (or a ``note``) is journaled in the record's history.
        """
        try:
            previous: JobRecord | None = self.get(record.job_id)
        except (JobNotFound, ValidationError, OSError):
            previous = None
        record = record.journaled(previous, note).model_copy(update={"updated": utc_now()})
        directory = self.path(record.job_id)
        temp = directory / f".{RECORD}.tmp"
        _write_durably(temp, record.model_dump_json(indent=2).encode())
        os.replace(temp, directory / RECORD)
        _fsync_dir(directory)
        return record

    def remove(self, job_id: str) -> None:
        """Delete a job: renamed out of ``jobs/`` first, so it never shows half-deleted."""
        with self.locked(job_id):
            doomed = self.tmp_dir / f"removed-{job_id}"
            os.rename(self.path(job_id), doomed)
            _fsync_dir(self.jobs_dir)
        shutil.rmtree(doomed, ignore_errors=True)

    def update(self, job_id: str, change: Callable[[JobRecord], JobRecord | None]) -> JobRecord:
        """Read, change and save a job under its lock; ``change`` may return None for no change."""
        with self.locked(job_id) as current:
            changed = change(current)
            return current if changed is None else self.save(changed)
