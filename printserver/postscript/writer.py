"""Film page rasters → a DSC 3.0 conformant PostScript Level 3 document.

Each page is sent as horizontal bands, each band its own ``image`` with its own
Flate stream (PNG "Up" predictor), binary inside ``%%BeginData … Binary Bytes``
so DSC readers such as CUPS' pstops copy it untouched.  Grayscale samples are
12 bits (two samples in three bytes) unless the printer asks for 8; the only
quantisation is that final step.  Colour pages are DeviceRGB, or DeviceCMYK when
the printer's ICC profile is CMYK, 8 bits per component.  The page size is the
raster itself (width_px × 72 / dpi points), so a renderer at the same dpi maps
one sample to one device pixel.

Bands are drawn, packed and compressed on a pool of threads (numpy and ISA-L
release the GIL) and written in order, so the bytes do not depend on the
number of threads.  A page that can draw its own bands (:class:`PageRaster`)
is never held whole: memory holds the bands in flight, a few per thread.
Compression uses ISA-L (the ``isal`` package): zlib streams two to three times
as fast as libdeflate's level 1 on film data, within a few per cent of its size.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

import numpy as np
import numpy.typing as npt
from isal import isal_zlib

from printserver import __version__
from printserver.render.sheet import DRIVE_MAX

BAND_ROWS = 256
"""Rows of one PostScript image: one Flate stream, one task for a thread."""

FLATE_LEVEL = 1
"""ISA-L's level 1: its level 0 is no faster on film data and leaves it nearly raw."""

Raster = npt.NDArray[np.uint16] | npt.NDArray[np.uint8]


class PageRaster(Protocol):
    """A page that draws any band of its rows on demand, from any thread."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def rows(self, top: int, bottom: int) -> Raster: ...


class _WholePage:
    """A raster drawn in one piece, handed out by bands."""

    def __init__(self, raster: Raster) -> None:
        self.raster = raster

    @property
    def shape(self) -> tuple[int, ...]:
        return self.raster.shape

    def rows(self, top: int, bottom: int) -> Raster:
        return self.raster[top:bottom]


@dataclass(frozen=True)
class PageSpec:
    """One page: its raster size and resolution, and how to draw it when it is written.

    ``render`` returns the whole raster, or a :class:`PageRaster` that draws
    bands as they are written (``compose.SheetRaster``), which keeps memory to
    a few bands.
    """

    width_px: int
    height_px: int
    dpi: int
    media_name: str
    render: Callable[[], Raster | PageRaster]
    color: bool = False  # DeviceRGB, 8 bits per component, instead of DeviceGray
    cmyk: bool = False  # with ``color``: DeviceCMYK, 4 components of 8 bits (PLRM 4.8.3)

    @property
    def size_pt(self) -> tuple[float, float]:
        return self.width_px * 72 / self.dpi, self.height_px * 72 / self.dpi


_EIGHT_BITS = np.float32(255 / DRIVE_MAX)


def pack_samples(band: npt.NDArray[np.uint16], bits: int) -> npt.NDArray[np.uint8]:
    """Rows of DeviceGray samples as PostScript reads them, each row padded to a byte.

    8 bits: each drive value rounded, ``(d * 255 + 2047) // 4095``; in float32
    that is exact (no product lies within 1e-4 of a half) and faster than a
    table, whose lookups need 64-bit indices.  12 bits: two samples in three
    bytes, big-endian.
    """
    if bits == 8:
        values = band.astype(np.float32)
        values *= _EIGHT_BITS
        np.rint(values, out=values)
        np.minimum(values, 255, out=values)
        return values.astype(np.uint8)
    height, width = band.shape
    if width % 4:
        band = np.concatenate([band, np.zeros((height, -width % 4), np.uint16)], axis=1)
    # four samples s0..s3 become three little-endian 16-bit words of the six packed bytes;
    # each sample is first made contiguous, as strided arithmetic runs at half speed
    s0, s1, s2, s3 = (np.ascontiguousarray(band[:, k::4]) for k in range(4))
    words = np.empty((height, s0.shape[1], 3), np.dtype("<u2"))
    word = np.right_shift(s0, 4)  # byte 0: s0 >> 4; byte 1: s0's low nibble, s1 >> 8
    spare = np.left_shift(s0, 12)
    word |= spare
    np.bitwise_and(s1, 0xF00, out=spare)
    word |= spare
    words[:, :, 0] = word
    np.bitwise_and(s1, 0xFF, out=word)  # byte 2: s1's low byte; byte 3: s2 >> 4
    np.left_shift(s2, 4, out=spare)
    spare &= 0xFF00
    word |= spare
    words[:, :, 1] = word
    np.left_shift(s2, 4, out=word)  # byte 4: s2's low nibble, s3 >> 8; byte 5: s3's low byte
    word &= 0xF0
    np.right_shift(s3, 8, out=spare)
    word |= spare
    np.left_shift(s3, 8, out=spare)
    word |= spare
    words[:, :, 2] = word
    return words.view(np.uint8).reshape(height, -1)[:, : (width * 12 + 7) // 8]


def _up_predicted(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Rows behind a PNG filter-type byte, each the bytewise difference from the row above."""
    predicted = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    predicted[:, 0] = 2  # PNG filter type Up
    predicted[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=predicted[1:, 1:])
    return predicted


def _encode_band(page: PageRaster, top: int, bottom: int, bits: int) -> bytes:
    """Draw, pack, predict and compress one band: the whole task of one thread."""
    band = page.rows(top, bottom)
    if band.ndim == 3:  # RGB or CMYK bytes, interleaved as DeviceRGB/CMYK reads them
        rows = np.ascontiguousarray(band, dtype=np.uint8).reshape(band.shape[0], -1)
    else:
        rows = pack_samples(band.astype(np.uint16, copy=False), bits)
    return isal_zlib.compress(_up_predicted(rows), FLATE_LEVEL)


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


def _colour_space(page: PageSpec) -> tuple[str, int]:
    """The page's PostScript colour space and its components per sample."""
    if not page.color:
        return "/DeviceGray", 1
    return ("/DeviceCMYK", 4) if page.cmyk else ("/DeviceRGB", 3)


def _write_page(
    out: BinaryIO,
    page: PageSpec,
    number: int,
    bits: int,
    pool: ThreadPoolExecutor | None,
    workers: int,
) -> None:
    drawn = page.render()
    raster = _WholePage(drawn) if isinstance(drawn, np.ndarray) else drawn
    expected: tuple[int, ...] = (page.height_px, page.width_px)
    space, components = _colour_space(page)
    if page.color:
        expected, bits = (*expected, components), 8
    if tuple(raster.shape) != expected:
        raise ValueError(f"page {number} raster {raster.shape} is not {expected}")
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

    def write_band(top: int, stream: bytes) -> None:
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

    tops = range(0, page.height_px, BAND_ROWS)
    if pool is None:
        for top in tops:
            write_band(top, _encode_band(raster, top, min(top + BAND_ROWS, page.height_px), bits))
    else:
        # a bounded window of bands in flight: every thread busy, memory a few bands deep
        pending: deque[tuple[int, Future[bytes]]] = deque()
        try:
            for top in tops:
                pending.append(
                    (
                        top,
                        pool.submit(
                            _encode_band, raster, top, min(top + BAND_ROWS, page.height_px), bits
                        ),
                    )
                )
                if len(pending) > 2 * workers:
                    top, band = pending.popleft()
                    write_band(top, band.result())
            while pending:
                top, band = pending.popleft()
                write_band(top, band.result())
        finally:  # after a failure, bands not started are not drawn for nothing
            for _, band in pending:
                band.cancel()
    out.write(b"grestore\nshowpage\n%%PageTrailer\n")


def write_postscript(
    out: BinaryIO,
    pages: Sequence[PageSpec],
    *,
    title: str,
    bits: int = 12,
    creator: str = "printserver",
    workers: int | None = None,
) -> None:
    """Write a whole document; pages are rendered one at a time as they are written.

    Bands are encoded on ``workers`` threads (default: one per core; 1 encodes
    in the calling thread).  The output is the same byte for byte whatever
    the number.  The threads end with the call.
    """
    if bits not in (8, 12):
        raise ValueError(f"bits must be 8 or 12, not {bits}")
    count = workers or os.cpu_count() or 1
    out.write(("\n".join(_header(pages, title, creator)) + "\n").encode("ascii"))
    if count == 1:
        for number, page in enumerate(pages, start=1):
            _write_page(out, page, number, bits, None, 1)
    else:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="postscript") as pool:
            for number, page in enumerate(pages, start=1):
                _write_page(out, page, number, bits, pool, count)
    out.write(b"%%Trailer\n%%EOF\n")
