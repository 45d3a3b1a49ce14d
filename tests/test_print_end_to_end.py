"""Whole path: a real DICOM client → the SCP → spool → a private CUPS → PostScript on a socket.

The PostScript that comes out of the CUPS queue's device is rendered with Ghostscript and
compared with the raster the film should have, computed here from the test's own images.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from printserver.config import parse_config
from printserver.model.layout import parse_display_format
from printserver.render.compose import render_sheet
from printserver.render.density import model_drive
from printserver.render.geometry import PageGeometry
from printserver.render.sheet import CharacteristicCurve, FilmSheet, SheetImage, ToneScale
from printserver.spool.job import JobState
from printserver.spool.store import SpoolStore
from tests.ghostscript import render_gray16
from tests.scu import cell_images, connect, print_film
from tests.server_harness import (
    ServerProcess,
    config_text,
    free_port,
    machine_wide_port,
    start_in_process,
    wait_for_jobs,
    wait_for_port,
)

pytestmark = pytest.mark.integration

DPI = 320
MARGIN_MM, SPACING_MM = 4.0, 3.0


def _cups_printer(queue: Any) -> str:
    return f'[[printers]]\nae_title = "FILM"\ncups_queue = "{queue.queue}"\n'


def _cups_extra(queue: Any) -> str:
    return f'[cups]\nserver = "{queue.server}"\n'


def _cell_rects(width_px: int, height_px: int, columns: int, rows: int) -> list[tuple[int, ...]]:
    """Where each cell of STANDARD\\C,R must sit, from the documented geometry alone."""
    px = DPI / 25.4
    left = top = MARGIN_MM * px
    cell_w = (width_px - 2 * left) / columns
    cell_h = (height_px - 2 * top) / rows
    inset = SPACING_MM / 2 * px
    rects = []
    for r in range(rows):
        for c in range(columns):
            x0, y0 = left + c * cell_w + inset, top + r * cell_h + inset
            rects.append(
                (
                    round(x0),
                    round(y0),
                    round(x0 + cell_w - 2 * inset),
                    round(y0 + cell_h - 2 * inset),
                )
            )
    return rects


def _assert_images_in_cells(
    page: npt.NDArray[np.uint16], images: list[npt.NDArray[np.uint16]], columns: int, rows: int
) -> None:
    """Each image's mean level shows in the middle of its own cell; the border is black."""
    rects = _cell_rects(page.shape[1], page.shape[0], columns, rows)
    for (x0, y0, x1, y1), image in zip(rects, images, strict=True):
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        patch = page[cy - 20 : cy + 20, cx - 20 : cx + 20].astype(float)
        rows_, cols_ = image.shape
        centre = image[rows_ // 2 - 3 : rows_ // 2 + 3, cols_ // 2 - 3 : cols_ // 2 + 3]
        expected = model_drive(FILM_TONE, centre.astype(float)).mean()
        assert abs(patch.mean() - expected) < 60, (patch.mean(), expected)
    assert page[:5, :].max() == 0 and page[-5:, :].max() == 0  # margin at BLACK border


FILM_TONE = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
"""The built-in printer's defaults: Min/Max Density 20/320, light box 2000 cd/m², La 10."""


def _expected_page(images: list[npt.NDArray[np.uint16]], film: tuple[float, float]) -> Any:
    sheet = FilmSheet(
        page=PageGeometry(film[0], film[1], DPI, margin_mm=MARGIN_MM, spacing_mm=SPACING_MM),
        boxes=parse_display_format("STANDARD\\2,2"),
        images={
            i + 1: SheetImage(pixels=img, bits_stored=12, tone=FILM_TONE)
            for i, img in enumerate(images)
        },
        border=0,
        empty=0,
    )
    return render_sheet(sheet)


def _queue_list(config_path: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "printserver",
            "queue",
            "list",
            "--json",
            "--config",
            str(config_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    jobs: list[dict[str, Any]] = json.loads(result.stdout)
    return jobs


def test_pynetdicom_film_comes_out_of_cups_in_place(cups_queue: Any, tmp_path: Path) -> None:
    config_path = tmp_path / "printserver.toml"
    config_path.write_text(
        config_text(tmp_path / "spool", 0, _cups_printer(cups_queue), _cups_extra(cups_queue))
    )
    running = start_in_process(parse_config(config_path.read_text()))
    try:
        images = cell_images(300, 240)
        assoc = connect(running.port, "FILM", calling_ae="CT_CONSOLE")
        result = print_film(assoc, images, film_size="8INX10IN")
        assoc.release()
        assert set(result.statuses.values()) == {0}, (result.statuses, result.comments)
        (job_file,) = cups_queue.sink.wait_for(1, timeout=60)
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
    finally:
        running.server.stop()

    data = job_file.read_bytes()
    assert data.startswith(b"%!PS-Adobe-3.0") and b"%%LanguageLevel: 3" in data
    assert b"/BitsPerComponent 12" in data
    page = render_gray16(job_file, DPI)[0]
    expected = _expected_page(images, (203.2, 254.0))
    assert page.shape == expected.shape
    assert np.array_equal(page, expected), f"{np.count_nonzero(page != expected)} pixels differ"
    _assert_images_in_cells(page, images, 2, 2)

    listed = _queue_list(config_path)
    assert [(j["job_id"], j["state"], j["cups_job_id"], j["calling_ae"]) for j in listed] == [
        (job.job_id, "done", job.cups_job_id, "CT_CONSOLE")
    ]
    assert isinstance(job.cups_job_id, int) and job.cups_job_id > 0


def test_kill_9_while_cups_rejects_delivers_exactly_one_copy(
    cups_queue: Any, tmp_path: Path
) -> None:
    port = free_port()
    config_path = tmp_path / "printserver.toml"
    config_path.write_text(
        config_text(tmp_path / "spool", port, _cups_printer(cups_queue), _cups_extra(cups_queue))
    )
    server = ServerProcess(config_path, port, tmp_path, tmp_path / "server.log")
    cups_queue.cups.reject(cups_queue.queue)
    server.start()
    try:
        assoc = connect(port, "FILM")
        result = print_film(assoc, cell_images(64, 64), film_size="8INX10IN")
        assoc.release()
        assert result.statuses["print"] == 0
        store = SpoolStore(tmp_path / "spool")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (job,) = store.list()
            if job.attempts >= 2 and job.last_error:
                break
            time.sleep(0.1)
        assert job.state is JobState.PENDING and job.attempts >= 2, job
        server.kill9()
        cups_queue.cups.accept(cups_queue.queue)
        server.start()
        (done,) = wait_for_jobs(tmp_path / "spool", 1, {"done"}, timeout=60)
        assert done.job_id == job.job_id and done.cups_job_id is not None
        cups_queue.sink.wait_for(1, timeout=30)
        time.sleep(3)  # a duplicate, if any, would arrive within the retry interval
        assert len(cups_queue.sink.files()) == 1
    finally:
        server.stop()


def test_restart_adopts_a_delivered_job_and_resends_an_incomplete_one(
    cups_queue: Any, tmp_path: Path
) -> None:
    """A pending job with a saved CUPS id is looked at in CUPS before anything is sent again."""
    import cups

    config = parse_config(
        config_text(tmp_path / "spool", 0, _cups_printer(cups_queue), _cups_extra(cups_queue))
    )
    running = start_in_process(config)
    try:
        assoc = connect(running.port, "FILM")
        assert print_film(assoc, cell_images(64, 64), film_size="8INX10IN").statuses["print"] == 0
        assoc.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        cups_queue.sink.wait_for(1, timeout=30)
    finally:
        running.server.stop()
    store = SpoolStore(running.spool)
    # 1. as a kill -9 right after the document went to CUPS would leave it
    store.update(job.job_id, lambda r: r.model_copy(update={"state": JobState.PENDING}))
    # 2. as a kill -9 between creating the CUPS job and sending its document would leave it
    orphan = cups.Connection(host=cups_queue.server).createJob(cups_queue.queue, "orphan", {})
    second = store.create(
        job.model_copy(update={"film_session_uid": "2.25.2"}),
        lambda out: out.write(store.document(job.job_id).read_bytes()),
    )
    store.update(second.job_id, lambda r: r.model_copy(update={"cups_job_id": orphan}))
    running = start_in_process(config)
    try:
        jobs = {j.job_id: j for j in wait_for_jobs(running.spool, 2, {"done"})}
        assert jobs[job.job_id].cups_job_id == job.cups_job_id  # adopted, not sent again
        assert jobs[second.job_id].cups_job_id not in (None, orphan)  # sent once, afresh
        cups_queue.sink.wait_for(2, timeout=30)
        time.sleep(2)
        assert len(cups_queue.sink.files()) == 2
        state = cups.Connection(host=cups_queue.server).getJobAttributes(orphan)["job-state"]
        assert state == 7  # the empty job was canceled, never printed
    finally:
        running.server.stop()


def test_builtin_default_writes_postscript_that_ghostscript_renders(tmp_path: Path) -> None:
    with machine_wide_port(11112):  # the built-in default's port, wanted by other runs too
        wait_for_port_free(11112)
        server = ServerProcess(tmp_path / "none.toml", 11112, tmp_path, tmp_path / "server.log")
        server.start(args=[])
        try:
            assoc = connect(11112, "PRINTSERVER")
            images = cell_images(200, 200)
            assert set(print_film(assoc, images, film_size="8INX10IN").statuses.values()) == {0}
            assoc.release()
            wait_for_jobs(tmp_path / "spool", 1, {"done"})
        finally:
            server.stop()
    (output,) = (tmp_path / "spool" / "output").glob("*.ps")
    page = render_gray16(output, DPI)[0]
    assert np.array_equal(page, _expected_page(images, (203.2, 254.0)))


def wait_for_port_free(port: int) -> None:
    try:
        wait_for_port(port, timeout=0.2)
    except TimeoutError:
        return
    pytest.fail(f"port {port} is in use; the built-in default needs it free for this test")


def test_dcmtk_film_comes_out_of_cups_in_place(cups_queue: Any, tmp_path: Path) -> None:
    from tests.dcmtk import print_with_dcmtk, write_ct_like_image

    assert shutil.which("dcmprscu"), "DCMTK must be installed (setup.sh installs it)"
    config = parse_config(
        config_text(tmp_path / "spool", 0, _cups_printer(cups_queue), _cups_extra(cups_queue))
    )
    running = start_in_process(config)
    try:
        work = tmp_path / "dcmtk"
        work.mkdir()
        levels = (400, 1400, 2400, 3400)
        files = [
            write_ct_like_image(work / f"img{i}.dcm", 256, 256, level=level)
            for i, level in enumerate(levels)
        ]
        result = print_with_dcmtk(work, files, "127.0.0.1", running.port, "FILM")
        assert not result.errors, result.log
        (job_file,) = cups_queue.sink.wait_for(1, timeout=60)
        wait_for_jobs(running.spool, 1, {"done"})
    finally:
        running.server.stop()
    data = job_file.read_bytes()
    assert data.startswith(b"%!PS-Adobe-3.0") and b"%%LanguageLevel: 3" in data
    page = render_gray16(job_file, DPI)[0]
    assert page.shape == (5440, 4480)  # 14INX17IN portrait at 320 dpi
    rects = _cell_rects(page.shape[1], page.shape[0], 2, 2)
    means = []
    for x0, y0, x1, y1 in rects:
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        means.append(float(page[cy - 20 : cy + 20, cx - 20 : cx + 20].mean()))
    # brighter input levels land brighter, in row-major cell order
    assert means == sorted(means) and means[-1] - means[0] > 1000, means
    assert page[:5, :].max() == 0
