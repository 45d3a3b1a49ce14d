"""Film page rasters → a DSC 3.0 conformant PostScript Level 3 document.

Each page is sent as horizontal bands, each band its own ``image`` with its own
Flate stream (PNG "Up" predictor), binary inside ``%%BeginData … Binary Bytes``
so DSC readers such as CUPS' pstops copy it untouched.  Grayscale samples are
12 bits (two samples in three bytes) unless the printer asks for 8; the only
quantisation is that final step.  Colour pages are DeviceRGB, 8 bits per
component.  The page size is the raster itself (width_px × 72 / dpi
points), so a renderer at the same dpi maps one sample to one device pixel.
Bands are compressed on two threads (zlib releases the GIL) and written in
order, so memory holds one page plus a few compressed bands.
Compression uses libdeflate (the ``deflate`` package): zlib-compatible streams
at twice zlib's speed with a smaller result, and it releases the GIL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import deflate
import numpy as np
import numpy.typing as npt

from printserver import __version__
from printserver.render.sheet import DRIVE_MAX

BAND_ROWS = 256
FLATE_LEVEL = 1


@dataclass(frozen=True)
class PageSpec:
    """One page: its raster size and resolution, and how to draw it when it is written."""

    width_px: int
    height_px: int
    dpi: int
    media_name: str
    render: Callable[[], npt.NDArray[np.uint16] | npt.NDArray[np.uint8]]
    color: bool = False  # DeviceRGB, 8 bits per component, instead of DeviceGray

    @property
    def size_pt(self) -> tuple[float, float]:
        return self.width_px * 72 / self.dpi, self.height_px * 72 / self.dpi


_EIGHT_BITS = ((np.arange(DRIVE_MAX + 1, dtype=np.uint32) * 255 + DRIVE_MAX // 2)
               // DRIVE_MAX).astype(np.uint8)
"""Each 12-bit drive value rounded to 8 bits: one table lookup per sample instead of arithmetic."""


def pack_samples(band: npt.NDArray[np.uint16], bits: int) -> npt.NDArray[np.uint8]:
    """Rows of DeviceGray samples as PostScript reads them, each row padded to a byte."""
    if bits == 8:
        return _EIGHT_BITS.take(band, mode="clip")
    height, width = band.shape
    if width % 2:
        band = np.concatenate([band, np.zeros((height, 1), np.uint16)], axis=1)
    first, second = band[:, 0::2], band[:, 1::2]
    packed = np.empty((height, first.shape[1], 3), dtype=np.uint8)
    # stores into uint8 keep the low byte, so no masks are needed
    np.right_shift(first, 4, out=packed[:, :, 0], casting="unsafe")
    middle = np.left_shift(first, 4)
    middle |= second >> 8
    packed[:, :, 1] = middle
    packed[:, :, 2] = second
    return packed.reshape(height, -1)[:, : (width * 12 + 7) // 8]


def _up_predicted(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Rows behind a PNG filter-type byte, each the bytewise difference from the row above."""
    predicted = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    predicted[:, 0] = 2  # PNG filter type Up
    predicted[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=predicted[1:, 1:])
    return predicted


def _compress_band(band: npt.NDArray[np.uint16] | npt.NDArray[np.uint8], bits: int) -> bytearray:
    if band.ndim == 3:  # RGB bytes, interleaved as DeviceRGB reads them
        rows = np.ascontiguousarray(band, dtype=np.uint8).reshape(band.shape[0], -1)
    else:
        rows = pack_samples(band.astype(np.uint16, copy=False), bits)
    stream: bytearray = deflate.zlib_compress(_up_predicted(rows).data, FLATE_LEVEL)
    return stream


DSC_TEXT_MAX = 200
"""Characters of one DSC text value, so its line stays within DSC 3.0's 255 (Adobe TN 5001)."""


def dsc_text(value: str) -> str:
    """``value`` as one DSC text: the only way any string enters the document.

    DSC comment values are read up to the end of the line, and PostScript ends
    a comment at CR, LF or FF (PLRM 3.2), so a value that brought its own line
    break would put its own program into the document.  The result is a
    parenthesised string of printable ASCII alone (a DSC 3.0 ``<text>``, Adobe
    TN 5001): backslash and both parentheses are escaped, so the parentheses
    always balance; Latin-1 letters become octal escapes; control characters
    (C0, DEL, C1) and anything beyond Latin-1 become ``?``.  Long values are
    cut, never inside an escape.  The program itself has no string operands.
    """
    parts: list[str] = []
    length = 0
    for char in value:
        code = ord(char)
        if char in "\\()":
            part = "\\" + char
        elif 0x20 <= code <= 0x7E:
            part = char
        elif 0xA0 <= code <= 0xFF:
            part = f"\\{code:03o}"
        else:
            part = "?"
        length += len(part)
        if length > DSC_TEXT_MAX:
            break
        parts.append(part)
    return "(" + "".join(parts) + ")"


def _header(pages: Sequence[PageSpec], title: str, creator: str) -> Iterator[str]:
    widths = [p.size_pt[0] for p in pages] or [0.0]
    heights = [p.size_pt[1] for p in pages] or [0.0]
    yield "%!PS-Adobe-3.0"
    yield f"%%Title: {dsc_text(title)}"
    yield f"%%Creator: {dsc_text(f'{creator} {__version__}')}"
    yield f"%%CreationDate: {dsc_text(datetime.now(UTC).strftime('D:%Y%m%d%H%M%SZ'))}"
    yield "%%LanguageLevel: 3"
    yield f"%%BoundingBox: 0 0 {math.ceil(max(widths))} {math.ceil(max(heights))}"
    yield f"%%HiResBoundingBox: 0 0 {max(widths):.4f} {max(heights):.4f}"
    seen: set[tuple[str, float, float]] = set()
    for page in pages:
        media = (page.media_name, *page.size_pt)
        if media not in seen:
            lead = "%%DocumentMedia:" if not seen else "%%+"
            yield f"{lead} {dsc_text(page.media_name)} {media[1]:.4f} {media[2]:.4f} 0 () ()"
            seen.add(media)
    yield "%%DocumentData: Binary"
    yield f"%%Pages: {len(pages)}"
    yield "%%EndComments"
    yield "%%BeginProlog"
    yield "%%EndProlog"
    yield "%%BeginSetup"
    if pages:
        yield _page_size(pages[0])
    yield "%%EndSetup"


def _page_size(page: PageSpec) -> str:
    width, height = page.size_pt
    return f"[{{ << /PageSize [{width:.4f} {height:.4f}] >> setpagedevice }} stopped cleartomark"


def _write_page(
    out: BinaryIO, page: PageSpec, number: int, bits: int, pool: ThreadPoolExecutor
) -> None:
    raster = page.render()
    expected: tuple[int, ...] = (page.height_px, page.width_px)
    if page.color:
        expected, bits = (*expected, 3), 8
    if raster.shape != expected:
        raise ValueError(f"page {number} raster {raster.shape} is not {expected}")
    space, components = ("/DeviceRGB", 3) if page.color else ("/DeviceGray", 1)
    width, height = page.size_pt
    lines = [
        f"%%Page: {number} {number}",
        f"%%PageMedia: {dsc_text(page.media_name)}",
        "%%BeginPageSetup",
        _page_size(page),
        "%%EndPageSetup",
        "gsave",
        f"{space} setcolorspace",
        f"{width:.4f} {height:.4f} scale",
    ]
    out.write(("\n".join(lines) + "\n").encode("ascii"))
    # the Up predictor works on bytes, so it is declared over bytes (Flate allows no 12-bit)
    row_bytes = (page.width_px * components * bits + 7) // 8
    starts = range(0, page.height_px, BAND_ROWS)
    streams = pool.map(lambda y: _compress_band(raster[y:y + BAND_ROWS], bits), starts)
    for top, stream in zip(starts, streams, strict=True):
        rows = min(BAND_ROWS, page.height_px - top)
        operator = (
            f"<< /ImageType 1 /Width {page.width_px} /Height {rows} /BitsPerComponent {bits}"
            f" /Decode [{' '.join(['0 1'] * components)}]"
            f" /ImageMatrix [{page.width_px} 0 0 -{page.height_px} 0"
            f" {page.height_px - top}] /DataSource currentfile << /Predictor 12"
            f" /Columns {row_bytes} /Colors 1 /BitsPerComponent 8 >>"
            " /FlateDecode filter >> image\n"
        ).encode("ascii")
        out.write(f"%%BeginData: {len(operator) + len(stream)} Binary Bytes\n".encode("ascii"))
        out.write(operator)
        out.write(stream)
        out.write(b"\n%%EndData\n")
    out.write(b"grestore\nshowpage\n%%PageTrailer\n")


def write_postscript(
    out: BinaryIO,
    pages: Sequence[PageSpec],
    *,
    title: str,
    bits: int = 12,
    creator: str = "printserver",
) -> None:
    """Write a whole document; pages are rendered one at a time as they are written."""
    if bits not in (8, 12):
        raise ValueError(f"bits must be 8 or 12, not {bits}")
    out.write(("\n".join(_header(pages, title, creator)) + "\n").encode("ascii"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for number, page in enumerate(pages, start=1):
            _write_page(out, page, number, bits, pool)
    out.write(b"%%Trailer\n%%EOF\n")
