"""Time rendering and PostScript encoding of a full 17INX17IN film at 320 dpi.

Four 2048×2048 12-bit CT-like phantoms in STANDARD\\2,2: the largest page the
server prints, through the GSDF density model of a film printer; then the same
page as an 8-bit RGB colour film, printed as sent (sRGB to sRGB) and, as ``profile``,
colour managed (Adobe RGB (1998) → sRGB with LittleCMS, once per image before
resampling).  ``page`` is what the server does: bands
drawn, packed and compressed on all cores as they are written, the page never
whole.  ``render`` + ``encode`` time the same work with a whole page in
between.  Seconds are the best of --runs (median in brackets).  Peak memory is
what one page adds, by tracemalloc and as the RSS high-water mark of a fresh
process.  Run: ``.venv/bin/python bench/bench_film.py [--runs N] [--workers N]``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from printserver.postscript import PageSpec, write_postscript
from printserver.render.compose import Raster, SheetRaster, render_sheet
from printserver.render.geometry import Box, PageGeometry
from printserver.render.sheet import CharacteristicCurve, FilmSheet, SheetImage, ToneScale

ADOBE_RGB = Path("/usr/share/color/icc/colord/AdobeRGB1998.icc")  # Debian colord-data


def source_profile() -> bytes:
    """The Adobe RGB (1998)-compatible profile, or else sRGB's own (a transform all the same)."""
    if ADOBE_RGB.exists():
        return ADOBE_RGB.read_bytes()
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def phantom(size: int = 2048, seed: int = 0) -> npt.NDArray[np.uint16]:
    """A CT-like slice: air, body ellipse, organs, a bone ring, smooth shading, a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    image = np.full((size, size), 24.0, dtype=np.float32)  # air
    body = (x / 0.42) ** 2 + (y / 0.34) ** 2 < 1
    image[body] = 1040 + 60 * y[body]  # soft tissue with a gentle gradient
    for cx, cy, rx, ry, value in (
        (-0.15, 0.0, 0.1, 0.14, 1080),
        (0.16, 0.02, 0.09, 0.12, 1090),
        (0.0, -0.12, 0.07, 0.05, 980),
    ):
        image[((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1] = value
    ring = (x / 0.40) ** 2 + (y / 0.32) ** 2
    image[(ring < 1) & (ring > 0.86)] = 1800  # ribs / cortical bone
    spine = (x / 0.05) ** 2 + ((y - 0.22) / 0.05) ** 2 < 1
    image[spine] = 2300
    image += rng.normal(0, 12, image.shape).astype(np.float32)
    result: npt.NDArray[np.uint16] = np.clip(image * 1.6, 0, 4095).astype(np.uint16)
    return result


def films() -> dict[str, tuple[FilmSheet, int]]:
    """The benchmark's films by label, each with the bits per gray sample it is sent at."""
    tone = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
    images = {
        i + 1: SheetImage(pixels=phantom(seed=i), bits_stored=12, tone=tone) for i in range(4)
    }
    boxes = tuple(Box(c / 2, r / 2, 0.5, 0.5) for r in range(2) for c in range(2))
    page = PageGeometry(431.8, 431.8, dpi=320)
    sheet = FilmSheet(page=page, boxes=boxes, images=images, media_name="17INX17IN")
    rgb = {
        position: SheetImage(
            pixels=np.stack([(image.pixels >> 4).astype(np.uint8)] * 3, axis=-1), bits_stored=8
        )
        for position, image in images.items()
    }
    colour = FilmSheet(
        page=page,
        boxes=boxes,
        images=rgb,
        media_name="17INX17IN",
        color=True,
    )
    profile = source_profile()
    tagged = {position: replace(image, icc_profile=profile) for position, image in rgb.items()}
    managed = replace(colour, images=tagged)
    return {
        "12-bit": (sheet, 12),
        "8-bit": (sheet, 8),
        "colour": (colour, 8),
        "profile": (managed, 8),
    }


def _write(
    sheet: FilmSheet, bits: int, workers: int | None, render: Callable[[], Raster | SheetRaster]
) -> int:
    """Write one page to a scratch file; returns its size."""
    with tempfile.TemporaryFile() as out:
        page = PageSpec(
            sheet.width_px, sheet.height_px, sheet.dpi, "17INX17IN", render, color=sheet.color
        )
        write_postscript(out, [page], title="bench", bits=bits, workers=workers)
        return out.tell()


def _same(raster: Raster) -> Raster:
    return raster


def _peak_memory(sheet: FilmSheet, bits: int, workers: int | None) -> int:
    """Bytes allocated at the worst moment of one page as the server writes it (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    _write(sheet, bits, workers, lambda: SheetRaster(sheet))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _peak_rss_child(label: str, workers: int | None) -> None:
    """In a fresh process: how far one page raises the RSS high-water mark, in MB."""
    sheet, bits = films()[label]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:  # reset VmHWM to the current RSS
        refs.write("5")
    before = _rss_kib("VmRSS")
    _write(sheet, bits, workers, lambda: SheetRaster(sheet))
    print((_rss_kib("VmHWM") - before) / 1024)


def _peak_rss(label: str, workers: int | None) -> str:
    command = [sys.executable, __file__, "--peak-rss", label]
    if workers:
        command += ["--workers", str(workers)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return f"{float(result.stdout):.0f} MB" if result.returncode == 0 else "n/a"


def _seconds(times: list[float]) -> str:
    return f"{min(times):.3f} ({statistics.median(times):.3f})"


def _measure(label: str, sheet: FilmSheet, bits: int, runs: int, workers: int | None) -> None:
    page_times, render_times, encode_times, size = [], [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = _write(sheet, bits, workers, lambda: SheetRaster(sheet))
        page_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        raster = render_sheet(sheet, workers)
        rendered = time.perf_counter()
        _write(sheet, bits, workers, functools.partial(_same, raster))
        render_times.append(rendered - start)
        encode_times.append(time.perf_counter() - rendered)
        del raster
    peak = _peak_memory(sheet, bits, workers)
    print(
        f"{label:>7}: page {_seconds(page_times)} s | render {_seconds(render_times)} s  "
        f"encode {_seconds(encode_times)} s | output {size / 1e6:.1f} MB  "
        f"peak {peak / 1e6:.0f} MB traced, {_peak_rss(label, workers)} RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=None, help="threads per page (default: one per core)"
    )
    parser.add_argument("--peak-rss", metavar="LABEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_rss:
        _peak_rss_child(args.peak_rss, args.workers)
        return
    sheets = films()
    sheet = sheets["12-bit"][0]
    print(
        f"page {sheet.width_px}x{sheet.height_px} px, {len(sheet.images)} images 2048x2048, "
        f"{os.cpu_count()} cores, {args.workers or os.cpu_count()} threads"
    )
    for label, (film, bits) in sheets.items():
        _measure(label, film, bits, args.runs, args.workers)


if __name__ == "__main__":
    main()
