"""What one peer may make the server build, hold or render, over real associations.

Box counts come from the Image Display Format text before a box is built; film
boxes, pages and copies have limits; an image is sized from its attributes
before its pixels are read; Pixel Data beyond the image never reaches the spool;
and receiving an image costs its size once, measured in a server process of its
own (VmHWM, reset with /proc/PID/clear_refs before each measurement).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import sop_class

from printserver.config import parse_config
from printserver.spool.operations import reprint
from printserver.spool.store import SpoolStore
from tests.hostile_peer import peak_rss_kb, rss_kb
from tests.print_client import PrintClient, box_uids, reference
from tests.scu import image_item
from tests.server_harness import (
    InProcessServer,
    ServerProcess,
    config_text,
    free_port,
    start_in_process,
    wait_for_jobs,
)

pytestmark = pytest.mark.integration
SMALL = np.full((16, 16), 2000, np.uint16)
MIB = 1 << 20


def _printers(output: Path) -> str:
    return (
        f'[[printers]]\nae_title = "PRINTSERVER"\ndirectory = "{output}"\n'
        f'[[printers]]\nae_title = "STRICT"\ndirectory = "{output}"\nstrict = true\n'
    )


def _in_process(tmp_path: Path, limits: str = "") -> InProcessServer:
    """A lenient printer (the server's own AE title) and a strict one called STRICT."""
    text = config_text(tmp_path / "spool", 0, _printers(tmp_path / "output"), limits)
    return start_in_process(parse_config(text))


def _process(tmp_path: Path) -> ServerProcess:
    port = free_port()
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", port, _printers(tmp_path / "output")))
    return ServerProcess(config, port, tmp_path, tmp_path / "server.log")


def _pid(server: ServerProcess) -> int:
    assert server.process is not None
    return server.process.pid


def _new_peak(pid: int) -> int:
    """Start the process's VmHWM afresh from its present size (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return peak_rss_kb(pid)


def _settled_rss_kb(pid: int, below: float, timeout: float = 2.0) -> int:
    """The server's RSS once it is below ``below``, or after ``timeout``: the response is
    written as soon as it is queued, while the thread that handled the request may still be
    returning through pynetdicom's frames, which hold the request until they return."""
    deadline = time.monotonic() + timeout
    while (rss := rss_kb(pid)) >= below and time.monotonic() < deadline:
        time.sleep(0.02)
    return rss


def _warm_up(port: int) -> None:
    """One small film, so that what is measured afterwards is not the first import."""
    client = PrintClient(port)
    assert client.flat_film(1000).Status == 0
    client.release()


def _film_box(client: PrintClient, session: str, display_format: str) -> Dataset:
    """A Film Box N-CREATE answered with its whole status, Error Comment included."""
    ds = Dataset()
    ds.ImageDisplayFormat = display_format
    ds.ReferencedFilmSessionSequence = [reference(sop_class.BasicFilmSession, session)]
    status, _ = client.assoc.send_n_create(
        ds, sop_class.BasicFilmBox, generate_uid(), meta_uid=client.meta, msg_id=client.msg()
    )
    return status


ABSURD_FORMATS = (
    "STANDARD\\1000,1000",  # first: unfixed, this one costs 2 s and 200 MB, not the host
    "STANDARD\\65535,65535",
    "ROW\\" + ",".join(["1"] * 100_000),
    "COL\\" + ",".join(["1"] * 101),
    "STANDARD\\-1,2",
    "STANDARD\\99999999999999999999,1",
)


@pytest.mark.timed
def test_box_counts_are_refused_from_the_text_before_any_box_is_built(tmp_path: Path) -> None:
    server = _process(tmp_path)
    server.start()
    try:
        _warm_up(server.port)
        client = PrintClient(server.port)
        _, session = client.session()
        start = _new_peak(_pid(server))
        for display_format in ABSURD_FORMATS:
            began = time.monotonic()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom's own note on an ST over 1024 chars
                status = _film_box(client, session, display_format)
            elapsed = time.monotonic() - began
            assert status.Status == 0x0106 and elapsed < 1.0, (display_format[:24], elapsed)
            assert "Image Display Format" in status.ErrorComment
        grown = peak_rss_kb(_pid(server)) - start
        assert grown < 16 * 1024, f"{grown} kB"
        assert _film_box(client, session, "STANDARD\\10,10").Status == 0  # the limit itself
        client.release()
    finally:
        server.stop()


@pytest.mark.timed
def test_film_boxes_pages_and_copies_have_limits(tmp_path: Path) -> None:
    running = _in_process(
        tmp_path,
        "[limits]\nmax_film_boxes_per_session = 3\nmax_pages_per_job = 2\nmax_copies = 5\n",
    )
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        boxes = []
        for _ in range(3):
            status, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
            assert status == 0 and client.gray(box_uids(reply)[0], 1, SMALL).Status == 0
            boxes.append(box)
        refused = _film_box(client, session, "STANDARD\\1,1")
        assert refused.Status == 0x0213 and "3 Film Boxes" in refused.ErrorComment
        began = time.monotonic()
        status, _ = client.action(sop_class.BasicFilmSession, session)
        assert status.Status == 0x0213 and "at most 2" in status.ErrorComment
        assert time.monotonic() - began < 1.0
        assert SpoolStore(running.spool).list() == []  # nothing rendered, nothing spooled
        assert client.delete(sop_class.BasicFilmBox, boxes[0]).Status == 0
        copies = Dataset()
        copies.NumberOfCopies = "7"
        assert client.set(sop_class.BasicFilmSession, session, copies).Status == 0x0116
        assert client.action(sop_class.BasicFilmSession, session)[0].Status == 0
        client.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        assert (job.pages, job.copies) == (2, 5)  # the lenient printer prints the limit

        strict = PrintClient(running.port, called="STRICT")
        status, _ = strict.session(NumberOfCopies="7")
        assert status == 0x0106
        assert strict.session(NumberOfCopies="5")[0] == 0
        strict.release()
    finally:
        running.server.stop()


def _objects_bytes(spool: Path, job_id: str) -> int:
    return sum(path.stat().st_size for path in (spool / "jobs" / job_id / "objects").iterdir())


def test_pixel_data_longer_than_the_image_never_reaches_the_spool(tmp_path: Path) -> None:
    running = _in_process(tmp_path)
    image = np.random.default_rng(5).integers(0, 4096, (512, 512), dtype=np.uint16)
    padded = image_item(image)
    padded.PixelData = padded.PixelData + b"\x5a" * (64 * MIB)
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
        assert client.set_image(box_uids(reply)[0], 1, padded).Status == 0x0116
        assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
        odd = image_item(np.arange(15, dtype=np.uint16).reshape(3, 5), bits=8)  # 15 bytes + pad
        _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
        assert client.set_image(box_uids(reply)[0], 1, odd).Status == 0
        client.release()

        strict = PrintClient(running.port, called="STRICT")
        _, session = strict.session()
        _, _, reply = strict.film_box(session, FilmSizeID="8INX10IN")
        refused = strict.set_image(box_uids(reply)[0], 1, padded)
        assert refused.Status == 0x0106 and "bytes more than the image" in refused.ErrorComment
        assert strict.set_image(box_uids(reply)[0], 1, odd).Status == 0  # padding is no excess
        strict.release()

        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        kept = _objects_bytes(running.spool, job.job_id)
        assert image.nbytes < kept < image.nbytes + 64 * 1024, kept
        again = reprint(running.server.store, job.job_id, order_only=True)
        jobs = wait_for_jobs(running.spool, 2, {"done"})  # the kept objects, without the
        assert {job.job_id for job in jobs} >= {again.job_id}  # excess, make the film again
    finally:
        running.server.stop()


def _declared(rows: int, columns: int, pixel_data: bytes) -> Dataset:
    """A grayscale item whose attributes describe more pixels than it carries."""
    item = image_item(np.zeros((1, 4), np.uint16))
    item.Rows, item.Columns, item.PixelData = rows, columns, pixel_data
    return item


def test_image_bytes_are_limited_before_the_pixels_are_read(tmp_path: Path) -> None:
    running = _in_process(
        tmp_path, f"[limits]\nmax_image_bytes = {MIB}\nmax_association_image_bytes = {MIB}\n"
    )
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        _, _, reply = client.film_box(session, "STANDARD\\2,1", FilmSizeID="14INX17IN")
        first, second = box_uids(reply)
        refused = client.set_image(first, 1, _declared(4096, 4096, bytes(8)))
        assert refused.Status == 0xC605  # sized from Rows and Columns, not from its 8 bytes
        assert refused.ErrorComment == f"image of {2 * 4096**2} bytes is over the limit of {MIB}"
        assert client.gray(first, 1, np.zeros((512, 512), np.uint16)).Status == 0
        big = np.zeros((600, 600), np.uint16)
        refused = client.gray(second, 2, big)  # 720000 + 524288 bytes at once
        assert refused.Status == 0xC605 and "at most 1048576 at once" in refused.ErrorComment
        assert client.gray(first, 1, SMALL).Status == 0  # the replaced image no longer counts
        assert client.gray(second, 2, big).Status == 0
        client.release()
    finally:
        running.server.stop()


def test_an_image_costs_memory_only_while_its_n_set_is_handled(tmp_path: Path) -> None:
    """A 7000² 16-bit image (98 MB): once 4.2× its size at the peak and 2.2× kept; now the
    received buffer and the pages of its spilled copy read by the N-SET, then nothing."""
    server = _process(tmp_path)
    server.start()
    try:
        _warm_up(server.port)
        image = np.random.default_rng(7).integers(0, 4096, (7000, 7000), dtype=np.uint16)
        item = image_item(image)
        size_kb = image.nbytes // 1024
        client = PrintClient(server.port)
        _, session = client.session()
        _, _, reply = client.film_box(session, FilmSizeID="14INX17IN")
        (box,) = box_uids(reply)
        pid = _pid(server)
        start = _new_peak(pid)
        assert client.set_image(box, 1, item).Status == 0
        kept = _settled_rss_kb(pid, start + 0.6 * size_kb) - start
        peak = peak_rss_kb(pid) - start
        assert peak < 2.5 * size_kb and kept < 0.6 * size_kb, (peak, kept, size_kb)
        spilled = list((tmp_path / "spool" / "incoming").glob("*/*.dcm"))
        assert [path.stat().st_size > image.nbytes for path in spilled] == [True]
        # the same box again: the first image goes from the model, the transcript and the disk
        assert client.set_image(box, 1, item).Status == 0
        kept = _settled_rss_kb(pid, start + 0.6 * size_kb) - start
        assert kept < 0.6 * size_kb, (kept, size_kb)  # holding the image would be 1.0
        assert len(list((tmp_path / "spool" / "incoming").glob("*/*.dcm"))) == 1
        client.release()
    finally:
        server.stop()


@pytest.mark.timed
def test_an_image_box_n_set_of_countless_tiny_elements_is_refused(tmp_path: Path) -> None:
    """20 000 one-byte private elements beside an image: 0x0213, not a pydicom decode of them."""
    running = _in_process(tmp_path)
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        _, film_box, reply = client.film_box(session)
        ds = Dataset()
        ds.ImageBoxPosition = 1
        ds.BasicGrayscaleImageSequence = [image_item(np.full((32, 32), 500, np.uint16))]
        for index in range(20_000):
            group, element = 0x0009 + 2 * (index // 0xF000), 0x1000 + index % 0xF000
            ds.add_new((group, element), "OB", b"\x00")
        started = time.monotonic()
        status = client.set(sop_class.BasicGrayscaleImageBox, box_uids(reply)[0], ds)
        assert status.Status == 0x0213, status
        assert time.monotonic() - started < 5.0
        assert client.gray(box_uids(reply)[0], 1, np.full((32, 32), 500, np.uint16)).Status == 0
        assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0
        client.release()
    finally:
        running.server.stop()


def test_films_one_association_may_queue_are_limited(tmp_path: Path) -> None:
    running = _in_process(tmp_path, "[limits]\nmax_jobs_per_association = 2\n")
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        _, box, reply = client.film_box(session)
        assert client.gray(box_uids(reply)[0], 1, SMALL).Status == 0
        statuses = [client.action(sop_class.BasicFilmBox, box)[0] for _ in range(3)]
        assert [int(status.Status) for status in statuses] == [0, 0, 0xC602]
        assert "queued 2 films, the limit" in statuses[2].ErrorComment
        assert int(client.action(sop_class.BasicFilmSession, session)[0].Status) == 0xC601
        client.release()
        again = PrintClient(running.port)  # the limit is per association
        assert again.flat_film(500).Status == 0
        again.release()
        assert len(wait_for_jobs(running.spool, 3, {"done"})) == 3
    finally:
        running.server.stop()


def test_refused_and_deleted_images_leave_no_file(tmp_path: Path) -> None:
    running = _in_process(tmp_path)
    incoming = running.spool / "incoming"
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        _, box, reply = client.film_box(session, "STANDARD\\2,1")
        first, _ = box_uids(reply)
        refused = client.gray(first, 2, SMALL)  # not this box's position: refused after it
        assert refused.Status == 0x0106  # was admitted and stored
        assert list(incoming.glob("*/*.dcm")) == []
        assert client.gray(first, 1, SMALL).Status == 0
        assert len(list(incoming.glob("*/*.dcm"))) == 1
        assert client.delete(sop_class.BasicFilmBox, box).Status == 0
        assert list(incoming.glob("*/*.dcm")) == []
        client.release()
    finally:
        running.server.stop()
