"""A film page at the printer's resolution (PS3.4 H.4.2, digest §5.9).

Geometry: the page is ``width_px × height_px`` at ``dpi``, filled with the
border drive value.  The printable area is the page inset by ``margin_mm`` on
every side, less the annotation band when the film box has annotation boxes;
each layout box (fractions of that area) becomes a pixel rectangle, inset by
half of ``spacing_mm`` on every side: that is the cell.  A cell without an
image is filled with the empty-image value.  Where an image goes in its cell is
decided by :func:`plan_fit`; it is centred, and the rest stays border.

Memory: the page plus a few cell-sized float32 temporaries.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from printserver.render.annotation import draw_annotation
from printserver.render.density import to_drive
from printserver.render.lut import to_p_values
from printserver.render.resample import BandResampler, kernel_for, plan
from printserver.render.sheet import DRIVE_MAX, Box, FilmSheet, SheetImage

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
TRIM_MM = 0.3


@dataclass(frozen=True)
class Fit:
    """How an image is drawn into its cell.

    ``height``/``width`` is the resampled size; when ``crop`` is true the
    centre of that is cut to the cell.  ``outcome`` is what the SCU is told:
    ``fits``, ``demagnified`` (B604), ``cropped`` (B609), ``decimated`` (B60A)
    or ``too_large`` (C603).
    """

    height: int
    width: int
    kernel: str
    outcome: str = "fits"
    crop: bool = False


def printable_area(sheet: FilmSheet) -> Rect:
    """The page less its margins and the annotation band."""
    per_mm = sheet.dpi / 25.4
    margin = sheet.margin_mm * per_mm
    x0, y0 = margin, margin
    x1, y1 = sheet.width_px - margin, sheet.height_px - margin
    if sheet.annotation is not None:
        band = sheet.annotation.band_mm * per_mm
        if sheet.annotation.band == "top":
            y0 += band
        else:
            y1 -= band
    return round(x0), round(y0), round(x1), round(y1)


def annotation_rect(sheet: FilmSheet) -> Rect | None:
    """Where the annotation band sits: above or below the images, inside the margins."""
    if sheet.annotation is None:
        return None
    x0, y0, x1, y1 = printable_area(sheet)
    band = round(sheet.annotation.band_mm * sheet.dpi / 25.4)
    if sheet.annotation.band == "top":
        return x0, y0 - band, x1, y0
    return x0, y1, x1, y1 + band


def cell_rect(sheet: FilmSheet, box: Box) -> Rect:
    """The pixel rectangle of one image box's cell."""
    ax0, ay0, ax1, ay1 = printable_area(sheet)
    inset = sheet.spacing_mm / 2 * sheet.dpi / 25.4
    area_w, area_h = ax1 - ax0, ay1 - ay0
    x0 = round(ax0 + box.x * area_w + inset)
    y0 = round(ay0 + box.y * area_h + inset)
    x1 = round(ax0 + (box.x + box.width) * area_w - inset)
    y1 = round(ay0 + (box.y + box.height) * area_h - inset)
    return x0, y0, max(x0, x1), max(y0, y1)


def plan_fit(image: SheetImage, cell_w: int, cell_h: int, dpi: int) -> Fit:
    """Size an image for its cell (PS3.4 H.4.3.1.2.1, digest §5.9.3-5.9.5).

    Without Requested Image Size the image fills the cell with its physical
    aspect kept, except Magnification NONE, which prints one image pixel per
    printer pixel.  Requested Image Size (mm of width) fixes the width; what
    does not fit is decimated to the cell, cropped, or refused, as Requested
    Decimate/Crop Behavior says.
    """
    rows, columns = image.pixels.shape[:2]
    vertical, horizontal = image.aspect
    physical_w, physical_h = columns * horizontal, rows * vertical
    kernel = kernel_for(image.magnification, image.smoothing)
    if image.requested_width_mm:
        width = max(1, round(image.requested_width_mm * dpi / 25.4))
        height = max(1, round(width * physical_h / physical_w))
    elif image.magnification == "NONE":
        width, height = columns, max(1, round(columns * physical_h / physical_w))
        if (height, width) == (rows, columns):
            kernel = "REPLICATE"
    else:
        return _fill(physical_w, physical_h, cell_w, cell_h, kernel, "fits")
    if width <= cell_w and height <= cell_h:
        return Fit(height, width, kernel)
    if image.decimate_crop == "CROP":
        return Fit(height, width, kernel, "cropped", crop=True)
    if image.decimate_crop == "FAIL":
        return Fit(height, width, kernel, "too_large")
    outcome = "decimated" if image.decimate_crop == "DECIMATE" else "demagnified"
    return _fill(physical_w, physical_h, cell_w, cell_h, kernel, outcome)


def _fill(physical_w: int, physical_h: int, cell_w: int, cell_h: int, kernel: str,
          outcome: str) -> Fit:
    scale = min(cell_w / physical_w, cell_h / physical_h)
    width = max(1, min(cell_w, round(physical_w * scale)))
    height = max(1, min(cell_h, round(physical_h * scale)))
    return Fit(height, width, kernel, outcome)


BAND_ROWS = 64
"""Output rows resampled at a time: small enough that a band's buffers stay in cache."""


def _window(fit: Fit, cell_w: int, cell_h: int) -> tuple[int, int, int, int] | None:
    """The centre of a cropped rendering that fits the cell (PS3.4 H.4.3.1.2.1 CROP)."""
    if not fit.crop:
        return None
    top, left = max(0, (fit.height - cell_h) // 2), max(0, (fit.width - cell_w) // 2)
    return top, top + min(fit.height, cell_h), left, left + min(fit.width, cell_w)


def _source(image: SheetImage) -> npt.NDArray[np.float32]:
    """P-values of a grayscale image, or its RGB levels (REVERSE inverts each channel)."""
    if not image.color:
        return to_p_values(image)
    values = image.pixels.astype(np.float32)
    if image.invert:
        np.subtract(np.float32(255), values, out=values)
    return values


def _finish(values: npt.NDArray[np.float32], image: SheetImage,
            target: npt.NDArray[np.uint16] | npt.NDArray[np.uint8]) -> None:
    """Round once into ``target``: drive values through the tone scale, or RGB bytes as sent.

    ``values`` is scratch space; rounded RGB levels are stored straight into the
    page, which converts them to bytes without a temporary.
    """
    if not image.color:
        target[...] = to_drive(values, image.tone)
        return
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    target[...] = values


def draw_image(page: npt.NDArray[np.uint16] | npt.NDArray[np.uint8], image: SheetImage,
               cell: Rect, dpi: int) -> Rect:
    """Draw one image box centred in its cell of ``page``; returns where it landed.

    Resampled in bands of output rows written straight into the page, so memory
    holds the image's P-values and a few rows, never a second full-size copy.
    """
    x0, y0, x1, y1 = cell
    cell_w, cell_h = x1 - x0, y1 - y0
    fit = plan_fit(image, cell_w, cell_h, dpi)
    if fit.outcome == "too_large":  # refused at N-SET; a reprint draws it reduced
        fit = _fill(image.pixels.shape[1], image.pixels.shape[0], cell_w, cell_h,
                    fit.kernel, "decimated")
    source = _source(image)
    taps_plan = plan(source.shape[0], source.shape[1], fit.height, fit.width, fit.kernel,
                     _window(fit, cell_w, cell_h))
    height, width = taps_plan.shape
    top, left = y0 + (cell_h - height) // 2, x0 + (cell_w - width) // 2
    target = page[top:top + height, left:left + width]
    if (height, width) == source.shape[:2] and not fit.crop:
        _finish(source, image, target)
    else:
        resampler = BandResampler(source, taps_plan, BAND_ROWS)
        for r0 in range(0, height, BAND_ROWS):
            r1 = min(height, r0 + BAND_ROWS)
            _finish(resampler.band(r0, r1), image, target[r0:r1])
    return left, top, left + width, top + height


def gray_to_rgb(drive: int) -> int:
    """A 12-bit gray drive value as an 8-bit RGB level (border and empty boxes on colour film)."""
    return (drive * 255 + DRIVE_MAX // 2) // DRIVE_MAX


def render_sheet(sheet: FilmSheet) -> npt.NDArray[np.uint16] | npt.NDArray[np.uint8]:
    """The whole page: 12-bit drive values (height, width), or RGB bytes (height, width, 3)."""
    if sheet.color:
        page: npt.NDArray[np.uint16] | npt.NDArray[np.uint8] = np.full(
            (sheet.height_px, sheet.width_px, 3), gray_to_rgb(sheet.border), dtype=np.uint8)
        empty = gray_to_rgb(sheet.empty)
        contrast = 255 if gray_to_rgb(sheet.border) < 128 else 0
    else:
        page = np.full((sheet.height_px, sheet.width_px), sheet.border, dtype=np.uint16)
        empty = sheet.empty
        contrast = DRIVE_MAX if sheet.border < DRIVE_MAX // 2 else 0
    rects = [cell_rect(sheet, box) for box in sheet.boxes]
    jobs = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for position, (x0, y0, x1, y1) in enumerate(rects, start=1):
            image = sheet.images.get(position)
            if image is None:
                page[y0:y1, x0:x1] = empty
            elif x1 > x0 and y1 > y0:
                cell = (x0, y0, x1, y1)
                jobs.append((cell, pool.submit(draw_image, page, image, cell, sheet.dpi)))
        for cell, future in jobs:
            drawn = future.result()
            if sheet.trim:
                _trim(page, drawn, cell, contrast, sheet.dpi)
    band = annotation_rect(sheet)
    if band is not None and sheet.annotation is not None:
        draw_annotation(page, band, sheet.annotation, sheet.dpi, contrast)
    return page


def _trim(page: npt.NDArray[np.uint16] | npt.NDArray[np.uint8], image: Rect, cell: Rect,
          value: int, dpi: int) -> None:
    """Trim YES: a thin frame just outside the image, kept inside its cell (PS3.3 C.13.3)."""
    width = max(1, round(TRIM_MM * dpi / 25.4))
    x0, y0 = max(cell[0], image[0] - width), max(cell[1], image[1] - width)
    x1, y1 = min(cell[2], image[2] + width), min(cell[3], image[3] + width)
    page[y0:image[1], x0:x1] = value
    page[image[3]:y1, x0:x1] = value
    page[y0:y1, x0:image[0]] = value
    page[y0:y1, image[2]:x1] = value
