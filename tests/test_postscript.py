"""PostScript Level 3 writer: DSC structure, and Ghostscript renders it bit for bit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from printserver.postscript import PageSpec, pack_samples, write_postscript
from tests.ghostscript import render_gray8, render_gray16


def _write(path: Path, rasters: list[np.ndarray], dpi: int, bits: int) -> bytes:
    pages = [PageSpec(r.shape[1], r.shape[0], dpi, f"M{i}", lambda r=r: r)
             for i, r in enumerate(rasters)]
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
    for line in ("%!PS-Adobe-3.0\n", "%%LanguageLevel: 3\n", "%%BoundingBox: 0 0 201 300\n",
                 "%%DocumentMedia: (M0) 201.0000 300.0000 0 () ()\n", "%%+ (M1) 77.0000",
                 "%%Pages: 2\n", "%%EndComments\n", "setpagedevice"):
        assert line in head
    assert data.endswith(b"%%EOF\n") and b"ASCIIHex" not in data
    blocks = 0
    for match in re.finditer(rb"%%BeginData: (\d+) Binary Bytes\n", data):
        end = match.end() + int(match.group(1))
        assert data[end:end + 11] == b"\n%%EndData\n"
        assert b"/BitsPerComponent 12" in data[match.end():match.end() + 300]
        assert b"/FlateDecode filter >> image" in data[match.end():match.end() + 300]
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
