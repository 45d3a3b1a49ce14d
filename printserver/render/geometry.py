"""Page geometry: where the printable area, the annotation band and each cell sit.

One film page as it is printed (PS3.3 C.13.3 Film Orientation, Film Size ID):
the size of the film as oriented, the printer's resolution, its margins and
the gap between boxes, and the annotation band taken off the printable area
(PS3.4 H.4.5).  Every part of the server that needs a length on the page asks
this object: the layout of SLIDE formats (printable area in mm), the fit check
of an Image Box N-SET and the renderer (cells in pixels), and the Printer
Configuration N-GET (printable area in pixels).  So a film is refused, laid
out and drawn with the very same rectangles.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

MM_PER_INCH = 25.4

Rect = tuple[int, int, int, int]
"""x0, y0, x1, y1 in page pixels, x1 and y1 exclusive."""


@dataclass(frozen=True)
class Box:
    """One image box as fractions of the printable area (origin top-left)."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PageGeometry:
    """One film page as oriented: size, resolution, margins, box gap and annotation band."""

    width_mm: float  # as oriented (LANDSCAPE already swapped)
    height_mm: float
    dpi: int
    margin_mm: float = 4.0
    spacing_mm: float = 3.0
    band: Literal["top", "bottom"] | None = None  # annotation band, None: no annotation
    band_mm: float = 0.0

    @classmethod
    def of_film(
        cls,
        width_mm: float,
        height_mm: float,
        orientation: str,
        dpi: int,
        *,
        margin_mm: float,
        spacing_mm: float,
        band: Literal["top", "bottom"] | None = None,
        band_mm: float = 0.0,
    ) -> PageGeometry:
        """The page of a film given portrait, turned when Film Orientation is LANDSCAPE."""
        if orientation == "LANDSCAPE":
            width_mm, height_mm = height_mm, width_mm
        return cls(width_mm, height_mm, dpi, margin_mm, spacing_mm, band, band_mm if band else 0.0)

    def pixels(self, mm: float) -> float:
        return mm / MM_PER_INCH * self.dpi

    @property
    def width_px(self) -> int:
        return round(self.pixels(self.width_mm))

    @property
    def height_px(self) -> int:
        return round(self.pixels(self.height_mm))

    @property
    def printable_mm(self) -> tuple[float, float]:
        """Width and height of what the layout divides: the page less margins and band."""
        margins = 2 * self.margin_mm
        return self.width_mm - margins, self.height_mm - margins - self.band_mm

    def printable_rect(self) -> Rect:
        """The printable area in pixels."""
        margin = self.pixels(self.margin_mm)
        x0, y0 = margin, margin
        x1, y1 = self.width_px - margin, self.height_px - margin
        if self.band == "top":
            y0 += self.pixels(self.band_mm)
        elif self.band == "bottom":
            y1 -= self.pixels(self.band_mm)
        return round(x0), round(y0), round(x1), round(y1)

    @property
    def printable_px(self) -> tuple[int, int]:
        """Columns and rows of the printable area: what one image filling it is drawn at."""
        x0, y0, x1, y1 = self.printable_rect()
        return x1 - x0, y1 - y0

    def annotation_rect(self) -> Rect | None:
        """Where the annotation band sits: above or below the images, inside the margins."""
        if self.band is None:
            return None
        x0, y0, x1, y1 = self.printable_rect()
        band = round(self.pixels(self.band_mm))
        if self.band == "top":
            return x0, y0 - band, x1, y0
        return x0, y1, x1, y1 + band

    def cell_rect(self, box: Box) -> Rect:
        """The pixel rectangle of one image box's cell: its share of the printable area,
        inset by half the box gap on every side."""
        ax0, ay0, ax1, ay1 = self.printable_rect()
        inset = self.pixels(self.spacing_mm / 2)
        area_w, area_h = ax1 - ax0, ay1 - ay0
        x0 = round(ax0 + box.x * area_w + inset)
        y0 = round(ay0 + box.y * area_h + inset)
        x1 = round(ax0 + (box.x + box.width) * area_w - inset)
        y1 = round(ay0 + (box.y + box.height) * area_h - inset)
        return x0, y0, max(x0, x1), max(y0, y1)


def uncovered(shape: tuple[int, ...], rects: list[Rect]) -> list[Rect]:
    """The rectangles of a (height, width) page that none of ``rects`` covers: for each
    stretch of rows between image edges, the gaps between the images across it."""
    height, width = shape
    edges = sorted({0, height} | {y for rect in rects for y in (rect[1], rect[3])})
    bare: list[Rect] = []
    for y0, y1 in itertools.pairwise(edges):
        spans = sorted((r[0], r[2]) for r in rects if r[1] <= y0 and r[3] >= y1 and r[0] < r[2])
        x = 0
        for x0, x1 in spans:
            if x0 > x:
                bare.append((x, y0, x0, y1))
            x = max(x, x1)
        if x < width:
            bare.append((x, y0, width, y1))
    return bare
