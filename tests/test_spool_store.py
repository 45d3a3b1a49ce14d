"""The spool's job directories: atomic creation, locked updates, crash leftovers."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from printserver.spool.job import JobRecord, JobRequest, JobState
from printserver.spool.store import JobNotFound, SpoolStore


def _store(tmp_path: Path) -> SpoolStore:
    store = SpoolStore(tmp_path / "spool")
    store.open()
    return store


def test_create_writes_record_and_document(tmp_path: Path) -> None:
    store = _store(tmp_path)
    record = store.create(
        JobRequest(
            printer="FILM",
            calling_ae="CT1",
            film_session_uid="1.2.3",
            film_box_uids=("1.2.3.4",),
            pages=1,
        ),
        lambda out: out.write(b"%!PS-Adobe-3.0\n"),
    )
    assert record.state is JobState.PENDING and record.document_bytes == 15
    again = store.get(record.job_id)
    assert again == record
    assert store.document(record.job_id).read_bytes() == b"%!PS-Adobe-3.0\n"
    assert [job.job_id for job in store.list()] == [record.job_id]
    assert list(store.tmp_dir.iterdir()) == []


def test_failed_write_leaves_no_job(tmp_path: Path) -> None:
    store = _store(tmp_path)

    def broken(out: BinaryIO) -> None:
        out.write(b"half a page")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        store.create(JobRequest(printer="FILM"), broken)
    assert store.list() == []
    assert list(store.tmp_dir.iterdir()) == []


def test_unfinished_staging_is_dropped_on_open(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (store.tmp_dir / "20260101-000000-abcdef").mkdir()
    (store.tmp_dir / "20260101-000000-abcdef" / "film.ps").write_bytes(b"partial")
    store.open()
    assert list(store.tmp_dir.iterdir()) == []
    assert store.list() == []


def test_update_is_locked_read_modify_write(tmp_path: Path) -> None:
    store = _store(tmp_path)
    record = store.create(JobRequest(printer="FILM"), lambda out: None)

    def bump(job: JobRecord) -> JobRecord:
        return job.model_copy(
            update={"attempts": job.attempts + 1, "state": JobState.PRINTING, "cups_job_id": 7}
        )

    store.update(record.job_id, bump)
    stored = store.update(record.job_id, bump)
    assert (stored.attempts, stored.state, stored.cups_job_id) == (2, JobState.PRINTING, 7)
    assert store.get(record.job_id) == stored
    assert stored.updated >= record.updated
    assert not list(store.path(record.job_id).glob(".*.tmp"))


def test_unknown_job(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(JobNotFound):
        store.get("nope")
    with pytest.raises(JobNotFound), store.locked("../etc"):
        pass
