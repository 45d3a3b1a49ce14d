"""What real modalities send, replayed at the PDU level: each film prints right, and the log
stays clean (no ERROR, no traceback) for requests the server answers correctly.

The association proposals follow print-SCP logs published in fo-dicom's issue tracker
(implementation versions, maximum PDU lengths, presentation contexts and transfer syntaxes
as logged); the request sequences follow what those logs and the vendors' conformance
statements describe.  Two requests pynetdicom's own log handlers cannot describe are
among them: a Printer N-GET without Attribute Identifier List (DCMTK-based modalities;
PS3.7 10.1.2.1: absent means every attribute) and an N-ACTION without Requested SOP
Instance UID (FUJI FCR, ClearCanvas).
"""

from __future__ import annotations

import itertools
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from printserver.model.layout import parse_display_format
from printserver.model.printer import Printer
from tests.fuzz_cases import (
    ANNOTATION_BOX,
    COLOR_IMAGE_BOX,
    COLOR_META,
    FILM_BOX,
    FILM_SESSION,
    GRAY_IMAGE_BOX,
    GRAY_META,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_GET,
    N_SET,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    PRINTER_INSTANCE,
    VERIFICATION,
)
from tests.ghostscript import render_rgb8
from tests.raw_scu import EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, RawAssociation
from tests.server_harness import directory_config, start_in_process, wait_for_jobs

pytestmark = pytest.mark.integration

PRINT_QUEUE_MANAGEMENT = "1.2.840.10008.5.1.1.26"
"""Print Queue Management SOP Class, retired (PS3.4 2004): still proposed by older modalities."""
DPI = 100
ALL_LE_BE = (EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE)


@dataclass(frozen=True)
class Modality:
    name: str
    calling: str
    max_pdu: int
    proposals: tuple[tuple[str, tuple[str, ...]], ...]
    display_format: str
    images: int
    bits: int = 12
    size: int = 64
    color: bool = False
    printer_get: str = "list"  # "list", "all" (no Attribute Identifier List) or "none"
    action_on: str = FILM_BOX
    action_uid: bool = True
    waits_for_done: bool = False  # releases only after the Print Job's DONE (Agfa NX)

    @property
    def meta(self) -> str:
        return COLOR_META if self.color else GRAY_META


MODALITIES = (
    Modality(
        "Siemens MR (MR_VD14A)",
        "MSTZ400D",
        262144,
        (
            (GRAY_META, ALL_LE_BE),
            (PRINT_JOB, ALL_LE_BE),
            (PRESENTATION_LUT, ALL_LE_BE),
            (ANNOTATION_BOX, ALL_LE_BE),
        ),
        "STANDARD\\2,2",
        images=4,
    ),
    Modality(
        "United Imaging CT (OFFIS_DCMTK_365)",
        "UIH_CT",
        32768,
        (
            (COLOR_META, (EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE)),
            (PRESENTATION_LUT, (EXPLICIT_LE, EXPLICIT_BE, IMPLICIT_LE)),
        ),
        "STANDARD\\2,1",
        images=2,
        bits=8,
        color=True,
        printer_get="all",
    ),
    Modality(
        "Agfa NX (DPM1.00)",
        "NXMIX2",
        65542,
        (
            (GRAY_META, (IMPLICIT_LE,)),
            (VERIFICATION, (IMPLICIT_LE,)),
            (PRINT_JOB, (IMPLICIT_LE,)),
            (ANNOTATION_BOX, (IMPLICIT_LE,)),
            (PRESENTATION_LUT, (IMPLICIT_LE,)),
        ),
        "STANDARD\\1,2",
        images=2,
        bits=8,
        action_on=FILM_SESSION,
        waits_for_done=True,
    ),
    Modality(
        "FUJI FCR (16 KB PDUs, retired Print Queue Management)",
        "FCR_CSL",
        16384,
        (
            (GRAY_META, (IMPLICIT_LE, EXPLICIT_LE)),
            (PRINT_QUEUE_MANAGEMENT, (IMPLICIT_LE,)),
            (VERIFICATION, (IMPLICIT_LE,)),
        ),
        "STANDARD\\1,1",
        images=1,
        size=256,  # 128 KB of pixels: eight 16 KB PDUs
        printer_get="none",
        action_uid=False,
    ),
    Modality(
        "ultrasound: fewer images than boxes",
        "US_ROOM3",
        16384,
        ((GRAY_META, (IMPLICIT_LE,)),),
        "STANDARD\\2,2",
        images=3,
        bits=8,
        printer_get="all",
        action_uid=False,
    ),
)


def _levels(modality: Modality) -> list[int]:
    top = (1 << modality.bits) - 1
    return [round(top * (index + 1) / (modality.images + 1)) for index in range(modality.images)]


def _image(modality: Modality, level: int) -> Dataset:
    item = Dataset()
    rows = columns = modality.size
    item.Rows, item.Columns = rows, columns
    item.PixelRepresentation = 0
    if modality.color:
        item.SamplesPerPixel, item.PhotometricInterpretation = 3, "RGB"
        item.PlanarConfiguration = 0
        item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
        item.PixelData = np.full((rows, columns, 3), level, np.uint8).tobytes()
    else:
        item.SamplesPerPixel, item.PhotometricInterpretation = 1, "MONOCHROME2"
        item.BitsAllocated = 8 if modality.bits == 8 else 16
        item.BitsStored, item.HighBit = modality.bits, modality.bits - 1
        dtype = np.uint8 if modality.bits == 8 else np.dtype("<u2")
        item.PixelData = np.full((rows, columns), level, dtype).tobytes()
    return item


def _printer_get(assoc: RawAssociation, modality: Modality) -> None:
    if modality.printer_get == "none":
        return
    status_tag = struct.pack("<HH", 0x2110, 0x0010)  # AT: group, then element
    wanted = [] if modality.printer_get == "all" else [(0x00001005, "AT", status_tag)]
    rsp, ds = assoc.request(modality.meta, N_GET, PRINTER, PRINTER_INSTANCE, extra=wanted)
    assert rsp.Status == 0 and ds is not None and ds.PrinterStatus == "NORMAL"
    if modality.printer_get == "all":
        assert ds.PrinterName and ds.Manufacturer  # absent list: every attribute


def _film(assoc: RawAssociation, modality: Modality) -> None:
    session = Dataset()
    session.NumberOfCopies, session.MediumType = "1", "BLUE FILM"
    rsp, _ = assoc.request(modality.meta, N_CREATE, FILM_SESSION, None, session)
    assert rsp.Status == 0
    session_uid = rsp.AffectedSOPInstanceUID
    box = Dataset()
    box.ImageDisplayFormat, box.FilmSizeID = modality.display_format, "8INX10IN"
    reference = Dataset()
    reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = FILM_SESSION, session_uid
    box.ReferencedFilmSessionSequence = [reference]
    rsp, created = assoc.request(modality.meta, N_CREATE, FILM_BOX, None, box)
    assert rsp.Status == 0 and created is not None
    box_uid = rsp.AffectedSOPInstanceUID
    image_class = COLOR_IMAGE_BOX if modality.color else GRAY_IMAGE_BOX
    for position, level in enumerate(_levels(modality), start=1):
        image_box = Dataset()
        image_box.ImageBoxPosition = position
        sequence = "BasicColorImageSequence" if modality.color else "BasicGrayscaleImageSequence"
        setattr(image_box, sequence, [_image(modality, level)])
        uid = created.ReferencedImageBoxSequence[position - 1].ReferencedSOPInstanceUID
        rsp, _ = assoc.request(modality.meta, N_SET, image_class, uid, image_box)
        assert rsp.Status == 0, hex(rsp.Status)
    target = box_uid if modality.action_on == FILM_BOX else session_uid
    rsp, reply = assoc.request(
        modality.meta,
        N_ACTION,
        modality.action_on,
        target if modality.action_uid else None,
        extra=[(0x00001008, "US", 1)],
    )
    assert rsp.Status == 0, hex(rsp.Status)
    if modality.waits_for_done:  # the Print Job of the reply reports DONE on its own
        assert reply is not None
        print_job = str(reply[0x21000500].value[0].ReferencedSOPInstanceUID)
        command, info = assoc.wait_for_event({3, 4}, timeout=30)
        assert str(command.AffectedSOPInstanceUID) == print_job
        assert int(command.EventTypeID) == 3 and info is not None
        assert info.ExecutionStatusInfo == "NORMAL"
    rsp, _ = assoc.request(modality.meta, N_DELETE, FILM_SESSION, session_uid)
    assert rsp.Status == 0


def _cells(running_printer: Printer, modality: Modality) -> list[tuple[int, int, int, int]]:
    page = running_printer.page("8INX10IN", "PORTRAIT", DPI)
    return [page.cell_rect(box) for box in parse_display_format(modality.display_format)]


@pytest.mark.parametrize("modality", MODALITIES, ids=[m.name for m in MODALITIES])
@pytest.mark.parametrize("protocol_log", [False, True], ids=["quiet", "protocol-log"])
def test_a_real_modality_prints_right_with_a_clean_log(
    modality: Modality, protocol_log: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    extra = "protocol_log = true" if protocol_log else ""
    running = start_in_process(directory_config(tmp_path, f"dpi = {DPI}", server_extra=extra))
    try:
        assoc = RawAssociation(
            running.port, modality.proposals, max_pdu=modality.max_pdu, calling=modality.calling
        )
        assert PRINT_QUEUE_MANAGEMENT not in {cx.abstract_syntax for cx in assoc.accepted}
        assert all(cx.transfer_syntax != EXPLICIT_BE for cx in assoc.accepted)
        _printer_get(assoc, modality)
        _film(assoc, modality)
        assoc.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
    finally:
        running.server.stop()
    (page,) = render_rgb8(tmp_path / "output" / f"printserver-{job.job_id}.ps", DPI)
    gray = page.astype(np.float64).mean(axis=2)
    means = []
    for x0, y0, x1, y1 in _cells(Printer.of(running.config.printers[0]), modality):
        cx, cy, half = (x0 + x1) // 2, (y0 + y1) // 2, min(x1 - x0, y1 - y0) // 4
        inner = gray[cy - half : cy + half, cx - half : cx + half]  # inside the image, if any
        assert inner.std() < 1.0  # a flat image prints flat, an empty box is empty
        means.append(inner.mean())
    printed, empty = means[: modality.images], means[modality.images :]
    assert all(b > a + 5 for a, b in itertools.pairwise(printed)), means
    assert all(value < 5 for value in empty), means  # empty boxes: BLACK by default
    noisy = [
        f"{record.name} {record.levelname}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
    assert not noisy
    assert not any("Traceback" in record.getMessage() for record in caplog.records)
    if protocol_log:  # the protocol detail is back when asked for
        assert any(record.name == "pynetdicom._handlers" for record in caplog.records)
