"""Render PostScript with Ghostscript into numpy arrays, for pixel comparisons."""

from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

CUPS_HEADER = 1796  # bytes of a CUPS raster v3 page header (after the 4-byte sync word)


def _gs(ps: Path, device: str, dpi: int, output: Path, *extra: str) -> None:
    subprocess.run(
        [
            "gs",
            "-q",
            "-dSAFER",
            "-dNOPAUSE",
            "-dBATCH",
            f"-sDEVICE={device}",
            f"-r{dpi}",
            *extra,
            f"-sOutputFile={output}",
            str(ps),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )


def render_gray16(ps: Path, dpi: int) -> list[npt.NDArray[np.uint16]]:
    """Every page as 12-bit values, via the cups device at 16 bits per sample."""
    with tempfile.TemporaryDirectory() as work:
        raster = Path(work) / "out.ras"
        _gs(ps, "cups", dpi, raster, "-dcupsColorSpace=0", "-dcupsBitsPerColor=16")
        data = raster.read_bytes()
    pages = []
    offset = 4  # sync word
    while offset < len(data):
        header = data[offset : offset + CUPS_HEADER]
        width, height = struct.unpack_from("<II", header, 372)
        bytes_per_line = struct.unpack_from("<I", header, 392)[0]
        offset += CUPS_HEADER
        size = bytes_per_line * height
        rows = np.frombuffer(data, dtype="<u2", count=size // 2, offset=offset)
        samples = rows.reshape(height, bytes_per_line // 2)[:, :width].astype(np.float64)
        pages.append(np.rint(samples * 4095 / 65535).astype(np.uint16))
        offset += size
    return pages


def render_gray8(ps: Path, dpi: int) -> list[npt.NDArray[np.uint8]]:
    """Every page as 8-bit gray via pnggray (pixel exact for 8-bit data)."""
    with tempfile.TemporaryDirectory() as work:
        _gs(ps, "pnggray", dpi, Path(work) / "page-%03d.png")
        return [np.asarray(Image.open(p)) for p in sorted(Path(work).glob("page-*.png"))]


def render_rgb8(ps: Path, dpi: int) -> list[npt.NDArray[np.uint8]]:
    """Every page as 8-bit RGB via png16m (pixel exact for 8-bit DeviceRGB data)."""
    with tempfile.TemporaryDirectory() as work:
        _gs(ps, "png16m", dpi, Path(work) / "page-%03d.png")
        return [
            np.asarray(Image.open(p).convert("RGB")) for p in sorted(Path(work).glob("page-*.png"))
        ]


def render_cmyk8(ps: Path, dpi: int) -> list[npt.NDArray[np.uint8]]:
    """Every page as 8-bit CMYK via tiff32nc (DeviceCMYK data passes through unchanged)."""
    with tempfile.TemporaryDirectory() as work:
        _gs(ps, "tiff32nc", dpi, Path(work) / "page-%03d.tif")
        return [np.asarray(Image.open(p)) for p in sorted(Path(work).glob("page-*.tif"))]
