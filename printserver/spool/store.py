"""Crash-safe job directories on disk.

Layout under the spool root::

    jobs/<job_id>/job.json   the record (replaced atomically on every change)
    jobs/<job_id>/film.ps    the PostScript document, once rendered
    jobs/<job_id>/lock       flock target serialising changes to one job
    jobs/<job_id>/objects/   the film order: what the client sent (opaque to the spool)
    tmp/                     jobs being written; never visible as jobs
    incoming/                data received for films not yet printed (linked into jobs)
    audit.log                one line per job an operator purged (append-only, fsync'ed)
    server.lock              flock held by the one server using the spool; holds its PID

A job is written completely under ``tmp/``, every file and directory is
fsync'ed, and only then renamed into ``jobs/``: after a crash a job either
exists whole or not at all, and one that exists was acknowledged to its
client.  A job spooled as an order gets its document later, written under a
temporary name and renamed the same way.  Record changes go through a temp
file, fsync and rename, under an flock, so the server and the operator's CLI
can change the same job safely.
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

from printserver.durable import (
    FILE_MODE,
    fsync_dir,
    fsync_file,
    map_readonly,
    private_open,
    replace_durably,
    write_durably,
)
from printserver.spool.job import JobInfo, JobRecord, JobRequest, JobState, utc_now

LOG = logging.getLogger(__name__)

RECORD = "job.json"
AUDIT_LOG = "audit.log"
DOCUMENT = "film.ps"
LOCK = "lock"
OBJECTS = "objects"
ORDER_INDEX = "index.json"
"""The file of ``objects/`` that makes it a film order the render stage can replay."""


JOB_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
"""The only job ids there are: UTC date and time, then three random bytes (``_new_id``)."""
JOB_ID_EXAMPLE = "20261122-194023-abd56b"


class JobNotFound(LookupError):
    """No job with that id in the spool."""


class SpoolLocked(Exception):
    """Another server holds the spool; the message names its PID when it could be read."""


SERVER_LOCK = "server.lock"


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


DIR_MODE = 0o700
"""Films hold patient data: directories are the server user's alone, as files are
(``printserver.durable.FILE_MODE``)."""


Attachment = bytes | memoryview | Path
"""An attachment's content, or the path of an identical file of another job to link."""


def _write_attachments(directory: Path, files: Mapping[str, Attachment]) -> None:
    directory.mkdir(mode=DIR_MODE)
    for name, data in files.items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"attachment name {name!r}")
        if isinstance(data, Path):
            os.link(data, directory / name)  # spool files are never changed once written
            fsync_file(directory / name)  # cheap when it is durable already
        else:
            write_durably(directory / name, data)
    fsync_dir(directory)


def _mapped(path: Path) -> memoryview:
    mapping = map_readonly(path)
    return memoryview(b"") if mapping is None else memoryview(mapping)


def _initial(has_document: bool, hold: str | None) -> tuple[JobState, JobInfo]:
    """Where a new job starts: rendering its order, or with its document pending, or held
    for a film the printer has not loaded (``hold`` says which)."""
    if not has_document:
        return JobState.RENDERING, JobInfo.QUEUED
    if hold is not None:
        return JobState.HELD, JobInfo.REQ_MED_NOT_INST
    return JobState.PENDING, JobInfo.QUEUED


class SpoolStore:
    """Job directories under one spool root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs_dir = root / "jobs"
        self.tmp_dir = root / "tmp"
        self.incoming_dir = root / "incoming"
        self._seen: dict[str, tuple[int, int, JobRecord]] = {}  # id -> mtime, size, record
        self._server_lock: int | None = None  # fd of SERVER_LOCK while this process serves
        self._observers: list[Callable[[str], None]] = []

    def observe(self, saved: Callable[[str], None]) -> None:
        """Call ``saved(job_id)`` after each job record this store object saves (from the
        saving thread: it must be quick).  Another process's saves are not seen."""
        self._observers.append(saved)

    def open(self) -> None:
        """Create the directories and drop half-written jobs left by a crash."""
        for directory in (self.root, self.jobs_dir, self.tmp_dir, self.incoming_dir):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, DIR_MODE)
        for leftover in self.tmp_dir.iterdir():
            LOG.warning("removing unfinished job %s left by an earlier crash", leftover.name)
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.incoming_dir.iterdir():  # never printed: no client was answered
            shutil.rmtree(leftover, ignore_errors=True)

    def lock_server(self) -> None:
        """Claim the spool for this process's server, until :meth:`unlock_server` or exit.

        Two servers on one spool would clean up each other's half-written jobs and deliver
        the same job twice; the second one is refused with :class:`SpoolLocked`.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / SERVER_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f" (PID {holder})" if holder.isdigit() else ""
            raise SpoolLocked(f"spool {self.root} is in use by another server{pid}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._server_lock = fd

    def unlock_server(self) -> None:
        """Give the spool up (the lock file stays; its PID is stale until the next server)."""
        if self._server_lock is not None:
            os.close(self._server_lock)
            self._server_lock = None

    def incoming(self) -> Path:
        """A new private directory for data on its way into jobs (an association's images),
        on the spool's filesystem so that a job can link its files; gone at the next start."""
        path = self.incoming_dir / secrets.token_hex(8)
        path.mkdir(mode=DIR_MODE, parents=True)
        return path

    def has_room(self, min_free_bytes: int) -> bool:
        """The disk-space guard (``[spool] min_free_mb``): below it, no new film is taken."""
        return self.free_bytes() >= min_free_bytes

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

    def create(
        self,
        request: JobRequest,
        write_document: Callable[[BinaryIO], object] | None = None,
        *,
        hold: str | None = None,
        note: str = "spooled",
        attachments: Mapping[str, Attachment] | None = None,
        actor: str = "",
    ) -> JobRecord:
        """Write a new job; returns only once it is durable on disk.

        With ``write_document`` the job is pending (or held, with ``hold`` as the
        reason).  Without it the job is ``rendering``: ``attachments`` are its order
        (opaque files kept in ``objects/``), from which the render stage writes the
        document later (:meth:`write_document`).  An attachment given as a path is
        hard-linked from another job, not copied.
        """
        job_id = self._new_id()
        staging = self.tmp_dir / job_id
        staging.mkdir(parents=True, mode=DIR_MODE)
        os.chmod(staging, DIR_MODE)
        try:
            size = (
                0 if write_document is None else replace_durably(staging / DOCUMENT, write_document)
            )
            if attachments:
                _write_attachments(staging / OBJECTS, attachments)
            state, info = _initial(write_document is not None, hold)
            now = utc_now()
            fields = request.model_dump(include=set(JobRequest.model_fields))
            record = JobRecord(
                **fields,
                job_id=job_id,
                created=now,
                updated=now,
                document_bytes=size,
                state=state,
                state_info=info,
                last_error=hold if state is JobState.HELD else None,
            ).journaled(None, note, actor)
            write_durably(staging / RECORD, record.model_dump_json(indent=2).encode())
            private_open(staging / LOCK).close()
            fsync_dir(staging)
            os.rename(staging, self.jobs_dir / job_id)
            fsync_dir(self.jobs_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        LOG.info(
            "spooled job %s for printer %s (%s)",
            job_id,
            request.printer,
            f"{size} bytes" if write_document is not None else "to be rendered",
        )
        return record

    def write_document(self, job_id: str, write: Callable[[BinaryIO], object]) -> int:
        """Write (or replace) a job's document durably; returns its size in bytes.

        Written beside the job under a temporary name and renamed: a crash leaves
        either no document or a whole one, never a torn one.
        """
        return replace_durably(self.document(job_id), write)

    def has_document(self, job_id: str) -> bool:
        return self.document(job_id).is_file()

    def path(self, job_id: str) -> Path:
        return self.jobs_dir / check_job_id(job_id)

    def document(self, job_id: str) -> Path:
        return self.path(job_id) / DOCUMENT

    def has_order(self, job_id: str) -> bool:
        """True when the job kept the order it was made from (``objects/`` holds its index)."""
        return (self.path(job_id) / OBJECTS / ORDER_INDEX).is_file()

    def order_files(self, job_id: str) -> dict[str, Path]:
        """Paths of the files kept in ``objects/``, to link into a new job."""
        directory = self.path(job_id) / OBJECTS
        if not directory.is_dir():
            return {}
        return {path.name: path for path in sorted(directory.iterdir())}

    def attachments(self, job_id: str) -> dict[str, memoryview]:
        """The files kept with a job in ``objects/`` (empty for jobs without any), mapped
        read-only: a 30 MB order costs page cache, not the reader's heap."""
        return {name: _mapped(path) for name, path in self.order_files(job_id).items()}

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

    def save(self, record: JobRecord, note: str = "", actor: str = "") -> JobRecord:
        """Replace a job's record atomically; call while holding :meth:`locked`.

        A change of state (or a ``note``) is journaled in the record's history, with the
        operator (``actor``) who made it.
        """
        try:
            previous: JobRecord | None = self.get(record.job_id)
        except (JobNotFound, ValidationError, OSError):
            previous = None
        record = record.journaled(previous, note, actor).model_copy(update={"updated": utc_now()})
        data = record.model_dump_json(indent=2).encode()
        replace_durably(self.path(record.job_id) / RECORD, lambda out: out.write(data))
        for saved in self._observers:
            try:
                saved(record.job_id)
            except Exception:  # an observer's trouble must not fail the save
                LOG.exception("observer of job %s failed", record.job_id)
        return record

    def append_audit(self, line: str) -> None:
        """Append one line to ``audit.log`` and fsync it: what a removed job was survives
        the job (the history inside it does not)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / AUDIT_LOG
        new = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.write(fd, line.rstrip("\n").encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.root)

    def remove(self, job_id: str) -> None:
        """Delete a job: renamed out of ``jobs/`` first, so it never shows half-deleted."""
        with self.locked(job_id):
            doomed = self.tmp_dir / f"removed-{job_id}"
            os.rename(self.path(job_id), doomed)
            fsync_dir(self.jobs_dir)
        shutil.rmtree(doomed, ignore_errors=True)

    def update(self, job_id: str, change: Callable[[JobRecord], JobRecord | None]) -> JobRecord:
        """Read, change and save a job under its lock; ``change`` may return None for no change."""
        with self.locked(job_id) as current:
            changed = change(current)
            return current if changed is None else self.save(changed)
