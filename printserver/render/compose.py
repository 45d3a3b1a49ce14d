"""A film page at the printer's resolution (PS3.4 H.4.2, digest §5.9).

Geometry: the page is ``width_px × height_px`` at ``dpi``, filled with the
border drive value.  The printable area is the page inset by ``margin_mm`` on
every side; each layout box (fractions of that area) becomes a pixel rectangle,
inset by half of ``spacing_mm`` on every side: that is the cell.  A cell
without an image is filled with the empty-image value.  An image is scaled
uniformly to the largest size that fits its cell with its physical aspect ratio
(Pixel Aspect Ratio) kept and is centred; the rest of the cell stays border.
Magnification NONE prints one image pixel per printer pixel when it fits.

Memory: the page plus a few cell-sized float32 temporaries.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from printserver.render.density import to_drive
from printserver.render.lut import to_p_values
from printserver.render.resample import resample
from printserver.render.sheet import Box, FilmSheet, SheetImage

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def cell_rect(sheet: FilmSheet, box: Box) -> Rect:
    """The pixel rectangle of one image box's cell."""
    per_mm = sheet.dpi / 25.4
    margin = sheet.margin_mm * per_mm
    inset = sheet.spacing_mm / 2 * per_mm
    area_w = sheet.width_px - 2 * margin
    area_h = sheet.height_px - 2 * margin
    x0 = round(margin + box.x * area_w + inset)
    y0 = round(margin + box.y * area_h + inset)
    x1 = round(margin + (box.x + box.width) * area_w - inset)
    y1 = round(margin + (box.y + box.height) * area_h - inset)
    return x0, y0, max(x0, x1), max(y0, y1)


def fitted_size(image: SheetImage, cell_w: int, cell_h: int) -> tuple[int, int, str]:
    """Output (height, width) in printer pixels and the kernel to use."""
    rows, columns = image.pixels.shape
    vertical, horizontal = image.aspect
    native = image.magnification == "NONE" and vertical == horizontal
    if native and columns <= cell_w and rows <= cell_h:
        return rows, columns, "REPLICATE"
    kernel = "CUBIC" if image.magnification == "NONE" else image.magnification
    physical_w, physical_h = columns * horizontal, rows * vertical
    scale = min(cell_w / physical_w, cell_h / physical_h)
    width = max(1, min(cell_w, round(physical_w * scale)))
    height = max(1, min(cell_h, round(physical_h * scale)))
    return height, width, kernel


def render_image(image: SheetImage, cell_w: int, cell_h: int) -> npt.NDArray[np.uint16]:
    """One image box's drive values at its printed size."""
    height, width, kernel = fitted_size(image, cell_w, cell_h)
    p_values = to_p_values(image)
    if (height, width) != p_values.shape:
        p_values = resample(p_values, height, width, kernel)
    return to_drive(p_values)


def render_sheet(sheet: FilmSheet) -> npt.NDArray[np.uint16]:
    """The whole page as 12-bit drive values, shape (height_px, width_px)."""
    page = np.full((sheet.height_px, sheet.width_px), sheet.border, dtype=np.uint16)
    rects = [cell_rect(sheet, box) for box in sheet.boxes]
    jobs = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for position, (x0, y0, x1, y1) in enumerate(rects, start=1):
            image = sheet.images.get(position)
            if image is None:
                page[y0:y1, x0:x1] = sheet.empty
            elif x1 > x0 and y1 > y0:
                jobs.append(((x0, y0, x1, y1), pool.submit(render_image, image, x1 - x0, y1 - y0)))
        for (x0, y0, x1, y1), future in jobs:
            drawn = future.result()
            top = y0 + (y1 - y0 - drawn.shape[0]) // 2
            left = x0 + (x1 - x0 - drawn.shape[1]) // 2
            page[top:top + drawn.shape[0], left:left + drawn.shape[1]] = drawn
    return page
