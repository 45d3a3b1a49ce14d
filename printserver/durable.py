"""Files that survive a crash: written, fsync'ed, renamed into place, directory fsync'ed.

A rename or a new name is on disk only once the directory holding it is
fsync'ed (fsync(2)), so every function here that adds a name also syncs its
directory, or leaves that to a caller that syncs the directory once for many files.
A leaf module: the spool and the sinks both write durably, and neither may
depend on the other.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
"""Films hold patient data: files written here are readable by their owner only."""


def private_open(path: Path) -> BinaryIO:
    """Create (or truncate) a file only its owner can read, whatever the umask.

    A symbolic link at ``path`` is refused rather than followed: a temporary name in
    a directory others may write to must not redirect the film elsewhere.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def fsync_dir(path: Path) -> None:
    """Make the names in ``path`` (new, renamed or removed) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Make a file's data durable, e.g. one hard-linked rather than written here."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes | memoryview) -> None:
    """Write a new private file and fsync its data; the caller syncs its directory."""
    with private_open(path) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def replace_durably(target: Path, write: Callable[[BinaryIO], object]) -> int:
    """Replace ``target`` with what ``write`` writes; returns the size in bytes.

    Written under a hidden temporary name beside the target, fsync'ed, renamed
    over it and the directory fsync'ed: after a crash there is the old file or
    the new one, never a torn one.  The temporary name is fixed per target, so a
    crash leaves at most one leftover, which the next write replaces.
    """
    temp = target.with_name(f".{target.name}.tmp")
    try:
        with private_open(temp) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            size = handle.tell()
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return size


def map_readonly(path: Path) -> mmap.mmap | None:
    """A file written here, mapped read-only (None when it is empty, which cannot be
    mapped): its pages are the page cache's, not the reader's heap."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return None
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
