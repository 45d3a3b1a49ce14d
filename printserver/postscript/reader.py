"""Reading back the PostScript this server writes (``postscript/writer.py``).

The layout is known exactly: per page, bands of Flate-compressed samples with
the PNG Up predictor inside ``%%BeginData`` blocks, the page size in each
page's ``setpagedevice``.  Reading them needs neither Ghostscript nor the DICOM
objects.  Samples come back at 8 bits, which is plenty for a picture on screen, or at
the 12 bits they were written with, for an imager that is sent the page itself.
Reader and writer live side by side so that a change of one is seen in the
other.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from printserver.durable import map_readonly

_BLOCK = re.compile(rb"%%BeginData: (\d+) Binary Bytes\n")
_IMAGE = re.compile(
    rb"/Width (\d+) /Height (\d+) /BitsPerComponent (\d+) /Decode \[([0-9 ]+)\]"
    rb" /ImageMatrix \[\d+ 0 0 -(\d+) 0 (\d+)\].*?image\n",
    re.DOTALL,
)
_PAGE = re.compile(rb"%%Page: ")
_PAGE_SIZE = re.compile(rb"/PageSize \[([0-9.]+) ([0-9.]+)\]")
_PAGES = re.compile(rb"^%%Pages: (\d+)$", re.MULTILINE)
_HEADER_BYTES = 16384
"""The header comments are in the first lines; a title is at most a few hundred bytes."""


class NotOurPostScript(ValueError):
    """The document is not PostScript as this server writes it."""


Page = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]


def _band(header: re.Match[bytes], stream: bytes, full: bool) -> tuple[int, Page]:
    width, rows, bits = int(header[1]), int(header[2]), int(header[3])
    components = len(header[4].split()) // 2
    page_height, offset = int(header[5]), int(header[6])
    row_bytes = (width * components * bits + 7) // 8
    raw = np.frombuffer(zlib.decompress(stream), dtype=np.uint8)
    if raw.size != rows * (row_bytes + 1):
        raise NotOurPostScript("a band does not hold the rows it announces")
    predicted = raw.reshape(rows, row_bytes + 1)[:, 1:]
    data = np.cumsum(predicted, axis=0, dtype=np.uint8)  # undo PNG Up, modulo 256
    if bits == 12:
        pairs = np.zeros((rows, (width + 1) // 2 * 3), np.uint8)
        pairs[:, :row_bytes] = data
        triples = pairs.reshape(rows, -1, 3).astype(np.uint16)
        samples = np.empty((rows, triples.shape[1] * 2), np.uint16)
        samples[:, 0::2] = (triples[:, :, 0] << 4) | (triples[:, :, 1] >> 4)
        samples[:, 1::2] = ((triples[:, :, 1] & 0xF) << 8) | triples[:, :, 2]
        if full:
            return page_height - offset, samples[:, :width]
        data = (samples[:, :width] >> 4).astype(np.uint8)
    elif components == 3:
        data = data.reshape(rows, width, 3)
    elif components == 4:  # DeviceCMYK, shown naively as RGB: a preview, not a proof
        cmyk = data.reshape(rows, width, 4).astype(np.uint16)
        data = (255 - np.minimum(cmyk[:, :, :3] + cmyk[:, :, 3:], 255)).astype(np.uint8)
    top = page_height - offset
    return top, data


def _page(chunk: bytes, full: bool) -> Page:
    """One page's bands put together."""
    bands = []
    for block in _BLOCK.finditer(chunk):
        length = int(block[1])
        data = chunk[block.end() : block.end() + length]
        header = _IMAGE.search(data)
        if header is None:
            raise NotOurPostScript("an image block of unknown form")
        bands.append(_band(header, data[header.end() :], full))
    if not bands:
        raise NotOurPostScript("a page without image data")
    height = bands[0][1].shape[0] + bands[0][0] + sum(b.shape[0] for _, b in bands[1:])
    page: Page = np.zeros((height, *bands[0][1].shape[1:]), bands[0][1].dtype)
    for top, band in bands:
        page[top : top + band.shape[0]] = band
    return page


def iter_pages(path: Path) -> Iterator[npt.NDArray[np.uint8]]:
    """Every page of a spooled film as 8-bit gray (H, W) or RGB (H, W, 3), one at a time.

    The file is mapped, not read: a 50-film job costs one decoded page of memory.
    """
    for page in _pages(path, full=False):
        yield page.astype(np.uint8, copy=False)


def iter_samples(path: Path) -> Iterator[Page]:
    """Every page as written: 12-bit gray (uint16, 0..4095), or 8-bit gray or RGB bytes."""
    return _pages(path, full=True)


def _pages(path: Path, full: bool) -> Iterator[Page]:
    mapping = map_readonly(path)
    if mapping is None:
        raise NotOurPostScript(f"{path} holds no page")
    with mapping:
        starts = [match.end() for match in _PAGE.finditer(mapping)]
        if not starts:
            raise NotOurPostScript(f"{path} holds no page")
        for start, end in zip(starts, [*starts[1:], len(mapping)], strict=True):
            yield _page(mapping[start:end], full)


def page_count(path: Path) -> int:
    """The number of pages, from the header's ``%%Pages:`` comment: no page is decoded."""
    with path.open("rb") as document:
        head = document.read(_HEADER_BYTES)
    found = _PAGES.findall(head.split(b"%%EndComments", 1)[0])
    if not found:
        raise NotOurPostScript(f"{path} has no page count in its header")
    return int(found[-1])


def read_pages(path: Path) -> list[npt.NDArray[np.uint8]]:
    """Every page of a spooled film as 8-bit gray (H, W) or RGB (H, W, 3)."""
    return list(iter_pages(path))


def page_sizes(path: Path) -> list[tuple[float, float]]:
    """Each page's size in points, from its own ``setpagedevice``."""
    return [
        (float(width), float(height)) for width, height in _PAGE_SIZE.findall(path.read_bytes())
    ][1:]  # after the setup
