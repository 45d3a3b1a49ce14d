"""PostScript Level 3 writer: DSC structure, Ghostscript renders it bit for bit, and threads
change no byte of it."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from printserver.postscript.writer import BAND_ROWS, PageSpec, pack_samples, write_postscript
from printserver.render.compose import SheetRaster, render_sheet
from printserver.render.geometry import Box, PageGeometry
from printserver.render.sheet import CharacteristicCurve, FilmSheet, SheetImage, ToneScale
from tests.ghostscript import render_gray8, render_gray16


def _write(path: Path, rasters: list[np.ndarray], dpi: int, bits: int) -> bytes:
    pages = [
        PageSpec(r.shape[1], r.shape[0], dpi, f"M{i}", lambda r=r: r) for i, r in enumerate(rasters)
    ]
    with open(path, "wb") as out:
        write_postscript(out, pages, title="test (film)", bits=bits)
    return path.read_bytes()


def _rasters() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:300, 0:201]
    smooth = ((x * 13 + y * 7) % 4096).astype(np.uint16)
    return [smooth, rng.integers(0, 4096, (100, 77)).astype(np.uint16)]  # odd widths


def test_pack_12_bit_two_samples_in_three_bytes() -> None:
    band = np.array([[0xABC, 0x123, 0xFFF]], dtype=np.uint16)
    assert pack_samples(band, 12).tolist() == [[0xAB, 0xC1, 0x23, 0xFF, 0xF0]]


def test_dsc_structure_and_data_counts(tmp_path: Path) -> None:
    data = _write(tmp_path / "doc.ps", _rasters(), 72, 12)
    head = data[:2000].decode("latin-1")
    for line in (
        "%!PS-Adobe-3.0\n",
        "%%LanguageLevel: 3\n",
        "%%BoundingBox: 0 0 201 300\n",
        "%%DocumentMedia: (M0) 201.0000 300.0000 0 () ()\n",
        "%%+ (M1) 77.0000",
        "%%Pages: 2\n",
        "%%EndComments\n",
        "setpagedevice",
    ):
        assert line in head
    assert data.endswith(b"%%EOF\n") and b"ASCIIHex" not in data
    blocks = 0
    for match in re.finditer(rb"%%BeginData: (\d+) Binary Bytes\n", data):
        end = match.end() + int(match.group(1))
        assert data[end : end + 11] == b"\n%%EndData\n"
        assert b"/BitsPerComponent 12" in data[match.end() : match.end() + 300]
        assert b"/FlateDecode filter >> image" in data[match.end() : match.end() + 300]
        blocks += 1
    assert blocks == 2 + 1  # 300 rows = two bands, 100 rows = one


@pytest.mark.parametrize("bits", [12, 8])
def test_ghostscript_renders_exactly_the_raster(tmp_path: Path, bits: int) -> None:
    rasters = _rasters()
    path = tmp_path / "doc.ps"
    _write(path, rasters, 72, bits)
    if bits == 12:
        pages = render_gray16(path, 72)
        expected = rasters
    else:
        pages = render_gray8(path, 72)  # type: ignore[assignment]
        expected = [((r.astype(np.uint32) * 255 + 2047) // 4095) for r in rasters]
    assert len(pages) == 2
    for page, want in zip(pages, expected, strict=True):
        assert page.shape == want.shape
        assert np.array_equal(page, want), np.count_nonzero(page != want)


def test_pack_8_bits_rounds_every_drive_value_once() -> None:
    drives = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    expected = (drives.astype(np.uint32) * 255 + 2047) // 4095
    assert np.array_equal(pack_samples(drives, 8), expected)


@pytest.mark.parametrize("width", range(1, 10))
def test_pack_12_bits_is_the_samples_bit_after_bit(width: int) -> None:
    band = np.random.default_rng(width).integers(0, 4096, (3, width)).astype(np.uint16)
    bits = ((band[:, :, None] >> np.arange(11, -1, -1)) & 1).reshape(3, -1).astype(np.uint8)
    assert np.array_equal(pack_samples(band, 12), np.packbits(bits, axis=1))


def _sheet(color: bool) -> FilmSheet:
    rng = np.random.default_rng(11)
    tone = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
    if color:
        images = {
            i: SheetImage(rng.integers(0, 256, (97, 83, 3), dtype=np.uint8), 8) for i in (1, 2, 4)
        }
    else:
        images = {
            i: SheetImage(rng.integers(0, 4096, (97, 83)).astype(np.uint16), 12, tone=tone)
            for i in (1, 2, 4)
        }
    return FilmSheet(
        page=PageGeometry(101.6, 127.0, dpi=150),
        images=images,
        color=color,
        boxes=tuple(Box(c / 2, r / 2, 0.5, 0.5) for r in range(2) for c in range(2)),
    )


def _document(
    render: Callable[[], np.ndarray | SheetRaster], sheet: FilmSheet, bits: int, workers: int
) -> bytes:
    out = io.BytesIO()
    page = PageSpec(sheet.width_px, sheet.height_px, sheet.dpi, "Custom", render, color=sheet.color)
    write_postscript(out, [page, page], title="film", bits=bits, workers=workers)
    return re.sub(rb"%%CreationDate: [^\n]*\n", b"", out.getvalue())


@pytest.mark.parametrize(("color", "bits"), [(False, 12), (False, 8), (True, 8)])
def test_bands_encoded_on_threads_are_the_bytes_of_one_thread(color: bool, bits: int) -> None:
    """Whatever the threads, and whether the page is drawn whole or band by band."""
    sheet = _sheet(color)
    threads = set(threading.enumerate())  # earlier tests' threads may end meanwhile
    serial = _document(lambda: render_sheet(sheet, workers=1), sheet, bits, 1)
    assert serial.count(b"%%BeginData") == 2 * -(-sheet.height_px // BAND_ROWS) > 4
    assert _document(lambda: render_sheet(sheet), sheet, bits, 3) == serial
    assert _document(lambda: SheetRaster(sheet), sheet, bits, 3) == serial
    assert _document(lambda: SheetRaster(sheet), sheet, bits, 1) == serial
    assert not set(threading.enumerate()) - threads  # the pools ended with the calls
