"""Colour, Presentation LUT, annotation, Print Job and Printer Configuration over real DIMSE.

Each test runs the server in-process with a directory printer on a free
loopback port, drives it with a pynetdicom SCU, and reads the PostScript it
wrote back through Ghostscript.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import evt, sop_class

from printserver.config import Config
from printserver.render.density import model_drive
from printserver.render.sheet import CharacteristicCurve, ToneScale
from tests.ghostscript import render_gray16, render_rgb8
from tests.print_client import PrintClient, box_uids, color_item, output_files
from tests.server_harness import InProcessServer, directory_config, start_in_process

pytestmark = pytest.mark.integration
DPI = 320
PRINT_JOB_SEQUENCE = 0x21000500


def _start(config: Config) -> InProcessServer:
    return start_in_process(config)


def _ramp(rows: int = 64, cols: int = 64) -> np.ndarray:
    return (np.arange(rows * cols).reshape(rows, cols) * 4095 // (rows * cols - 1)).astype(
        np.uint16
    )


def _centre(page: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    h, w = page.shape[:2]
    dy, dx = int(h * fraction), int(w * fraction)
    return page[h // 2 - dy : h // 2 + dy, w // 2 - dx : w // 2 + dx]


# colour ------------------------------------------------------------------------------------


def test_colour_film_prints_rgb_whatever_the_planar_configuration(
    server: InProcessServer, tmp_path: Path
) -> None:
    colours = [(255, 0, 0), (0, 200, 0), (0, 0, 255), (250, 250, 20)]
    pages = []
    for planar in (1, 0):
        client = PrintClient(server.port, color=True)
        status, session = client.session(FilmSessionLabel=f"colour-{planar}")
        assert status == 0
        status, film_box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="8INX10IN")
        assert status == 0
        for position, (uid, colour) in enumerate(zip(box_uids(reply), colours, strict=True), 1):
            rgb = np.empty((40, 50, 3), np.uint8)
            rgb[:] = colour
            rgb[0, 0] = (1, 2, 3)  # a corner pixel tells the planes apart
            assert client.set_image(uid, position, color_item(rgb, planar=planar)).Status == 0
        status, _ = client.action(sop_class.BasicFilmBox, film_box)
        assert status.Status == 0
        client.release()
        ps = output_files(tmp_path / "output", 1 if planar == 1 else 2)[-1]
        assert b"/DeviceRGB setcolorspace" in ps.read_bytes()
        pages.append(render_rgb8(ps, DPI)[0])
    assert np.array_equal(pages[0], pages[1])
    page = pages[0]
    h, w = page.shape[:2]
    for index, colour in enumerate(colours):
        row, col = divmod(index, 2)
        y, x = int(h * (0.25 + 0.5 * row)), int(w * (0.25 + 0.5 * col))
        assert tuple(page[y, x]) == colour, (index, page[y, x])
    assert tuple(page[2, 2]) == (0, 0, 0)  # BLACK border


def test_colour_n_set_on_a_grayscale_box_is_a_class_instance_conflict(
    server: InProcessServer,
) -> None:
    client = PrintClient(server.port)
    _, session = client.session()
    _, _, reply = client.film_box(session)
    ds = Dataset()
    ds.ImageBoxPosition = 1
    ds.BasicColorImageSequence = [color_item(np.zeros((4, 4, 3), np.uint8))]
    status = client.set(sop_class.BasicColorImageBox, box_uids(reply)[0], ds)
    assert status.Status == 0x0119 and "class" in status.ErrorComment
    client.release()


# Presentation LUT ------------------------------------------------------------------------


def _shape(shape: str) -> Dataset:
    ds = Dataset()
    ds.PresentationLUTShape = shape
    return ds


def _table(entries: int, first: int, bits: int, data: list[int]) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [entries, first, bits]
    item.add_new(0x00283006, "US", data)  # LUT Data as US values
    ds = Dataset()
    ds.PresentationLUTSequence = [item]
    return ds


def test_presentation_lut_creation_is_validated(server: InProcessServer) -> None:
    client = PrintClient(server.port)
    for shape in ("IDENTITY", "LIN OD", "INVERSE"):
        assert client.lut(_shape(shape))[0] == 0
    assert client.lut(_table(4096, 0, 16, list(range(0, 65536, 16))))[0] == 0
    assert client.lut(_table(256, 0, 12, [v * 16 for v in range(256)]))[0] == 0
    assert client.lut(_shape("GAMMA"))[0] == 0x0106
    both = _table(256, 0, 12, [0] * 256)
    both.PresentationLUTShape = "IDENTITY"
    assert client.lut(both)[0] == 0x0106
    assert client.lut(Dataset())[0] == 0x0120
    assert client.lut(_table(256, 5, 12, [0] * 256))[0] == 0x0106  # first mapped must be 0
    assert client.lut(_table(256, 0, 7, [0] * 256))[0] == 0x0106  # 8..16 bits
    assert client.lut(_table(256, 0, 12, [0] * 200))[0] == 0x0106  # data shorter
    assert client.lut(_table(256, 0, 8, [300] * 256))[0] == 0x0106  # values above 8 bits
    odd = _table(4, 0, 16, [])
    odd.PresentationLUTSequence[0].add_new(0x00283006, "OW", b"\x01\x02\x03")
    refused = client.create(sop_class.PresentationLUT, odd, meta=False)
    assert refused[0] == 0x0106  # garbled LUT Data: a clear refusal, not a crash
    client.release()


def _print_with_lut(
    client: PrintClient, lut_uid: str | None, image: np.ndarray, on_image_box: bool = False
) -> int:
    _, session = client.session()
    attrs = {"MagnificationType": "REPLICATE", "FilmSizeID": "8INX10IN"}
    if lut_uid and not on_image_box:
        attrs["ReferencedPresentationLUTSequence"] = [_ref(lut_uid)]
    status, film_box, reply = client.film_box(session, **attrs)
    assert status == 0, hex(status)
    extra = {"ReferencedPresentationLUTSequence": [_ref(lut_uid)]} if on_image_box else {}
    assert client.gray(box_uids(reply)[0], 1, image, **extra).Status == 0
    status, _ = client.action(sop_class.BasicFilmBox, film_box)
    client.delete(sop_class.BasicFilmBox, film_box)
    client.delete(sop_class.BasicFilmSession, session)
    return int(status.Status)


def _ref(uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class.PresentationLUT
    item.ReferencedSOPInstanceUID = uid
    return item


def test_presentation_luts_reach_the_film(server: InProcessServer, tmp_path: Path) -> None:
    """IDENTITY, INVERSE and an explicit threshold table, on the film box and the image box."""
    client = PrintClient(server.port)
    image = _ramp()
    _, identity = client.lut(_shape("IDENTITY"))
    _, inverse = client.lut(_shape("INVERSE"))
    threshold = [0] * 2048 + [65535] * 2048
    _, table = client.lut(_table(4096, 0, 16, threshold))
    assert _print_with_lut(client, identity, image) == 0
    assert _print_with_lut(client, inverse, image) == 0
    assert _print_with_lut(client, table, image, on_image_box=True) == 0
    client.release()
    films = [render_gray16(ps, DPI)[0] for ps in output_files(tmp_path / "output", 3)]
    plain, negative, binary = (_centre(film, 0.2) for film in films)
    assert plain.std() > 300  # a ramp
    # INVERSE prints P-value 4095 - p where IDENTITY prints p: the drive of the mirrored
    # P-value under the same density model
    tone = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
    table = np.rint(model_drive(tone, np.arange(4096))).astype(int)  # non-decreasing in p
    for a, b in zip(plain.ravel()[::97], negative.ravel()[::97], strict=True):
        low, high = np.searchsorted(table, a, "left"), np.searchsorted(table, a, "right") - 1
        assert table[4095 - high] - 1 <= b <= table[4095 - low] + 1, (a, b)
    assert set(np.unique(binary)) == {0, 4095}


def test_presentation_lut_references_are_checked(server: InProcessServer) -> None:
    client = PrintClient(server.port)
    _, lut = client.lut(_shape("IDENTITY"))
    _, session = client.session()
    status, _, _ = client.film_box(session, ReferencedPresentationLUTSequence=[_ref("1.2.3.4")])
    assert status == 0x0106
    status, film_box, _ = client.film_box(session, ReferencedPresentationLUTSequence=[_ref(lut)])
    assert status == 0
    refused = client.delete(sop_class.PresentationLUT, lut, meta=False)
    assert refused.Status == 0x0110 and "referenced" in refused.ErrorComment
    assert client.delete(sop_class.BasicFilmBox, film_box).Status == 0
    assert client.delete(sop_class.PresentationLUT, lut, meta=False).Status == 0
    assert client.delete(sop_class.PresentationLUT, lut, meta=False).Status == 0x0112
    client.release()


# annotation ---------------------------------------------------------------------------------


def test_annotation_boxes_are_created_set_and_printed(
    server: InProcessServer, tmp_path: Path
) -> None:
    client = PrintClient(server.port)
    _, session = client.session()
    texts = ["PATIENT^TEST 12345", ""]
    for text in texts:
        status, film_box, reply = client.film_box(
            session, FilmSizeID="8INX10IN", AnnotationDisplayFormatID="LABEL"
        )
        assert status == 0
        (annotation,) = box_uids(reply, "ReferencedBasicAnnotationBoxSequence")
        assert client.annotate(annotation, 1, text).Status == 0
        assert client.annotate(annotation, 2, "x").Status == 0x0106  # not its position
        assert client.gray(box_uids(reply)[0], 1, _ramp()).Status == 0
        assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0
    status, _, _ = client.film_box(session, AnnotationDisplayFormatID="NOSUCHFORMAT")
    assert status == 0x0116  # lenient: printed without annotation boxes
    client.release()
    with_text, without = (render_gray16(ps, DPI)[0] for ps in output_files(tmp_path / "output", 2))
    # the LABEL band: the 10 mm above the bottom margin of 4 mm, across the film
    per_mm = DPI / 25.4
    band = slice(with_text.shape[0] - round(14 * per_mm), with_text.shape[0] - round(4 * per_mm))
    ink = np.count_nonzero(with_text[band] == 4095)
    assert ink > 2000, ink  # white letters on the black border
    assert np.count_nonzero(without[band] == 4095) == 0
    # the images themselves were not covered
    assert np.array_equal(_centre(with_text), _centre(without))


def test_no_annotation_boxes_without_the_negotiated_class(server: InProcessServer) -> None:
    client = PrintClient(server.port, optional=())
    _, session = client.session()
    status, _, reply = client.film_box(session, AnnotationDisplayFormatID="LABEL")
    assert status == 0 and "ReferencedBasicAnnotationBoxSequence" not in reply
    client.release()


# Print Job ----------------------------------------------------------------------------------


def _print_one(client: PrintClient) -> tuple[Dataset, object]:
    _, session = client.session(PrintPriority="HIGH", FilmSessionLabel="JOB TEST")
    _, film_box, reply = client.film_box(session)
    client.gray(box_uids(reply)[0], 1, _ramp())
    return client.action(sop_class.BasicFilmBox, film_box)


def test_print_job_is_referenced_and_reports_its_real_state(server: InProcessServer) -> None:
    client = PrintClient(server.port, calling="CT_CONSOLE")
    status, reply = _print_one(client)
    assert status.Status == 0
    (item,) = reply[PRINT_JOB_SEQUENCE].value
    assert item.ReferencedSOPClassUID == sop_class.PrintJob
    job_uid = str(item.ReferencedSOPInstanceUID)
    deadline = time.monotonic() + 30
    while True:
        status, job = client.get(sop_class.PrintJob, job_uid, meta=False)
        assert status.Status == 0
        if job.ExecutionStatus == "DONE" or time.monotonic() > deadline:
            break
        assert job.ExecutionStatus in ("PENDING", "PRINTING")
        time.sleep(0.1)
    assert job.ExecutionStatus == "DONE" and job.ExecutionStatusInfo == "NORMAL"
    assert job.PrintPriority == "HIGH" and job.Originator == "CT_CONSOLE"
    assert job.PrinterName == "PRINTSERVER"
    assert job.CreationDate == time.strftime("%Y%m%d")
    assert len(job.CreationTime) == 6
    status, _ = client.get(sop_class.PrintJob, "1.2.3.4.5", meta=False)
    assert status.Status == 0x0112
    client.release()


def test_without_print_job_the_n_action_answers_status_only(server: InProcessServer) -> None:
    data_set_types: list[int] = []

    def on_recv(event: evt.Event) -> None:
        if event.message.__class__.__name__ == "N_ACTION_RSP":
            data_set_types.append(int(event.message.command_set.CommandDataSetType))

    client = PrintClient(server.port, optional=(), handlers=[(evt.EVT_DIMSE_RECV, on_recv)])
    status, reply = _print_one(client)
    assert status.Status == 0 and not reply
    assert data_set_types == [0x0101]  # PS3.7 E.1: no data set follows the command
    client.release()


def test_with_next_request_the_events_wait_for_the_modality_s_next_request(
    tmp_path: Path,
) -> None:
    running = _start(directory_config(tmp_path, 'print_job_events = "with_next_request"'))
    try:
        client = PrintClient(running.port)
        status, reply = _print_one(client)
        assert status.Status == 0
        job_uid = str(reply[PRINT_JOB_SEQUENCE].value[0].ReferencedSOPInstanceUID)
        from tests.server_harness import wait_for_jobs

        wait_for_jobs(running.spool, 1, {"done"})
        time.sleep(1.5)  # longer than a channel's look: nothing goes out on its own
        assert client.events == []
        client.get(sop_class.Printer, "1.2.840.10008.5.1.1.17")  # the next request carries it
        assert (sop_class.PrintJob, 3) in [(c, t) for c, t, _ in client.events]
        done = next(info for c, t, info in client.events if t == 3)
        assert done.ExecutionStatusInfo == "NORMAL" and done.FilmSessionLabel == "JOB TEST"
        assert job_uid
        client.release()
    finally:
        running.server.stop()


def test_no_events_when_switched_off(tmp_path: Path) -> None:
    running = _start(directory_config(tmp_path, 'print_job_events = "off"\nsend_events = true'))
    try:
        client = PrintClient(running.port)
        _print_one(client)
        from tests.server_harness import wait_for_jobs

        wait_for_jobs(running.spool, 1, {"done"})
        time.sleep(1.5)
        client.get(sop_class.Printer, "1.2.840.10008.5.1.1.17")
        assert client.events == []
        client.release()
    finally:
        running.server.stop()


# Printer Configuration Retrieval --------------------------------------------------------


def test_printer_configuration_retrieval(server: InProcessServer) -> None:
    client = PrintClient(server.port)
    status, ds = client.get(
        sop_class.PrinterConfigurationRetrieval, "1.2.840.10008.5.1.1.17.376", meta=False
    )
    assert status.Status == 0
    (item,) = ds.PrinterConfigurationSequence
    printer = server.config.printers[0]
    assert sop_class.BasicColorPrintManagementMeta in item.SOPClassesSupported
    assert item.PrintingBitDepth == 12
    sizes = {entry.FilmSizeID for entry in item.SupportedImageDisplayFormatsSequence}
    assert sizes == set(printer.film_sizes)
    first = item.SupportedImageDisplayFormatsSequence[0]
    assert first.PrinterResolutionID == "STANDARD" and first.Rows > 1000
    media = {(m.MediumType, m.FilmSizeID) for m in item.MediaInstalledSequence}
    assert ("BLUE FILM", "14INX17IN") in media and ("PAPER", "A4") in media
    assert item.DefaultMagnificationType == printer.default_magnification
    client.release()


def test_print_job_n_get_after_a_restart(tmp_path: Path) -> None:
    """The Print Job's state comes from the spool, so a restarted server still knows it."""
    running = _start(directory_config(tmp_path))
    try:
        client = PrintClient(running.port)
        status, reply = _print_one(client)
        job_uid = str(reply[PRINT_JOB_SEQUENCE].value[0].ReferencedSOPInstanceUID)
        client.release()
        from tests.server_harness import wait_for_jobs

        wait_for_jobs(running.spool, 1, {"done"})
    finally:
        running.server.stop()
    running = _start(directory_config(tmp_path))
    try:
        client = PrintClient(running.port)
        status, job = client.get(sop_class.PrintJob, job_uid, meta=False)
        assert status.Status == 0 and job.ExecutionStatus == "DONE"
        client.release()
    finally:
        running.server.stop()


def test_a_paper_film_is_told_the_light_it_is_rendered_with(
    server: InProcessServer, tmp_path: Path
) -> None:
    """The film box reply's Illumination and Reflected Ambient Light for a PAPER film are
    the ones its density model used: paper illumination and no ambient term (the printer's
    light-box values would give other drive values)."""
    client = PrintClient(server.port)
    _, session = client.session(MediumType="PAPER")
    status, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
    assert status == 0 and reply is not None
    level = 1200
    assert client.gray(box_uids(reply)[0], 1, np.full((16, 16), level, np.uint16)).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()
    told = ToneScale(
        reply.MinDensity / 100,
        reply.MaxDensity / 100,
        float(reply.Illumination),
        float(reply.ReflectedAmbientLight),
        CharacteristicCurve.ideal(reply.MinDensity / 100, reply.MaxDensity / 100),
    )
    light_box = ToneScale(told.min_density, told.max_density, 2000.0, 10.0, told.curve)
    assert (reply.Illumination, reply.ReflectedAmbientLight) == (150, 0)
    film = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    printed = int(np.median(_centre(film)))
    expected = round(float(model_drive(told, np.array([level]))[0]))
    assert abs(printed - expected) <= 1, (printed, expected)
    assert abs(printed - round(float(model_drive(light_box, np.array([level]))[0]))) > 8
