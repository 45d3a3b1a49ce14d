"""Film orders spooled at N-ACTION, rendered afterwards by a bounded pool: many clients at once
with one render worker, a kill -9 between the answer and the film, and render failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pynetdicom import sop_class

from printserver.order.index import OrderIndex
from printserver.sinks.directory import DirectorySink
from printserver.spool import operations
from printserver.spool.job import JobRequest, JobState
from printserver.spool.render_stage import RenderStage
from printserver.spool.store import SpoolStore
from tests.ghostscript import render_gray16
from tests.print_client import PrintClient, box_uids, output_files
from tests.server_harness import (
    ServerProcess,
    config_text,
    directory_config,
    free_port,
    run_cli,
    start_in_process,
    wait_for_jobs,
)

pytestmark = pytest.mark.integration
CLIENTS = 8
BITS = 4  # a client's number, one bit per image box of a STANDARD\2,2 film


def _coded_film(port: int, number: int, outcome: dict[int, Any], start: threading.Barrier) -> None:
    """A 2x2 film whose boxes spell ``number`` in binary: white for 1, black for 0."""
    client = PrintClient(port)
    try:
        _, session = client.session(FilmSessionLabel=f"CLIENT-{number}")
        _, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="8INX10IN")
        start.wait(30)  # every client sends its images and prints at the same moment
        for position, uid in enumerate(box_uids(reply), start=1):
            bit = number >> (BITS - position) & 1
            assert client.gray(uid, position, np.full((64, 64), 4095 * bit, np.uint16)).Status == 0
        status, _ = client.action(sop_class.BasicFilmBox, box)
        outcome[number] = int(status.Status)
    finally:
        client.release()


def _decoded(page: np.ndarray) -> int:
    """The number a 2x2 film spells: the centre of each quadrant, bright or dark."""
    height, width = page.shape
    number = 0
    for row in range(2):
        for column in range(2):
            centre = page[height * (2 * row + 1) // 4, width * (2 * column + 1) // 4]
            number = number << 1 | int(centre > 2048)
    return number


def test_eight_clients_at_once_with_one_render_worker(tmp_path: Path) -> None:
    config = directory_config(tmp_path, server_extra="render_workers = 1")
    assert config.server.render_workers == 1
    running = start_in_process(config)
    outcome: dict[int, Any] = {}
    start = threading.Barrier(CLIENTS)
    clients = [
        threading.Thread(target=_coded_film, args=(running.port, number, outcome, start))
        for number in range(1, CLIENTS + 1)
    ]
    try:
        for client in clients:
            client.start()
        for client in clients:
            client.join(120)
        assert outcome == {number: 0 for number in range(1, CLIENTS + 1)}
        jobs = wait_for_jobs(running.spool, CLIENTS, {"done"}, timeout=120)
        assert list((running.spool / "incoming").iterdir()) == []  # released: spilled images go
    finally:
        running.server.stop()
    store = SpoolStore(running.spool)
    films = {}
    for job in jobs:
        (page,) = render_gray16(store.document(job.job_id), 30)
        films[job.title] = _decoded(page)
        assert [entry.state for entry in job.history][:2] == [JobState.RENDERING, JobState.PENDING]
    assert films == {f"CLIENT-{number}": number for number in range(1, CLIENTS + 1)}


BIG = np.random.default_rng(7).integers(0, 4096, (2048, 2048), dtype=np.uint16)


def _big_films(port: int, count: int, outcome: dict[str, Any]) -> None:
    """``count`` 17x17 films of four 2048² images each, printed one after another."""
    client = PrintClient(port, called="FILM")
    _, session = client.session(FilmSessionLabel="BIG")
    statuses = []
    for _ in range(count):
        _, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="17INX17IN")
        for position, uid in enumerate(box_uids(reply), start=1):
            client.gray(uid, position, BIG)
        status, _ = client.action(sop_class.BasicFilmBox, box)
        statuses.append(int(status.Status))
    outcome["statuses"] = statuses
    client.release()


def test_kill_9_after_the_answer_and_before_the_film_prints_it_once(tmp_path: Path) -> None:
    output = tmp_path / "output"
    port = free_port()
    config = tmp_path / "printserver.toml"
    config.write_text(
        config_text(
            tmp_path / "spool", port, f'[[printers]]\nae_title = "FILM"\ndirectory = "{output}"\n'
        ).replace("[spool]\n", "render_workers = 1\n[spool]\n", 1)
    )
    server = ServerProcess(config, port, tmp_path, tmp_path / "server.log")
    server.start()
    try:
        outcome: dict[str, Any] = {}
        _big_films(server.port, 3, outcome)
        server.kill9()  # at once: the films were answered faster than one worker renders them
        assert outcome["statuses"] == [0, 0, 0]
        jobs = SpoolStore(tmp_path / "spool").list()
        assert len(jobs) == 3
        unrendered = [job for job in jobs if job.state is JobState.RENDERING]
        assert unrendered, [job.state for job in jobs]  # accepted, not yet rendered
        server.start()
        done = wait_for_jobs(tmp_path / "spool", 3, {"done"}, timeout=120)
        files = output_files(output, 3, timeout=60)
        time.sleep(1.0)
        assert len(list(output.glob("*.ps"))) == 3 == len(files)  # each exactly once
    finally:
        server.stop()
    store = SpoolStore(tmp_path / "spool")
    again = next(job for job in done if job.job_id == unrendered[-1].job_id)
    (page,) = render_gray16(store.document(again.job_id), 20)
    cell = page[75:95, 75:95].astype(np.float64)  # the middle of the first image box
    assert page.shape == (340, 340) and 0 < cell.mean() < 4095 and cell.std() > 0
    assert not list((store.path(again.job_id)).glob(".*.tmp"))


def test_an_order_that_no_longer_makes_a_film_fails_with_its_reason(tmp_path: Path) -> None:
    running = start_in_process(directory_config(tmp_path))
    try:
        client = PrintClient(running.port)
        assert client.flat_film(1000).Status == 0
        client.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        store = running.server.store
        index = store.path(job.job_id) / "objects" / "index.json"
        order = OrderIndex.load(index.read_bytes())
        broken = store.path(job.job_id).parent.parent / "broken-index.json"
        broken.write_bytes(order.model_copy(update={"steps": order.steps[:1]}).dump())  # no box
        index.unlink()
        broken.rename(index)
        again = operations.reprint(store, job.job_id, order_only=True)
        assert again.state is JobState.RENDERING
        running.server.renderer.wake()
        (failed,) = [
            record
            for record in wait_for_jobs(running.spool, 2, {"done", "failure"})
            if record.job_id == again.job_id
        ]
    finally:
        running.server.stop()
    assert failed.state is JobState.FAILURE and failed.state_info == "INVALID PAGE DES"
    assert failed.last_error and "does not make a film" in failed.last_error
    assert not store.has_document(failed.job_id) and store.has_order(failed.job_id)


def _order_job(store: SpoolStore) -> str:
    return store.create(
        JobRequest(printer="PRINTSERVER", title="ORDER"), attachments={"index.json": b"[]"}
    ).job_id


def test_operators_act_on_jobs_being_rendered(tmp_path: Path) -> None:
    """Hold, cancel and preview reach a job whose film is not made yet, and none is lost."""
    store = SpoolStore(tmp_path / "spool")
    store.open()
    stage = RenderStage(store, lambda record, order, out: out.write(b"%!PS\n") and None)
    held, canceled = _order_job(store), _order_job(store)
    assert operations.hold(store, held).state is JobState.HELD
    with pytest.raises(operations.OperationError, match="being rendered"):
        operations.move(
            store,
            canceled,
            "PRINTSERVER",
            {"PRINTSERVER": DirectorySink("PRINTSERVER", tmp_path / "out")},
        )
    operations.cancel(store, canceled, {})
    for job_id in (held, canceled):
        stage.render_job(store.get(job_id))
    assert store.get(held).state is JobState.HELD and store.get(held).document_bytes == 5
    assert store.get(canceled).state is JobState.CANCELED  # rendered, still canceled
    assert operations.release(store, held).state is JobState.PENDING
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, ""))
    waiting = _order_job(store)
    shown = run_cli(config, "queue", "preview", waiting, timeout=60)
    assert shown.returncode == 1, shown.stderr
    assert shown.stderr == f"printserver: job {waiting} has no film yet (rendering)\n"


def test_a_film_box_order_holds_that_film_box_only(tmp_path: Path) -> None:
    """A session printed box by box: each job replays its own box, not the earlier ones."""
    running = start_in_process(directory_config(tmp_path))
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        boxes = []
        for level in (0, 4095):
            _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
            flat = np.full((32, 32), level, np.uint16)
            assert client.gray(box_uids(reply)[0], 1, flat).Status == 0
            assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
            boxes.append(box)
        client.release()
        jobs = sorted(wait_for_jobs(running.spool, 2, {"done"}), key=lambda job: job.created)
    finally:
        running.server.stop()
    store = SpoolStore(running.spool)
    for job, box, bright in zip(jobs, boxes, (False, True), strict=True):
        order = OrderIndex.load((store.path(job.job_id) / "objects" / "index.json").read_bytes())
        instances = {step.instance for step in order.steps} | {order.action.instance}
        assert box in instances and not (set(boxes) - {box}) & instances
        (page,) = render_gray16(store.document(job.job_id), 20)
        assert bool(page[page.shape[0] // 2, page.shape[1] // 2] > 2048) is bright


def test_cores_are_shared_among_the_render_workers() -> None:
    from printserver.print_queue import page_threads

    assert [page_threads(2, 2), page_threads(1, 2), page_threads(4, 64), page_threads(64, 64)] == [
        2,
        2,
        16,
        2,
    ]


def test_a_film_that_is_not_our_postscript_previews_as_one_line(tmp_path: Path) -> None:
    store = SpoolStore(tmp_path / "spool")
    store.open()
    job = store.create(
        JobRequest(printer="PRINTSERVER"), lambda out: out.write(b"%!PS\nshowpage\n")
    )
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, ""))
    shown = run_cli(
        config, "queue", "preview", job.job_id, "-o", str(tmp_path / "film.png"), timeout=60
    )
    assert shown.returncode == 1 and shown.stderr.count("\n") == 1, shown.stderr
    assert shown.stderr.startswith(f"printserver: job {job.job_id}: ")
    assert "holds no page" in shown.stderr
