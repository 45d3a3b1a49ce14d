"""Page geometry and the Printer built from settings: one answer for every stage (pure)."""

from __future__ import annotations

import typing

import pytest

from printserver.config import PrinterConfig
from printserver.config.printer import Magnification, Smoothing
from printserver.model.printer import Printer
from printserver.render.geometry import Box, PageGeometry
from printserver.render.kernels import KERNELS, SMOOTHING_TYPES, kernel_for

PX = 320 / 25.4


def test_landscape_is_the_portrait_page_turned() -> None:
    portrait = PageGeometry.of_film(203.2, 254.0, "PORTRAIT", 320, margin_mm=4, spacing_mm=3)
    landscape = PageGeometry.of_film(203.2, 254.0, "LANDSCAPE", 320, margin_mm=4, spacing_mm=3)
    assert (landscape.width_px, landscape.height_px) == (portrait.height_px, portrait.width_px)
    assert landscape.printable_px == portrait.printable_px[::-1]
    assert portrait.printable_mm == (203.2 - 8, 254.0 - 8)


def test_a_whole_page_cell_is_the_printable_area_less_half_the_gap() -> None:
    page = PageGeometry(203.2, 254.0, 320, margin_mm=4, spacing_mm=3)
    x0, y0, x1, y1 = page.printable_rect()
    assert (x0, y0) == (round(4 * PX), round(4 * PX))
    assert page.printable_px == (x1 - x0, y1 - y0)
    c0, r0, c1, r1 = page.cell_rect(Box(0, 0, 1, 1))
    inset = 1.5 * PX
    for cell, area in ((c0, x0), (r0, y0)):
        assert abs(cell - (area + inset)) <= 1
    for cell, area in ((c1, x1), (r1, y1)):
        assert abs(cell - (area - inset)) <= 1


@pytest.mark.parametrize("band", ["top", "bottom"])
def test_the_annotation_band_is_taken_off_the_printable_area(band: str) -> None:
    plain = PageGeometry(203.2, 254.0, 320)
    banded = PageGeometry(203.2, 254.0, 320, band=band, band_mm=10.0)  # type: ignore[arg-type]
    assert plain.annotation_rect() is None
    assert banded.printable_mm == (plain.printable_mm[0], plain.printable_mm[1] - 10.0)
    x0, y0, x1, y1 = banded.printable_rect()
    a0, b0, a1, b1 = banded.annotation_rect() or (0, 0, 0, 0)
    assert (a0, a1) == (x0, x1)
    assert (b1 == y0) if band == "top" else (b0 == y1)  # the band touches the images' area
    assert abs((b1 - b0) - 10 * PX) <= 1


def test_the_printer_reports_the_page_its_films_are_laid_out_on() -> None:
    printer = Printer.of(
        PrinterConfig(ae_title="P", directory="out", margin_mm=6, spacing_mm=2, high_dpi=600)
    )
    assert printer.resolutions == {"STANDARD": 320, "HIGH": 600}
    page = printer.page("14INX17IN", "LANDSCAPE", 600, "LABEL")
    assert (page.width_mm, page.height_mm) == pytest.approx((431.8, 355.6))
    assert (page.margin_mm, page.spacing_mm, page.band, page.dpi) == (6, 2, "bottom", 600)
    assert printer.page("14INX17IN", "PORTRAIT").band is None  # no annotation boxes, no band


def test_site_film_sizes_and_media() -> None:
    printer = Printer.of(
        PrinterConfig.model_validate(
            {
                "ae_title": "P",
                "directory": "out",
                "custom_film_sizes": {"A3PLUS": {"width_mm": 329, "height_mm": 483}},
                "media": {"A4": "A4.Transparency"},
                "loaded_film_sizes": ["A4"],
            }
        )
    )
    assert printer.film_size("A3PLUS").cups_media == "Custom.329x483mm"
    assert printer.media_for("A4") == "A4.Transparency"
    assert printer.media_for("14INX17IN") == "Custom.14x17in"
    assert printer.missing_media("A4", "BLUE FILM") is None
    assert printer.missing_media("A3PLUS", "BLUE FILM") == "film size A3PLUS is not loaded"


def test_the_settings_offer_exactly_what_the_renderer_draws() -> None:
    assert typing.get_args(Smoothing) == SMOOTHING_TYPES
    for magnification in typing.get_args(Magnification):
        for smoothing in SMOOTHING_TYPES:
            assert kernel_for(magnification, smoothing) in KERNELS


def test_a_curve_is_the_ideal_one_unless_measured() -> None:
    ideal = Printer.of(PrinterConfig(ae_title="P", directory="out", min_density=10))
    assert (ideal.curve.min_density, ideal.curve.max_density) == (0.10, 3.20)
    measured = Printer.of(
        PrinterConfig(ae_title="P", directory="out", characteristic_curve=((0, 3.0), (4095, 0.15)))
    )
    assert measured.curve.densities == (3.0, 0.15)


def test_uncovered_is_the_page_less_the_images_exactly() -> None:
    """Border fills go only where no image is drawn, and everywhere else: with overlapping,
    touching, empty and edge-to-edge rectangles, every pixel is covered once or not at all."""
    import numpy as np

    from printserver.render.geometry import uncovered

    rng = np.random.default_rng(4)
    for _ in range(50):
        height, width = (int(v) for v in rng.integers(1, 60, 2))
        rects = []
        for _ in range(int(rng.integers(0, 6))):
            x0, x1 = sorted(int(v) for v in rng.integers(0, width + 1, 2))
            y0, y1 = sorted(int(v) for v in rng.integers(0, height + 1, 2))
            rects.append((x0, y0, x1, y1))
        images = np.zeros((height, width), bool)
        for x0, y0, x1, y1 in rects:
            images[y0:y1, x0:x1] = True
        bare = np.zeros((height, width), np.int64)
        for x0, y0, x1, y1 in uncovered((height, width), rects):
            assert x0 < x1 and y0 < y1
            bare[y0:y1, x0:x1] += 1
        assert np.array_equal(bare, (~images).astype(np.int64))
