"""What the renderer is asked to draw: one film sheet, in physical units.

The print model builds a :class:`FilmSheet` from a film box when it is printed;
the renderer turns it into a raster without knowing anything of DICOM messages.
Drive values are 12-bit gray levels as PostScript DeviceGray reads them:
0 is black (maximum density), 4095 is white (minimum density).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

DRIVE_MAX = 4095
"""Largest 12-bit drive value (white on the page)."""

MAGNIFICATIONS = ("REPLICATE", "BILINEAR", "CUBIC", "NONE")
"""Magnification Type defined terms (PS3.3 C.13.3)."""


@dataclass(frozen=True)
class Box:
    """One image box as fractions of the printable area (origin top-left)."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class SheetImage:
    """Presentation-ready pixels of one image box.

    ``pixels`` holds stored values already masked to ``bits_stored``.  ``invert``
    is true when higher stored values mean *darker* (MONOCHROME1 xor Polarity
    REVERSE, PS3.4 H.4.1.3 / digest §5.2), so that after inversion higher is
    always brighter.
    """

    pixels: npt.NDArray[np.uint16]
    bits_stored: int
    invert: bool = False
    magnification: str = "CUBIC"
    aspect: tuple[int, int] = (1, 1)  # Pixel Aspect Ratio, vertical\horizontal


@dataclass(frozen=True)
class FilmSheet:
    """A film page to render: geometry, layout and the images in their boxes."""

    width_mm: float  # as oriented (LANDSCAPE already swapped)
    height_mm: float
    dpi: int
    boxes: tuple[Box, ...]  # position order: boxes[0] is Image Box Position 1
    images: Mapping[int, SheetImage] = field(default_factory=dict)  # position -> image
    margin_mm: float = 4.0
    spacing_mm: float = 3.0
    border: int = 0  # drive value around and between boxes
    empty: int = 0  # drive value of boxes without an image
    media_name: str = "14INX17IN"

    @property
    def width_px(self) -> int:
        return round(self.width_mm / 25.4 * self.dpi)

    @property
    def height_px(self) -> int:
        return round(self.height_mm / 25.4 * self.dpi)
