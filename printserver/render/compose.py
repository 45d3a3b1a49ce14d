"""A film page at the printer's resolution (PS3.4 H.4.2, PS3.3 C.13.3).

Geometry: the page (:class:`~printserver.render.geometry.PageGeometry`) is
filled with the border drive value; each layout box becomes its cell there.
A cell without an image is filled with the empty-image value.  Where an image goes in its cell is
decided by :func:`plan_fit`; it is centred, and the rest stays border.

Memory: :class:`SheetRaster` draws any band of rows on its own, converting
only the image rows that band reads, so no full-size float copy of an image
is ever made; the PostScript writer holds a few bands, never the page.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from printserver.render import colour
from printserver.render.annotation import Ink, draw_annotation
from printserver.render.density import STEPS_PER_P, steps_to_drive, to_drive
from printserver.render.geometry import Rect, uncovered
from printserver.render.kernels import kernel_for
from printserver.render.lut import SampleScale, p_value_samples, sample_scale
from printserver.render.resample import Plan, Scratch, plan, resample_band
from printserver.render.sheet import DRIVE_MAX, FilmSheet, Samples, SheetImage

Raster = npt.NDArray[np.uint16] | npt.NDArray[np.uint8]  # drive values, or RGB/CMYK bytes
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


def plan_fit(image: SheetImage, cell_w: int, cell_h: int, dpi: int) -> Fit:
    """Size an image for its cell (PS3.4 H.4.3.1.2.1, PS3.3 C.13.5).

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


def _fill(
    physical_w: int, physical_h: int, cell_w: int, cell_h: int, kernel: str, outcome: str
) -> Fit:
    scale = min(cell_w / physical_w, cell_h / physical_h)
    width = max(1, min(cell_w, round(physical_w * scale)))
    height = max(1, min(cell_h, round(physical_h * scale)))
    return Fit(height, width, kernel, outcome)


BAND_ROWS = 64
"""Output rows of a gray image resampled at a time: few enough that their buffers stay in
cache.  Colour takes half as many, as each row is three lines."""

RENDER_ROWS = 128
"""Page rows per task when :func:`render_sheet` draws a whole page on several threads."""


def _window(fit: Fit, cell_w: int, cell_h: int) -> tuple[int, int, int, int] | None:
    """The centre of a cropped rendering that fits the cell (PS3.4 H.4.3.1.2.1 CROP)."""
    if not fit.crop:
        return None
    top, left = max(0, (fit.height - cell_h) // 2), max(0, (fit.width - cell_w) // 2)
    return top, top + min(fit.height, cell_h), left, left + min(fit.width, cell_w)


def managed(image: SheetImage, sheet: FilmSheet, workers: int | None = None) -> SheetImage:
    """A colour image in the page's colour space, transformed once, before resampling.

    Source: its ICC Profile, else sRGB (PS3.3 C.11.15); destination: the printer's
    output.  sRGB to sRGB is no transform: the image prints as sent.  On a page that is
    not colour (a grayscale printer) the image becomes its CIE L*, a P-value for the
    density model (PS3.14).  Polarity REVERSE inverts the RGB values first.
    """
    if not _transformed(image, sheet):
        return image
    output = sheet.output
    if not sheet.color and output.space != "GRAY":
        output = colour.OutputColour("GRAY", intent=output.intent, name=colour.LIGHTNESS.name)
    pixels = colour.convert(
        image.pixels, image.icc_profile, output, invert=image.invert, workers=workers
    )
    if sheet.color:
        return replace(image, pixels=pixels, invert=False)
    return replace(image, pixels=pixels, bits_stored=8, invert=False)  # L* as 8-bit P-values


def _transformed(image: SheetImage, sheet: FilmSheet) -> bool:
    """A colour image is transformed unless it is sRGB on an sRGB page."""
    if not image.color:
        return False
    return not sheet.color or image.icc_profile is not None or sheet.output.managed


def _managed_images(sheet: FilmSheet) -> dict[int, SheetImage]:
    """Every image of the sheet ready to draw: colour ones transformed, several at once."""
    cores = os.cpu_count() or 1
    count = sum(_transformed(image, sheet) for image in sheet.images.values())
    if count <= 1 or cores == 1:
        return {position: managed(image, sheet) for position, image in sheet.images.items()}
    workers = max(1, cores // count)
    with ThreadPoolExecutor(max_workers=min(cores, count), thread_name_prefix="colour") as pool:
        done = pool.map(lambda image: managed(image, sheet, workers), sheet.images.values())
        return dict(zip(sheet.images, done, strict=True))


def _source(image: SheetImage, rows: slice) -> Samples:
    """Integer samples of some rows of an image: a grayscale image's P-value samples
    (render/lut.py), or RGB levels (REVERSE inverts each)."""
    if not image.color:
        return p_value_samples(image, rows)
    levels = image.pixels[rows]
    if image.invert:
        return np.subtract(np.uint8(255), levels)
    return levels


@dataclass(frozen=True)
class _Placement:
    """One image as drawn: its rectangle on the page and how its rows are computed.

    ``taps_plan`` is None when the image is drawn pixel for pixel.  ``scale``
    turns the samples into P-values (identity for colour levels); a sum of
    samples is worth ``unit`` samples.
    """

    image: SheetImage
    left: int
    top: int
    height: int
    width: int
    taps_plan: Plan | None
    scale: SampleScale

    @property
    def unit(self) -> float:
        return 1.0 if self.taps_plan is None else self.taps_plan.unit

    @property
    def bias(self) -> float:
        """One half that the resampler adds for the rounding, free of charge, when its sums
        are what is rounded: colour levels, or the tone table's positions (samples that are
        P-values)."""
        if self.taps_plan is None:
            return 0.0
        if self.image.color:
            return 0.5
        return 0.5 if self.image.tone is not None and self.scale == SampleScale() else 0.0

    @property
    def rect(self) -> Rect:
        return self.left, self.top, self.left + self.width, self.top + self.height


def _place(image: SheetImage, cell: Rect, dpi: int) -> _Placement:
    """Where an image lands, centred in its cell, and the taps that draw it there."""
    x0, y0, x1, y1 = cell
    cell_w, cell_h = x1 - x0, y1 - y0
    fit = plan_fit(image, cell_w, cell_h, dpi)
    if fit.outcome == "too_large":  # refused at N-SET; a reprint draws it reduced
        fit = _fill(
            image.pixels.shape[1], image.pixels.shape[0], cell_w, cell_h, fit.kernel, "decimated"
        )
    rows, columns = image.pixels.shape[:2]
    taps_plan = plan(rows, columns, fit.height, fit.width, fit.kernel, _window(fit, cell_w, cell_h))
    height, width = taps_plan.shape
    top, left = y0 + (cell_h - height) // 2, x0 + (cell_w - width) // 2
    scale = SampleScale() if image.color else sample_scale(image)
    if (height, width) == (rows, columns) and not fit.crop:
        return _Placement(image, left, top, height, width, None, scale)
    # sums come out as samples, or as samples in the tone table's steps: no pass to scale them
    steps = STEPS_PER_P if not image.color and image.tone is not None else 1
    taps_plan = taps_plan.scaled(steps * taps_plan.unit)
    return _Placement(image, left, top, height, width, taps_plan, scale)


def _finish(values: npt.NDArray[np.float64], placement: _Placement, target: Raster) -> None:
    """Round once into ``target``: drive values through the tone scale, or colour bytes.

    ``values`` are sums of samples worth ``placement.unit`` each (plus the
    placement's ``bias``), and scratch space.  Halves round up: one half is added,
    then the value truncated.  RGB levels come by planes, (rows, 3, width): clipped,
    truncated to bytes, then interleaved into the page one strided copy per plane.
    """
    image = placement.image
    if image.color:
        if not placement.bias:  # drawn pixel for pixel: the samples are the levels
            np.add(values, 0.5, out=values)
        np.clip(values, 0, 255, out=values)
        levels = values.astype(np.uint8)
        for plane in range(levels.shape[1]):
            target[:, :, plane] = levels[:, plane]
    elif image.tone is not None:
        steps = placement.scale.apply(values, placement.unit, STEPS_PER_P)
        target[...] = steps_to_drive(steps, image.tone, half_added=bool(placement.bias))
    else:
        target[...] = to_drive(placement.scale.apply(values, placement.unit))


def gray_to_rgb(drive: int) -> int:
    """A 12-bit gray drive value as an 8-bit RGB level (border and empty boxes on colour film)."""
    return (drive * 255 + DRIVE_MAX // 2) // DRIVE_MAX


def device_gray(drive: int, sheet: FilmSheet) -> Ink:
    """A neutral of the page's colour space: a gray drive value, an RGB level, or black ink
    alone on CMYK (borders, empty boxes, trim and annotation are device neutrals)."""
    if not sheet.color:
        return drive
    level = gray_to_rgb(drive)
    if sheet.cmyk:
        return np.array([0, 0, 0, 255 - level], np.uint8)
    return level


def _trim_rects(image: Rect, cell: Rect, dpi: int) -> list[Rect]:
    """Trim YES: a thin frame just outside the image, kept inside its cell (PS3.3 C.13.3)."""
    width = max(1, round(TRIM_MM * dpi / 25.4))
    x0, y0 = max(cell[0], image[0] - width), max(cell[1], image[1] - width)
    x1, y1 = min(cell[2], image[2] + width), min(cell[3], image[3] + width)
    return [
        (x0, y0, x1, image[1]),
        (x0, image[3], x1, y1),
        (x0, y0, image[0], y1),
        (image[2], y0, x1, y1),
    ]


class SheetRaster:
    """A film page that draws any band of its rows on demand (PS3.4 H.4.2).

    The PostScript writer asks for one band at a time, on several threads, so
    the page never exists whole: memory holds a few bands, the source images
    and, per thread, a few image rows of float64 work buffers.  Every band is
    exactly the same rows of :func:`render_sheet`'s page.  Geometry and taps
    are worked out once, here; :meth:`rows` may be called from any thread.
    """

    def __init__(self, sheet: FilmSheet) -> None:
        self.sheet = sheet
        self.shape: tuple[int, ...] = (sheet.height_px, sheet.width_px)
        if sheet.color:
            self.shape += (sheet.output.channels,)
        self._border, empty = device_gray(sheet.border, sheet), device_gray(sheet.empty, sheet)
        dark = gray_to_rgb(sheet.border) < 128 if sheet.color else sheet.border < DRIVE_MAX // 2
        contrast = device_gray(DRIVE_MAX if dark else 0, sheet)
        self._local = threading.local()
        self._fills: list[tuple[Rect, Ink]] = []  # empty cells, then trim frames, in order
        self._images: list[_Placement] = []
        trims: list[tuple[Rect, Ink]] = []
        images = _managed_images(sheet)
        for position, box in enumerate(sheet.boxes, start=1):
            cell = sheet.page.cell_rect(box)
            image = images.get(position)
            if image is None:
                self._fills.append((cell, empty))
            elif cell[2] > cell[0] and cell[3] > cell[1]:
                placement = _place(image, cell, sheet.dpi)
                self._images.append(placement)
                if sheet.trim:
                    trims += [
                        (rect, contrast) for rect in _trim_rects(placement.rect, cell, sheet.dpi)
                    ]
        self._fills += trims
        self._bare = uncovered(self.shape[:2], [placement.rect for placement in self._images])
        self._annotation: tuple[int, Raster] | None = None
        band = sheet.page.annotation_rect()
        if band is not None and sheet.annotation is not None:
            x0, y0, x1, y1 = band
            strip = self._draw(y0, y1, self.blank(y1 - y0))
            draw_annotation(strip, (x0, 0, x1, y1 - y0), sheet.annotation, sheet.dpi, contrast)
            self._annotation = (y0, strip)

    def blank(self, rows: int) -> Raster:
        """An undefined band of ``rows`` page rows."""
        if self.sheet.color:
            return np.empty((rows, *self.shape[1:]), np.uint8)
        return np.empty((rows, *self.shape[1:]), np.uint16)

    def rows(self, top: int, bottom: int, out: Raster | None = None) -> Raster:
        """Page rows top..bottom, drawn into ``out`` when given (then returned)."""
        if out is None:
            out = self.blank(bottom - top)
        self._draw(top, bottom, out)
        if self._annotation is not None:
            start, strip = self._annotation
            y0, y1 = max(top, start), min(bottom, start + strip.shape[0])
            if y0 < y1:
                out[y0 - top : y1 - top] = strip[y0 - start : y1 - start]
        return out

    def _draw(self, top: int, bottom: int, out: Raster) -> Raster:
        """Everything but the annotation: border, empty cells, images, trim frames.

        The border goes only where no image is drawn: filling the whole band first
        would write every sample of the page twice.
        """
        for x0, y0, x1, y1 in self._bare:
            if max(top, y0) < min(bottom, y1):
                out[max(top, y0) - top : min(bottom, y1) - top, x0:x1] = self._border
        for placement in self._images:
            x0, y0, x1, y1 = placement.rect
            r0, r1 = max(top, y0) - y0, min(bottom, y1) - y0
            if r0 < r1:
                self._draw_image(placement, r0, r1, out[y0 + r0 - top : y0 + r1 - top, x0:x1])
        for (x0, y0, x1, y1), value in self._fills:
            if max(top, y0) < min(bottom, y1):
                out[max(top, y0) - top : min(bottom, y1) - top, x0:x1] = value
        return out

    def _draw_image(self, placement: _Placement, r0: int, r1: int, target: Raster) -> None:
        """Rows r0..r1 of one image's rendering into ``target``, a few rows at a time."""
        step = BAND_ROWS // 2 if placement.image.color else BAND_ROWS
        if placement.taps_plan is None:
            for s0 in range(r0, r1, step):
                s1 = min(r1, s0 + step)
                values = _source(placement.image, slice(s0, s1)).astype(np.float64)
                _finish(
                    values.transpose(0, 2, 1) if values.ndim == 3 else values,
                    placement,
                    target[s0 - r0 : s1 - r0],
                )
            return
        scratch = self._scratch()
        for s0 in range(r0, r1, step):
            s1 = min(r1, s0 + step)
            first, end = placement.taps_plan.source_rows(s0, s1)
            values = resample_band(
                _source(placement.image, slice(first, end)),
                first,
                placement.taps_plan,
                s0,
                s1,
                scratch,
                placement.bias,
            )
            _finish(values, placement, target[s0 - r0 : s1 - r0])

    def _scratch(self) -> Scratch:
        scratch: Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = Scratch()
        return scratch


def render_sheet(sheet: FilmSheet, workers: int | None = None) -> Raster:
    """The whole page: 12-bit drive values (height, width), or RGB bytes (height, width, 3).

    Bands of rows are drawn on ``workers`` threads (default: one per core);
    numpy releases the GIL for the arithmetic.  The threads end with the call.
    """
    raster = SheetRaster(sheet)
    height = raster.shape[0]
    page = raster.blank(height)
    tops = range(0, height, RENDER_ROWS)

    def draw(top: int) -> None:
        bottom = min(height, top + RENDER_ROWS)
        raster.rows(top, bottom, page[top:bottom])

    count = workers or os.cpu_count() or 1
    if count == 1:
        for top in tops:
            draw(top)
    else:
        with ThreadPoolExecutor(max_workers=count) as pool:
            for _ in pool.map(draw, tops):
                pass
    return page
