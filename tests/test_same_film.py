"""The same film on every machine: fixed films whose SHA-256 is stored here.

A film's bytes must not depend on the CPU, the BLAS kernel numpy's OpenBLAS picks
for it, the thread count or how the page is cut into bands.  The test command runs
this file again under other OpenBLAS kernels (``OPENBLAS_CORETYPE``); the hashes
below must hold under every one of them.  They change only when the rendering is
meant to change: then the failure prints the new hash, to be stored with the change
that explains it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re

import numpy as np
import pytest

from printserver.postscript import PageSpec, write_postscript
from printserver.render.compose import SheetRaster, render_sheet
from printserver.render.geometry import Box, PageGeometry
from printserver.render.sheet import (
    CharacteristicCurve,
    FilmSheet,
    PresentationLut,
    SheetAnnotation,
    SheetImage,
    ToneScale,
)

GOLDEN = {
    "gray raster": "22c39b773e24c4895cb21ff21a35cc80db95d06cdec02e798dcd39f08bd1fb42",
    "gray postscript 12": "c4b699876224872e6d65ca616bd875f8373ef5acb561a8e11aa928b08fd7b030",
    "gray postscript 8": "ed2197145ab089af9689cb114ba7df8b2d4cbff66c7be4eae201e22acbcb3d47",
    "colour raster": "731d9fc9e24a3b70b1893bc2ec71f7a13328c6db359804a556b3ea1c9b194c61",
    "colour postscript": "b4535274e27342e607d82f54b1a7a5186ceec82514204480e4a020d1efdcd620",
}


def _ramp(rows: int, columns: int) -> np.ndarray:
    """A 12-bit ramp across, with a slower one down: every value from 0 to 4095."""
    across = np.arange(columns) * 4095 // (columns - 1)
    down = np.arange(rows)[:, None] * 7 % 64
    return np.clip(across[None, :] + down - 32, 0, 4095).astype(np.uint16)


def gray_film() -> FilmSheet:
    """2×2 of 12-bit ramps and a 16-bit image: GSDF and LIN OD, every kernel, three LUTs."""
    curve = CharacteristicCurve((0.0, 1500.0, 4095.0), (3.1, 1.2, 0.18))  # a measured film
    gsdf = ToneScale(0.20, 3.00, 2000.0, 10.0, curve)
    lin_od = ToneScale(0.20, 3.00, 2000.0, 10.0, curve, linear_od=True)
    ramp = _ramp(300, 411)
    square = (np.arange(4096) ** 2 // 4095).astype(np.uint16) * 16  # 16-bit square law
    wide = (np.add.outer(np.arange(173) * 211, np.arange(229) * 97) % 65536).astype(np.uint16)
    images = {
        1: SheetImage(ramp, 12, tone=gsdf),  # enlarged, CUBIC
        2: SheetImage(ramp, 12, tone=lin_od, magnification="BILINEAR"),
        3: SheetImage(
            ramp[::3, ::5],
            12,
            invert=True,
            tone=gsdf,
            smoothing="SHARP",
            presentation_lut=PresentationLut("TABLE", square, 16),
        ),
        4: SheetImage(
            wide,
            16,
            tone=gsdf,
            smoothing="SMOOTH",
            presentation_lut=PresentationLut(
                "TABLE", np.arange(256, dtype=np.uint16) * 257 // 2, 16
            ),
        ),
    }
    annotation = SheetAnnotation(3.0, (Box(0.0, 0.0, 1.0, 1.0),), ("left",), ("GOLDEN 1",))
    return FilmSheet(
        page=PageGeometry(203.2, 254.0, 150, 4.0, 2.0, "bottom", 8.0),
        boxes=tuple(Box(c / 2, r / 2, 0.5, 0.5) for r in range(2) for c in range(2)),
        images=images,
        border=300,
        empty=4095,
        annotation=annotation,
        trim=True,
    )


def colour_film() -> FilmSheet:
    """2×1 of RGB ramps as sent (sRGB), one enlarged and one reduced and reversed."""
    y, x = np.mgrid[0:240, 0:320]
    rgb = np.stack([x * 255 // 319, y * 255 // 239, (x + y) * 255 // 558], axis=-1)
    rgb = rgb.astype(np.uint8)
    images = {
        1: SheetImage(rgb[:90, :120], 8, smoothing="SMOOTH"),
        2: SheetImage(rgb, 8, invert=True, magnification="BILINEAR"),
    }
    return FilmSheet(
        page=PageGeometry(127.0, 101.6, 150),
        boxes=(Box(0.0, 0.0, 0.5, 1.0), Box(0.5, 0.0, 0.5, 1.0)),
        images=images,
        color=True,
    )


def _postscript(sheet: FilmSheet, bits: int, workers: int) -> bytes:
    out = io.BytesIO()
    page = PageSpec(
        sheet.width_px,
        sheet.height_px,
        sheet.dpi,
        "Custom",
        lambda: SheetRaster(sheet),
        sheet.color,
    )
    write_postscript(out, [page], title="golden", bits=bits, workers=workers)
    return re.sub(rb"%%CreationDate: [^\n]*\n", b"", out.getvalue())


def _check(name: str, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    kernel = os.environ.get("OPENBLAS_CORETYPE", "the machine's own")
    assert digest == GOLDEN[name], f"{name} is {digest} (OpenBLAS kernel {kernel})"


@pytest.mark.parametrize("workers", [1, 3])
def test_golden_gray_film(workers: int) -> None:
    sheet = gray_film()
    page = render_sheet(sheet, workers=workers)
    assert len(np.unique(page)) > 1500  # ramps through the tone scale, not a blank page
    _check("gray raster", page.tobytes())
    _check("gray postscript 12", _postscript(sheet, 12, workers))
    _check("gray postscript 8", _postscript(sheet, 8, workers))


@pytest.mark.parametrize("workers", [1, 3])
def test_golden_colour_film(workers: int) -> None:
    sheet = colour_film()
    page = render_sheet(sheet, workers=workers)
    assert len(np.unique(page.reshape(-1, 3), axis=0)) > 5000
    _check("colour raster", page.tobytes())
    _check("colour postscript", _postscript(sheet, 8, workers))
