"""The order index of a job (``objects/index.json``): typed and versioned, the first
release's format still read, an unknown version held with its reason, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from printserver.order.index import (
    INDEX_VERSION,
    OrderIndex,
    UnknownIndexVersion,
    UnreadableIndex,
)
from printserver.spool import operations
from printserver.spool.job import JobState
from printserver.spool.store import SpoolStore
from tests.ghostscript import render_gray16
from tests.print_client import PrintClient
from tests.server_harness import directory_config, start_in_process, wait_for_jobs

FILM_BOX = "1.2.840.10008.5.1.1.2"
FIRST_RELEASE_INDEX = [  # as the first release wrote it: the steps, then the action
    {
        "operation": "N-CREATE",
        "class": "1.2.840.10008.5.1.1.1",
        "instance": "1.2.3.1",
        "context": "1.2.840.10008.5.1.1.9",
        "file": "0001-n-create.dcm",
        "syntax": "1.2.840.10008.1.2",
        "children": [],
    },
    {
        "operation": "N-SET",
        "class": "1.2.840.10008.5.1.1.4",
        "instance": "1.2.3.3",
        "context": "1.2.840.10008.5.1.1.9",
        "file": "0002-n-set.dcm",
        "children": [],
    },
    {"operation": "N-ACTION", "class": FILM_BOX, "instance": "1.2.3.2"},
]


def _first_release(index: OrderIndex) -> bytes:
    """``index`` in the first release's format."""
    steps = [step.model_dump(by_alias=True) for step in index.steps]
    action = index.action.model_dump(by_alias=True)
    return json.dumps([*steps, action]).encode()


def test_the_first_release_s_index_reads() -> None:
    index = OrderIndex.load(json.dumps(FIRST_RELEASE_INDEX).encode())
    assert index.version == INDEX_VERSION and len(index.steps) == 2
    assert index.steps[0].class_uid == "1.2.840.10008.5.1.1.1"
    assert index.steps[1].syntax == "1.2.840.10008.1.2"  # the default it always had
    assert (index.action.class_uid, index.action.instance) == (FILM_BOX, "1.2.3.2")
    assert OrderIndex.load(index.dump()) == index  # and what this release writes reads back


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b'{"version": 99, "steps": [], "action": {}}', UnknownIndexVersion, "version 99"),
        (b'{"steps": []}', UnknownIndexVersion, "version None"),
        (b"not json", UnreadableIndex, "not JSON"),
        (b"[]", UnreadableIndex, "empty"),
        (b"42", UnreadableIndex, "neither a list nor an object"),
        (json.dumps([{"operation": "N-GET"}, {}]).encode(), UnreadableIndex, "malformed at"),
    ],
)
def test_an_index_that_is_not_one_this_release_reads_is_refused_with_its_reason(
    data: bytes, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        OrderIndex.load(data)


def test_jobs_of_the_first_release_and_of_an_unknown_version_in_one_spool(
    tmp_path: Path,
) -> None:
    """A job whose index the first release wrote renders as before; one from a newer
    release is held with its reason, its order kept; the server goes on printing."""
    running = start_in_process(directory_config(tmp_path))
    try:
        client = PrintClient(running.port)
        assert client.flat_film(1500).Status == 0
        client.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        store: SpoolStore = running.server.store
        index_file = store.path(job.job_id) / "objects" / "index.json"
        index = OrderIndex.load(index_file.read_bytes())
        old = store.path(job.job_id).parent.parent / "old-index.json"
        old.write_bytes(_first_release(index))
        old.rename(index_file)
        again = operations.reprint(store, job.job_id, order_only=True)
        newer = store.path(job.job_id).parent.parent / "newer-index.json"
        newer.write_bytes(index.model_copy(update={"version": INDEX_VERSION + 1}).dump())
        newer.rename(index_file)
        future = operations.reprint(store, job.job_id, order_only=True)
        running.server.renderer.wake()
        jobs = {r.job_id: r for r in wait_for_jobs(running.spool, 3, {"done", "held"})}
        client = PrintClient(running.port)
        assert client.flat_film(500).Status == 0  # the server is still printing
        client.release()
        wait_for_jobs(running.spool, 4, {"done", "held"})
    finally:
        running.server.stop()
    assert jobs[again.job_id].state is JobState.DONE
    first = render_gray16(store.document(job.job_id), 50)[0]
    assert np.array_equal(first, render_gray16(store.document(again.job_id), 50)[0])
    held = jobs[future.job_id]
    assert held.state is JobState.HELD and not store.has_document(held.job_id)
    assert held.last_error and f"index version {INDEX_VERSION + 1}" in held.last_error
    assert store.has_order(held.job_id)
