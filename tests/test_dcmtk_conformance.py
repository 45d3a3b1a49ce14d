"""DCMTK's dcmprscu with every optional feature it has, through CUPS.

Presentation LUT, annotation, trim, requested image size, decimate/crop,
MONOCHROME1, Film Session N-ACTION, copies, medium, destination, priority,
label and owner: the film that comes out of CUPS carries the annotation and
honours polarity, and the spool job carries the session's settings.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from printserver.config import parse_config
from tests.dcmtk import FULL_FEATURES, print_with_dcmtk, write_ct_like_image
from tests.ghostscript import render_gray16
from tests.server_harness import config_text, start_in_process, wait_for_jobs

pytestmark = pytest.mark.integration
DPI = 320
PER_MM = DPI / 25.4
MARGIN_MM, SPACING_MM, BAND_MM, TRIM_PX = 4.0, 3.0, 10.0, 4
REQUESTED_MM = 60.0
LEVELS = (400, 1500, 2600, 3600)


def _requested_size_and_reverse(stored: Path) -> None:
    """What dcmpsprt has no option for: Requested Image Size, and Polarity REVERSE on box 4."""
    ds = pydicom.dcmread(stored)
    for item in ds.ImageBoxContentSequence:
        item.RequestedImageSize = str(REQUESTED_MM)
        if item.ImageBoxPosition == 4:
            item.Polarity = "REVERSE"
    ds.save_as(stored)


def _cells(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """STANDARD\\2,2 cells when a LABEL annotation band takes the bottom 10 mm."""
    margin, inset = MARGIN_MM * PER_MM, SPACING_MM / 2 * PER_MM
    area_w = (width - 2 * margin) / 2
    area_h = (height - 2 * margin - BAND_MM * PER_MM) / 2
    cells = []
    for row in range(2):
        for column in range(2):
            x0, y0 = margin + column * area_w + inset, margin + row * area_h + inset
            cells.append(
                (
                    round(x0),
                    round(y0),
                    round(x0 + area_w - 2 * inset),
                    round(y0 + area_h - 2 * inset),
                )
            )
    return cells


def test_dcmprscu_with_every_feature(cups_queue: Any, tmp_path: Path) -> None:
    assert shutil.which("dcmprscu"), "DCMTK must be installed (setup.sh installs it)"
    printers = (
        f'[[printers]]\nae_title = "FILM"\ncups_queue = "{cups_queue.queue}"\n'
        'medium_types = ["PAPER", "BLUE FILM"]\n'
        'film_destinations = ["MAGAZINE", "PROCESSOR"]\n'
    )
    cups = f'[cups]\nserver = "{cups_queue.server}"\n'
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers, cups)))
    try:
        work = tmp_path / "dcmtk"
        work.mkdir()
        files = [
            write_ct_like_image(work / f"img{i}.dcm", 200, 160, level=level)
            for i, level in enumerate(LEVELS)
        ]
        result = print_with_dcmtk(
            work,
            files,
            "127.0.0.1",
            running.port,
            "FILM",
            features=FULL_FEATURES,
            prepare_args=[
                "--trim",
                "--request-crop",
                "--identity",
                "--illumination",
                "2000",
                "--reflection",
                "10",
                "-a",
                "DCMTK ANNOTATION",
                "-pd",
                "-pn",
                "-pl",
            ],
            send_args=[
                "--session-print",
                "--monochrome1",
                "--copies",
                "2",
                "--medium-type",
                "PAPER",
                "--destination",
                "MAGAZINE",
                "--priority",
                "HIGH",
                "--label",
                "DCMTK SESSION",
                "--owner",
                "RADIOGRAPHER",
            ],
            edit_stored=_requested_size_and_reverse,
        )
        assert not result.errors, result.log[-4000:]
        log = result.log
        assert "Affected SOP Class UID        : PresentationLUTSOPClass" in log
        assert "Requested SOP Class UID       : BasicAnnotationBoxSOPClass" in log
        action = log.index("N-ACTION RQ")
        assert "BasicFilmSessionSOPClass" in log[action : action + 300]  # --session-print
        assert "DIMSE Status                  : 0x0000" in log
        (job_file,) = cups_queue.sink.wait_for(1, timeout=60)
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
    finally:
        running.server.stop()
    assert (job.copies, job.priority, job.medium_type, job.destination, job.title) == (
        2,
        "HIGH",
        "PAPER",
        "MAGAZINE",
        "DCMTK SESSION",
    )
    page = render_gray16(job_file, DPI)[0]
    assert page.shape == (5440, 4480)
    cells = _cells(page.shape[1], page.shape[0])
    means = []
    for x0, y0, x1, y1 in cells:
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        means.append(float(page[cy - 20 : cy + 20, cx - 20 : cx + 20].mean()))
        # Requested Image Size: 60 mm of image between the two trim lines
        row = page[cy, x0:x1]
        lit = np.flatnonzero(row)
        width_mm = (lit[-1] - lit[0] + 1 - 2 * TRIM_PX) / PER_MM
        assert abs(width_mm - REQUESTED_MM) < 0.5, width_mm
        assert row[lit[0]] == 4095 and row[lit[0] + TRIM_PX] < 4095  # the trim frame
    # MONOCHROME1 keeps the appearance: brighter levels print brighter (boxes 1..3) ...
    assert means[0] < means[1] < means[2], means
    # ... and Polarity REVERSE on box 4 turns the brightest image dark
    assert means[3] < means[1], means
    band = page[
        page.shape[0] - round((MARGIN_MM + BAND_MM) * PER_MM) : page.shape[0]
        - round(MARGIN_MM * PER_MM)
    ]
    assert np.count_nonzero(band == 4095) > 2000  # the annotation text, white on black
