"""Every layout family lands where the documented geometry puts it, and true size is true.

Films are printed through the server with a BLACK border and WHITE empty boxes and no
images, so each image box shows as a white rectangle; its place is compared with a
rectangle computed here from the film size, the 4 mm margin and the 3 mm spacing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pynetdicom import sop_class

from tests.ghostscript import render_gray16
from tests.print_client import PrintClient, box_uids, output_files
from tests.regions import bounding_boxes
from tests.server_harness import InProcessServer

pytestmark = pytest.mark.integration
DPI = 320
PX = DPI / 25.4
MARGIN, SPACING = 4.0, 3.0
FILM = (203.2, 254.0)  # 8INX10IN portrait, mm


def _expected(
    fractions: list[tuple[float, float, float, float]], film: tuple[float, float]
) -> list[tuple[int, int, int, int]]:
    """Pixel rectangles (x0, y0, x1, y1 exclusive) of boxes given as fractions of the area."""
    area_w, area_h = (film[0] - 2 * MARGIN) * PX, (film[1] - 2 * MARGIN) * PX
    inset = SPACING / 2 * PX
    rects = []
    for x, y, w, h in fractions:
        rects.append(
            (
                round(MARGIN * PX + x * area_w + inset),
                round(MARGIN * PX + y * area_h + inset),
                round(MARGIN * PX + (x + w) * area_w - inset),
                round(MARGIN * PX + (y + h) * area_h - inset),
            )
        )
    return rects


def _grid(rows: list[int]) -> list[tuple[float, float, float, float]]:
    return [
        (c / n, r / len(rows), 1 / n, 1 / len(rows)) for r, n in enumerate(rows) for c in range(n)
    ]


def _slides(
    frame: tuple[float, float], film: tuple[float, float]
) -> list[tuple[float, float, float, float]]:
    area_w, area_h = film[0] - 2 * MARGIN, film[1] - 2 * MARGIN
    columns, rows = int(area_w // 50), int(area_h // 50)
    left, top = (area_w - columns * 50) / 2, (area_h - rows * 50) / 2
    boxes = []
    for r in range(rows):
        for c in range(columns):
            cx, cy = left + (c + 0.5) * 50, top + (r + 0.5) * 50
            w, h = frame[0] + SPACING, frame[1] + SPACING
            boxes.append(((cx - w / 2) / area_w, (cy - h / 2) / area_h, w / area_w, h / area_h))
    return boxes


CASES = {
    "STANDARD\\3,2": _grid([3, 3]),
    "ROW\\2,1,3": _grid([2, 1, 3]),
    "COL\\1,2": [(0, 0, 0.5, 1), (0.5, 0, 0.5, 0.5), (0.5, 0.5, 0.5, 0.5)],
    "SLIDE": _slides((36, 24), FILM),
    "SUPERSLIDE": _slides((40, 40), FILM),
    "CUSTOM\\1": [(0, 0, 1, 0.64), (0, 0.64, 0.5, 0.36), (0.5, 0.64, 0.5, 0.36)],
}


@pytest.mark.parametrize("display_format", list(CASES))
def test_each_layout_lands_where_the_geometry_says(
    server: InProcessServer, tmp_path: Path, display_format: str
) -> None:
    client = PrintClient(server.port)
    _, session = client.session()
    status, box, reply = client.film_box(
        session,
        display_format,
        FilmSizeID="8INX10IN",
        BorderDensity="BLACK",
        EmptyImageDensity="WHITE",
    )
    assert status == 0, hex(status)
    expected = _expected(CASES[display_format], FILM)
    assert len(box_uids(reply)) == len(expected)
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0xB603
    client.release()
    page = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    found = bounding_boxes(page == 4095)
    assert len(found) == len(expected)
    for rect in expected:  # each expected box has a white rectangle within one pixel
        assert any(all(abs(a - b) <= 1 for a, b in zip(rect, got, strict=True)) for got in found), (
            rect,
            found,
        )


def test_true_size_ct_measures_right_on_the_film(server: InProcessServer, tmp_path: Path) -> None:
    """A 512-pixel CT at 0.7 mm pixel spacing asked for at its true width: 358.4 mm."""
    image = np.zeros((512, 512), np.uint16)
    image[:, 0] = image[:, -1] = 4095  # bright first and last columns
    client = PrintClient(server.port)
    _, session = client.session()
    _, box, reply = client.film_box(
        session, FilmSizeID="17INX17IN", MagnificationType="BILINEAR", BorderDensity="BLACK"
    )
    assert client.gray(box_uids(reply)[0], 1, image, RequestedImageSize="358.4").Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()
    page = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    row = page[page.shape[0] // 2]
    bright = np.flatnonzero(row > 2000)
    width_mm = (bright[-1] - bright[0] + 1) / PX
    assert abs(width_mm - 358.4) <= 0.5, width_mm
