"""A printer that is a DICOM imager: the film order goes on to it as the modality sent it.

The imager is a second print server over loopback, printing into a directory, so what
arrives there is checked the way every film is: its stored data sets and its PostScript,
through Ghostscript.  A pynetdicom SCP that never answers N-ACTION stands for an imager
that fails at the worst moment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt, sop_class

from printserver.config import Config, ConfigError, DicomPrinterConfig, parse_config
from printserver.model.layout import parse_display_format
from printserver.net.imager import DicomSink
from printserver.order.index import OrderIndex
from printserver.order.received import receive
from printserver.postscript.reader import iter_samples
from printserver.printer_report import cups_job, destination, printer_reports
from printserver.render.compose import render_sheet
from printserver.render.geometry import PageGeometry
from printserver.render.sheet import FilmSheet, SheetImage
from printserver.sinks.base import StatusWatch
from printserver.spool import operations
from printserver.spool.job import JobRecord, JobState
from printserver.spool.store import SpoolStore
from tests.cups_harness import CupsQueue
from tests.dcmtk import in_network_namespace
from tests.fault_relay import FaultRelay
from tests.ghostscript import render_gray16, render_rgb8
from tests.imager_namespace import ramps
from tests.print_client import PrintClient, box_uids, color_item
from tests.server_harness import (
    InProcessServer,
    ServerProcess,
    config_text,
    directory_config,
    free_port,
    run_cli,
    start_in_process,
    wait_for_jobs,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent
IMAGER = "IMAGER"


def _forwarding_text(
    tmp_path: Path, port: int, timeout: float = 10.0, extra: str = "", dicom: str = ""
) -> str:
    printer = (
        f'[[printers]]\nae_title = "PRINTSERVER"\n{extra}\n[printers.dicom]\nhost = "127.0.0.1"\n'
        f'port = {port}\ncalled_ae = "{IMAGER}"\ntimeout = {timeout}\nconnect_timeout = 2\n'
        f"{dicom}\n"
    )
    return config_text(tmp_path / "spool", 0, printer)


def _forwarding(
    tmp_path: Path, port: int, timeout: float = 10.0, extra: str = "", dicom: str = ""
) -> Config:
    return parse_config(_forwarding_text(tmp_path, port, timeout, extra, dicom))


def _imager(tmp_path: Path, port: int = 0, extra: str = "") -> InProcessServer:
    config = directory_config(tmp_path / "imager", extra, ae_title=IMAGER)
    server = config.server.model_copy(update={"port": port})
    return start_in_process(config.model_copy(update={"server": server}))


def _ramps() -> list[np.ndarray]:
    """Four 12-bit images, each its own ramp, so a box out of place shows."""
    base = np.arange(96 * 96, dtype=np.int64).reshape(96, 96) * 4095 // (96 * 96 - 1)
    return [((base + shift) % 4096).astype(np.uint16) for shift in (0, 1024, 2048, 3072)]


def _print_2x2(port: int, images: list[np.ndarray]) -> None:
    client = PrintClient(port)
    _, session = client.session(FilmSessionLabel="FORWARDED", MediumType="BLUE FILM")
    status, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="8INX10IN")
    assert status == 0
    for position, (uid, image) in enumerate(zip(box_uids(reply), images, strict=True), 1):
        assert client.gray(uid, position, image).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()


def test_a_film_goes_on_to_the_imager_as_the_modality_sent_it(tmp_path: Path) -> None:
    imager = _imager(tmp_path)
    ours = start_in_process(_forwarding(tmp_path, imager.port))
    images = _ramps()
    try:
        assert destination(ours.config.printers[0], ours.config) == (
            f"dicom://{IMAGER}@127.0.0.1:{imager.port}"
        )
        _print_2x2(ours.port, images)
        (sent,) = wait_for_jobs(ours.config.spool.directory, 1, {"done"})
        (arrived,) = wait_for_jobs(imager.config.spool.directory, 1, {"done"})
    finally:
        ours.server.stop()
        imager.server.stop()
    assert arrived.calling_ae == "PRINTSERVER" and arrived.title == "FORWARDED"
    store = SpoolStore(imager.config.spool.directory)
    index = OrderIndex.load((store.path(arrived.job_id) / "objects" / "index.json").read_bytes())
    sets = [step for step in index.steps if step.operation == "N-SET"]
    assert len(sets) == 4
    for step, image in zip(sets, images, strict=True):  # 12 bits kept, each in its box
        data = (store.path(arrived.job_id) / "objects" / step.file).read_bytes()
        received = receive(data, step.syntax)
        item = received.dataset.BasicGrayscaleImageSequence[0]
        assert (item.BitsStored, item.Rows, item.Columns) == (12, 96, 96)
        stored = received.pixel_data("BasicGrayscaleImageSequence")
        assert stored is not None
        pixels = np.frombuffer(stored, "<u2").reshape(96, 96)
        assert np.array_equal(pixels, image)
    pages = [
        render_gray16(SpoolStore(server.config.spool.directory).document(job.job_id), 60)[0]
        for server, job in ((ours, sent), (imager, arrived))
    ]
    assert np.array_equal(pages[0], pages[1])  # the imager printed the film we would have


def test_the_site_maps_film_sizes_and_media_to_the_imagers_own(tmp_path: Path) -> None:
    """``film_sizes`` and ``media`` of ``[printers.dicom]``: what modalities ask for goes to
    the imager as the site's mapping says; what the mapping does not name goes as it came."""
    imager = _imager(tmp_path)
    mapping = 'film_sizes = { "8INX10IN" = "10INX12IN" }\nmedia = { "BLUE FILM" = "CLEAR FILM" }'
    ours = start_in_process(_forwarding(tmp_path, imager.port, dicom=mapping))
    try:
        _print_2x2(ours.port, _ramps())
        (arrived,) = wait_for_jobs(imager.config.spool.directory, 1, {"done"})
    finally:
        ours.server.stop()
        imager.server.stop()
    assert (arrived.film_size, arrived.medium_type) == ("10INX12IN", "CLEAR FILM")
    with pytest.raises(ConfigError, match=r"dicom\.film_sizes"):
        _forwarding(tmp_path, 104, dicom='film_sizes = { "8INX10IN" = "ten by twelve" }')


def test_the_imagers_own_configuration_is_set_beside_what_is_offered(tmp_path: Path) -> None:
    """``printserver printers --imagers`` asks the imager's Printer Configuration Retrieval:
    it lists the imager's film sizes and media, and names what this printer offers that the
    imager does not list, after the site's mapping (exit 1); an imager down is one line."""
    imager = _imager(
        tmp_path,
        extra='film_sizes = ["8INX10IN", "14INX17IN"]\nmedium_types = ["BLUE FILM", "PAPER"]\n'
        'default_film_size = "8INX10IN"\ndefault_medium = "BLUE FILM"',
    )
    offered = 'film_sizes = ["8INX10IN", "10INX12IN", "11INX14IN"]\ndefault_film_size = "8INX10IN"'
    mapping = 'film_sizes = { "10INX12IN" = "14INX17IN" }'
    path = tmp_path / "ours.toml"
    path.write_text(_forwarding_text(tmp_path, imager.port, extra=offered, dicom=mapping))
    try:
        asked = run_cli(path, "printers", "--imagers")
    finally:
        imager.server.stop()
    assert asked.returncode == 1, asked.stderr
    where = f"dicom://{IMAGER}@127.0.0.1:{imager.port}"
    first, second = asked.stdout.splitlines()
    assert (
        first == f"PRINTSERVER      {where}: film sizes 8INX10IN 14INX17IN; media BLUE FILM, PAPER"
    )
    assert second.startswith(f"PRINTSERVER      {where}: offered here, not listed by the imager: ")
    gaps = second.split(": offered here, not listed by the imager: ")[1].split("; ")
    assert "film size 11INX14IN" in gaps and "medium CLEAR FILM" in gaps
    assert not any(gap.startswith(("film size 8INX10IN", "film size 10INX12IN")) for gap in gaps)
    assert not any(gap in ("medium BLUE FILM", "medium PAPER") for gap in gaps)
    down = run_cli(path, "printers", "--imagers")  # the imager has stopped
    assert down.returncode == 1 and "did not accept an association" in down.stdout, down.stdout


def test_a_colour_film_goes_on_to_a_colour_imager(tmp_path: Path) -> None:
    imager = _imager(tmp_path, extra="color = true")
    ours = start_in_process(_forwarding(tmp_path, imager.port, extra="color = true"))
    sent, arrived = _colours_through(ours, imager)
    pages = [
        render_rgb8(SpoolStore(server.config.spool.directory).document(job.job_id), 60)[0]
        for server, job in ((ours, sent), (imager, arrived))
    ]
    assert np.array_equal(pages[0], pages[1])
    _assert_colours(pages[1])


COLOURS = [(255, 0, 0), (0, 200, 0), (0, 0, 255), (250, 250, 20)]


def _print_colours(port: int) -> None:
    """A colour film, STANDARD\\2,2, each box flat in one of :data:`COLOURS`."""
    client = PrintClient(port, color=True)
    _, session = client.session()
    status, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="8INX10IN")
    assert status == 0
    for position, (uid, colour) in enumerate(zip(box_uids(reply), COLOURS, strict=True), 1):
        rgb = np.empty((40, 50, 3), np.uint8)
        rgb[:] = colour
        assert client.set_image(uid, position, color_item(rgb)).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()


def _colours_through(ours: InProcessServer, imager: InProcessServer) -> tuple[JobRecord, JobRecord]:
    """The colour film printed to us and gone on to the imager: our job and the imager's;
    both servers stopped."""
    try:
        _print_colours(ours.port)
        (sent,) = wait_for_jobs(ours.config.spool.directory, 1, {"done"})
        (arrived,) = wait_for_jobs(imager.config.spool.directory, 1, {"done"})
    finally:
        ours.server.stop()
        imager.server.stop()
    return sent, arrived


def _assert_colours(page: np.ndarray) -> None:
    h, w = page.shape[:2]
    for index, colour in enumerate(COLOURS):
        row, col = divmod(index, 2)
        assert tuple(page[int(h * (0.25 + 0.5 * row)), int(w * (0.25 + 0.5 * col))]) == colour


def test_films_forwarded_to_an_imager_come_out_of_its_cups_device(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    """The whole chain: modality → us → a second print server as the imager → its CUPS
    queue → the device.  What the device gets is the film we would have printed."""
    printers = f'[[printers]]\nae_title = "{IMAGER}"\ncups_queue = "{cups_queue.queue}"\n'
    cups = f'[cups]\nserver = "{cups_queue.server}"\n'
    imager = start_in_process(
        parse_config(config_text(tmp_path / "imager" / "spool", 0, printers, cups))
    )
    ours = start_in_process(_forwarding(tmp_path, imager.port))
    try:
        _print_2x2(ours.port, _ramps())
        _print_colours(ours.port)
        sent = wait_for_jobs(ours.config.spool.directory, 2, {"done"}, timeout=60)
        wait_for_jobs(imager.config.spool.directory, 2, {"done"}, timeout=60)
        printed = cups_queue.sink.wait_for(2, timeout=60)
    finally:
        ours.server.stop()
        imager.server.stop()
    assert len(printed) == 2
    gray, colour = sorted(printed, key=lambda path: b"DeviceRGB" in path.read_bytes())
    assert b"/BitsPerComponent 12" in gray.read_bytes()
    ours_store = SpoolStore(ours.config.spool.directory)
    gray_job, colour_job = sorted(sent, key=lambda job: job.created)
    assert np.array_equal(
        render_gray16(gray, 60)[0], render_gray16(ours_store.document(gray_job.job_id), 60)[0]
    )
    page = render_rgb8(colour, 60)[0]
    assert np.array_equal(page, render_rgb8(ours_store.document(colour_job.job_id), 60)[0])
    _assert_colours(page)


def test_a_composed_colour_film_goes_to_the_imager_as_our_page(tmp_path: Path) -> None:
    """A colour page composed by us reaches a colour imager as the one RGB image of a
    STANDARD\\1,1 film box, byte for byte what our spooled film holds."""
    imager = _imager(tmp_path, extra="color = true")
    composed = _forwarding(tmp_path, imager.port, extra="color = true\ndpi = 60")
    dicom = composed.printers[0].dicom
    assert dicom is not None
    printer = composed.printers[0].model_copy(
        update={"dicom": dicom.model_copy(update={"mode": "composed"})}
    )
    ours = start_in_process(composed.model_copy(update={"printers": (printer,)}))
    sent, arrived = _colours_through(ours, imager)
    store = SpoolStore(imager.config.spool.directory)
    index = OrderIndex.load((store.path(arrived.job_id) / "objects" / "index.json").read_bytes())
    (box,) = [s for s in index.steps if s.class_uid == "1.2.840.10008.5.1.1.2"]
    box_set = receive((store.path(arrived.job_id) / "objects" / box.file).read_bytes(), box.syntax)
    assert box_set.dataset.ImageDisplayFormat == "STANDARD\\1,1"
    (image,) = [s for s in index.steps if s.operation == "N-SET"]
    received = receive(
        (store.path(arrived.job_id) / "objects" / image.file).read_bytes(), image.syntax
    )
    item = received.dataset.BasicColorImageSequence[0]
    pixels = received.pixel_data("BasicColorImageSequence")
    assert pixels is not None
    (page,) = iter_samples(SpoolStore(ours.config.spool.directory).document(sent.job_id))
    assert (item.Rows, item.Columns) == page.shape[:2]
    assert np.array_equal(np.frombuffer(pixels, np.uint8).reshape(page.shape), page)
    _assert_colours(page)


def test_our_job_follows_the_imagers_print_job_to_failure_or_done(tmp_path: Path) -> None:
    """The imager made a Print Job for each film (its N-ACTION reply references it): our job
    stays printing while the imager holds the film for want of its film size, fails when the
    imager's operator cancels it there, and is done once the imager prints the other."""
    imager = _imager(tmp_path, extra='loaded_film_sizes = ["14INX17IN"]')
    ours = start_in_process(_forwarding(tmp_path, imager.port))
    theirs = SpoolStore(imager.config.spool.directory)
    try:
        _print_2x2(ours.port, _ramps())
        _print_2x2(ours.port, _ramps())
        held = wait_for_jobs(imager.config.spool.directory, 2, {"held"})
        printing = wait_for_jobs(ours.config.spool.directory, 2, {"printing"})
        assert all(job.cups_job_id is not None for job in printing)
        first, second = sorted(held, key=lambda job: job.created)
        operations.cancel(theirs, first.job_id, {}, actor="imager operator")
        operations.release(theirs, second.job_id, actor="imager operator")
        ended = wait_for_jobs(ours.config.spool.directory, 2, {"failure", "done"}, timeout=60)
    finally:
        ours.server.stop()
        imager.server.stop()
    failed, done = sorted(ended, key=lambda job: job.created)
    assert failed.state is JobState.FAILURE and "print job failed" in (failed.reason or "")
    assert done.state is JobState.DONE
    assert theirs.get(second.job_id).state is JobState.DONE
    # the number kept for following the imager is ours: no CUPS job to show an operator
    assert done.cups_job_id is not None and cups_job(done, ours.config) == "-"


def test_an_imager_that_is_down_gets_the_film_once_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    ours = start_in_process(_forwarding(tmp_path, port))
    imager: InProcessServer | None = None
    try:
        _print_2x2(ours.port, _ramps())
        deadline = time.monotonic() + 30
        record = SpoolStore(ours.config.spool.directory).list()[0]
        while time.monotonic() < deadline and not record.last_error:
            time.sleep(0.2)
            record = SpoolStore(ours.config.spool.directory).list()[0]
        assert record.state is JobState.PENDING and "did not accept" in (record.last_error or "")
        status = ours.server.service.printer_status(ours.server.queue.printers["PRINTSERVER"])
        assert (status.status, status.info) == ("WARNING", "PRINTER DOWN")
        imager = _imager(tmp_path, port)
        (delivered,) = wait_for_jobs(ours.config.spool.directory, 1, {"done"}, timeout=60)
        time.sleep(1.5)  # a second delivery would have had its chance
        arrived = wait_for_jobs(imager.config.spool.directory, 1, {"done"})
    finally:
        ours.server.stop()
        if imager is not None:
            imager.server.stop()
    assert delivered.attempts >= 2 and len(arrived) == 1


@pytest.mark.filterwarnings("ignore:The value length")  # the fake imager's own oversized CS
def test_an_imagers_long_or_hostile_status_text_is_kept_short_and_as_data() -> None:
    """A Printer Status Info of 10 000 characters with terminal escapes: the printer's status
    keeps 64 of them, which the CLI, console and logs escape when they show them."""
    imager = SilentImager()
    imager.printer.PrinterStatus = "WARNING"
    imager.printer.PrinterStatusInfo = "\x1b[2J" + "FILM JAM " * 1200
    settings = DicomPrinterConfig(host="127.0.0.1", port=imager.port, called_ae=IMAGER)
    try:
        report = DicomSink("DRYSTAR", settings, "PRINTSERVER").status()
    finally:
        imager.server.shutdown()
    assert report.printer_status is not None
    current, info = report.printer_status
    assert current == "WARNING" and info.startswith("\x1b[2JFILM JAM") and len(info) == 64


class SilentImager:
    """A pynetdicom print SCP that takes everything and never answers N-ACTION: an imager
    failing at the worst moment."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.release = threading.Event()
        self.acted = threading.Event()
        self.port = free_port()
        ae = AE(ae_title=IMAGER)
        for uid in (sop_class.BasicGrayscalePrintManagementMeta, sop_class.BasicFilmSession):
            ae.add_supported_context(uid)
        handlers = [
            (evt.EVT_N_CREATE, self._create),
            (evt.EVT_N_SET, lambda event: (0x0000, None)),
            (evt.EVT_N_ACTION, self._action),
            (evt.EVT_N_DELETE, lambda event: 0x0000),
            (evt.EVT_N_GET, lambda event: (0x0000, self.printer)),
        ]
        self.printer = Dataset()
        """What its Printer N-GET answers."""
        self.server = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=handlers)

    def _create(self, event: evt.Event) -> tuple[int, Dataset]:
        reply = Dataset()
        if event.request.AffectedSOPClassUID == sop_class.BasicFilmBox:
            reply.ReferencedImageBoxSequence = [
                _reference(f"1.2.826.0.1.3680043.10.1.{n}") for n in range(1, 5)
            ]
        return 0x0000, reply

    def _action(self, event: evt.Event) -> tuple[int, None]:
        self.actions.append(str(event.request.RequestedSOPInstanceUID))
        self.acted.set()
        self.release.wait(60)  # longer than anyone waits
        return 0x0000, None

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


def test_an_n_action_without_an_answer_is_held_as_may_have_printed(tmp_path: Path) -> None:
    """Exactly once: the imager got the N-ACTION and never answered; the job is held for
    an operator and not sent again by itself."""
    imager = SilentImager()
    ours = start_in_process(_forwarding(tmp_path, imager.port, timeout=2.0))
    try:
        _print_2x2(ours.port, _ramps())
        (held,) = wait_for_jobs(ours.config.spool.directory, 1, {"held"}, timeout=30)
        time.sleep(3)  # the lane's next turns: nothing may be sent again
    finally:
        imager.stop()
        ours.server.stop()
    assert held.last_error is not None and "may have printed" in held.last_error
    assert len(imager.actions) == 1


def test_a_kill_9_while_the_imager_prints_holds_the_job_on_restart(tmp_path: Path) -> None:
    """Killed between the imager's N-ACTION and its answer, the server finds the job with
    its print request announced: held as "may have printed", never sent twice."""
    imager = SilentImager()
    port = free_port()
    config = tmp_path / "printserver.toml"
    text = _forwarding_text(tmp_path, imager.port, timeout=60.0)
    config.write_text(text.replace("port = 0\n", f"port = {port}\n", 1))
    ours = ServerProcess(config, port, tmp_path, tmp_path / "server.log")
    try:
        ours.start()
        _print_2x2(port, _ramps())
        assert imager.acted.wait(30), (tmp_path / "server.log").read_text()[-3000:]
        ours.kill9()
        ours.start()
        (held,) = wait_for_jobs(tmp_path / "spool", 1, {"held"}, timeout=30)
        time.sleep(3)
    finally:
        ours.stop()
        imager.stop()
    assert held.last_error is not None and "may have printed" in held.last_error
    assert len(imager.actions) == 1


def _reference(uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class.BasicGrayscaleImageBox
    item.ReferencedSOPInstanceUID = uid
    return item


def test_dcmprscp_as_the_imager_stores_what_the_modalities_sent(tmp_path: Path) -> None:
    """DCMTK's print SCP behind ours, in a network namespace of its own (it binds every
    interface): a pynetdicom film and a dcmprscu film reach it with the pixel values the
    modality sent, 12 bits kept, in their boxes and their layouts."""
    out = tmp_path / "imager.json"
    command = in_network_namespace([sys.executable, "-m", "tests.imager_namespace", str(out)])
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(out.read_text())
    assert answer["dcmprscu_errors"] == []
    assert [state for _, state, _ in answer["jobs"]] == ["done", "done"]
    films = {film["format"]: film["boxes"] for film in answer["stored"]}
    assert set(films) == {"STANDARD\\2,2", "STANDARD\\1,1"}
    assert {position: box["digest"] for position, box in films["STANDARD\\2,2"].items()} == (
        answer["sent"]
    )
    assert [box["digest"] for box in films["STANDARD\\1,1"].values()] == answer["dcmtk_sent"]
    assert all(box["bits"] == 12 for boxes in films.values() for box in boxes.values())


def test_a_composed_film_reaches_dcmprscp_as_our_page_in_p_values(tmp_path: Path) -> None:
    """``mode = "composed"``: dcmprscp stores one image in STANDARD\\1,1 whose pixels are our
    renderer's page before the density model (P-values, 12 bits), at the size we drew it."""
    out = tmp_path / "imager.json"
    command = in_network_namespace(
        [sys.executable, "-m", "tests.imager_namespace", str(out), "composed"]
    )
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(out.read_text())
    assert [state for _, state, _ in answer["jobs"]] == ["done"], answer["jobs"]
    (film,) = answer["stored"]
    assert film["format"] == "STANDARD\\1,1"
    (box,) = film["boxes"].values()
    page = PageGeometry(203.2, 254.0, 100, margin_mm=4.0, spacing_mm=3.0)  # 8INX10IN, 100 dpi
    assert box["bits"] == 12 and box["shape"] == [page.height_px, page.width_px]
    images = ramps()
    expected = render_sheet(
        FilmSheet(
            page=page,
            boxes=parse_display_format("STANDARD\\2,2"),
            images={
                n: SheetImage(pixels=image, bits_stored=12) for n, image in enumerate(images, 1)
            },
            border=0,
            empty=0,
        )
    )
    stored = np.load(out.with_suffix(".npy"))
    assert np.array_equal(stored, expected), f"{np.count_nonzero(stored != expected)} differ"
    assert stored.max() > 4000  # the ramps' P-values, not a density model's drive values


def test_a_hung_imager_holds_only_its_own_films(tmp_path: Path) -> None:
    """An imager that takes the connection and never answers: its films wait, retried,
    while another printer's film prints at once; the Printer N-GET of the other printer
    and the report of the hung one are answered within the status time limit; when the
    imager answers again its film goes out once."""
    imager = _imager(tmp_path)
    relay = FaultRelay(imager.port, mode="silent")
    printers = (
        f'[[printers]]\nae_title = "HUNG"\n[printers.dicom]\nhost = "127.0.0.1"\n'
        f'port = {relay.port}\ncalled_ae = "{IMAGER}"\ntimeout = 3\nconnect_timeout = 2\n'
        f'[[printers]]\nae_title = "HEALTHY"\ndirectory = "{tmp_path / "healthy"}"\n'
    )
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers)))
    try:
        _print_2x2_to(running.port, "HUNG")  # its lane is now waiting on a silent imager
        _print_2x2_to(running.port, "HEALTHY")
        store = SpoolStore(running.spool)
        healthy = _wait_for(lambda: _job_of(store, "HEALTHY", {"done"}), 10)
        assert healthy is not None  # printed while the other lane waits
        reports = printer_reports(
            running.config, store, running.server.sinks, StatusWatch(timeout=3.0)
        )
        assert reports["HUNG"].status.info == "PRINTER DOWN"
        assert reports["HEALTHY"].status.status == "NORMAL"
        hung = _wait_for(lambda: _job_of(store, "HUNG", {"pending"}, error=True), 20)
        assert hung is not None and "did not accept" in (hung.last_error or "")
        relay.set_mode("forward")  # the imager answers again
        wait_for_jobs(running.spool, 2, {"done"}, timeout=30)
        time.sleep(2)  # a second delivery would have had its chance
        arrived = wait_for_jobs(imager.config.spool.directory, 1, {"done"})
    finally:
        running.server.stop()
        relay.stop()
        imager.server.stop()
    assert len(arrived) == 1


def _print_2x2_to(port: int, called: str) -> None:
    client = PrintClient(port, called)
    _, session = client.session()
    status, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="8INX10IN")
    assert status == 0
    for position, (uid, image) in enumerate(zip(box_uids(reply), _ramps(), strict=True), 1):
        assert client.gray(uid, position, image).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()


def _job_of(
    store: SpoolStore, printer: str, states: set[str], *, error: bool = False
) -> JobRecord | None:
    for job in store.list():
        if job.printer == printer and str(job.state) in states and (job.last_error or not error):
            return job
    return None


def _wait_for(probe: Callable[[], JobRecord | None], seconds: float) -> JobRecord | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.1)
    return None
