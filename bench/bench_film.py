"""Time rendering and PostScript encoding of a full 17INX17IN film at 320 dpi.

Four 2048×2048 12-bit CT-like phantoms in STANDARD\\2,2: the largest page the
server prints, through the GSDF density model of a film printer; then the same
page as an 8-bit RGB colour film.  Prints seconds
per stage (best of --runs) and the output size.
Run: ``.venv/bin/python bench/bench_film.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc

import numpy as np
import numpy.typing as npt

from printserver.postscript import PageSpec, write_postscript
from printserver.render.compose import render_sheet
from printserver.render.sheet import Box, CharacteristicCurve, FilmSheet, SheetImage, ToneScale


def phantom(size: int = 2048, seed: int = 0) -> npt.NDArray[np.uint16]:
    """A CT-like slice: air, body ellipse, organs, a bone ring, smooth shading, a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    image = np.full((size, size), 24.0, dtype=np.float32)  # air
    body = (x / 0.42) ** 2 + (y / 0.34) ** 2 < 1
    image[body] = 1040 + 60 * y[body]  # soft tissue with a gentle gradient
    for cx, cy, rx, ry, value in ((-0.15, 0.0, 0.1, 0.14, 1080), (0.16, 0.02, 0.09, 0.12, 1090),
                                  (0.0, -0.12, 0.07, 0.05, 980)):
        image[((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1] = value
    ring = (x / 0.40) ** 2 + (y / 0.32) ** 2
    image[(ring < 1) & (ring > 0.86)] = 1800  # ribs / cortical bone
    spine = (x / 0.05) ** 2 + ((y - 0.22) / 0.05) ** 2 < 1
    image[spine] = 2300
    image += rng.normal(0, 12, image.shape).astype(np.float32)
    return np.clip(image * 1.6, 0, 4095).astype(np.uint16)


def _peak_memory(sheet: FilmSheet, bits: int) -> int:
    """Bytes allocated at the worst moment of one render + encode (tracemalloc, untimed)."""
    tracemalloc.start()
    with tempfile.TemporaryFile() as out:
        page = PageSpec(sheet.width_px, sheet.height_px, sheet.dpi, "17INX17IN",
                        lambda: render_sheet(sheet), color=sheet.color)
        write_postscript(out, [page], title="bench", bits=bits)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _measure(label: str, sheet: FilmSheet, bits: int, runs: int) -> None:
    render_times, encode_times, size = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        raster = render_sheet(sheet)
        rendered = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            page = PageSpec(sheet.width_px, sheet.height_px, sheet.dpi, "17INX17IN",
                            lambda raster=raster: raster, color=sheet.color)
            write_postscript(out, [page], title="bench", bits=bits)
            size = out.tell()
        render_times.append(rendered - start)
        encode_times.append(time.perf_counter() - rendered)
        del raster
    peak = _peak_memory(sheet, bits)
    render_s, encode_s = min(render_times), min(encode_times)
    print(f"{label:>7}: render {render_s:.3f} s  encode {encode_s:.3f} s  "
          f"total {render_s + encode_s:.3f} s  output {size / 1e6:.1f} MB  "
          f"peak {peak / 1e6:.0f} MB above the input images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tone = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
    images = {i + 1: SheetImage(pixels=phantom(seed=i), bits_stored=12, tone=tone)
              for i in range(4)}
    boxes = tuple(Box(c / 2, r / 2, 0.5, 0.5) for r in range(2) for c in range(2))
    sheet = FilmSheet(width_mm=431.8, height_mm=431.8, dpi=320, boxes=boxes, images=images,
                      media_name="17INX17IN")
    print(f"page {sheet.width_px}x{sheet.height_px} px, {len(images)} images 2048x2048 12-bit, "
          f"{os.cpu_count()} cores")
    for bits in (12, 8):
        _measure(f"{bits}-bit", sheet, bits, args.runs)
    rgb = {
        position: SheetImage(pixels=np.stack(
            [(image.pixels >> 4).astype(np.uint8)] * 3, axis=-1), bits_stored=8)
        for position, image in images.items()
    }
    _measure("colour", FilmSheet(width_mm=431.8, height_mm=431.8, dpi=320, boxes=boxes,
                                 images=rgb, media_name="17INX17IN", color=True), 8, args.runs)


if __name__ == "__main__":
    main()
