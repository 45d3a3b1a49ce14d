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

from printserver.render.colour import SRGB, OutputColour
from printserver.render.geometry import Box, PageGeometry

DRIVE_MAX = 4095
"""Largest 12-bit drive value (white on the page)."""

Samples = npt.NDArray[np.uint16] | npt.NDArray[np.uint8]
"""Integer pixel values: stored values, Presentation LUT entries or colour levels."""


PRESENTATION_LUT_SHAPES = ("IDENTITY", "LIN OD", "INVERSE")
"""Presentation LUT Shape values accepted for print (PS3.3 C.11.6; INVERSE as for softcopy)."""


@dataclass(frozen=True)
class PresentationLut:
    """A Presentation LUT as the renderer applies it (PS3.3 C.11.4).

    Either a ``shape`` or an explicit ``table`` of ``len(table)`` entries with
    outputs of ``table_bits`` bits, mapping stored values 0..2^bits-1 (first
    value mapped 0) onto P-values.  ``LIN OD`` is carried to the density model:
    its values are linear in optical density rather than perceptually linear.
    """

    shape: str = "IDENTITY"
    table: npt.NDArray[np.uint16] | None = None
    table_bits: int = 16


@dataclass(frozen=True)
class CharacteristicCurve:
    """Measured density (OD) for increasing drive values; densities strictly decrease."""

    drives: tuple[float, ...]
    densities: tuple[float, ...]

    @classmethod
    def ideal(cls, min_density: float, max_density: float) -> CharacteristicCurve:
        """An uncalibrated printer: density linear in drive between its Dmax and Dmin."""
        return cls((0.0, float(DRIVE_MAX)), (max_density, min_density))

    @property
    def min_density(self) -> float:
        return self.densities[-1]

    @property
    def max_density(self) -> float:
        return self.densities[0]

    def drive(self, densities: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Drive values that print ``densities`` (clamped to what the printer can reach)."""
        result: npt.NDArray[np.float64] = np.interp(
            np.asarray(densities, dtype=np.float64), self.densities[::-1], self.drives[::-1]
        )
        return result


@dataclass(frozen=True)
class ToneScale:
    """How one image's P-values become densities (PS3.4 H.4.2.1.2, PS3.14 §7.3).

    Densities in OD.  ``reflected_ambient_light`` is 0 for reflective media
    (paper).  ``linear_od`` is the LIN OD Presentation LUT shape.
    """

    min_density: float
    max_density: float
    illumination: float
    reflected_ambient_light: float
    curve: CharacteristicCurve
    linear_od: bool = False


@dataclass(frozen=True)
class SheetImage:
    """Presentation-ready pixels of one image box.

    ``pixels`` holds stored values already masked to ``bits_stored``; colour
    images are (rows, columns, 3) RGB with 8 bits, in the colour space of the ICC
    profile ``icc_profile`` (PS3.3 C.11.15), sRGB when it is None.  ``invert`` is true when
    higher stored values mean *darker* (MONOCHROME1 xor Polarity REVERSE,
    PS3.4 H.4.1.3), so that after inversion higher is always
    brighter.  ``requested_width_mm`` is Requested Image Size (2020,0030) and
    ``decimate_crop`` Requested Decimate/Crop Behavior (2020,0040).
    """

    pixels: Samples
    bits_stored: int
    invert: bool = False
    magnification: str = "CUBIC"
    aspect: tuple[int, int] = (1, 1)  # Pixel Aspect Ratio, vertical\horizontal
    presentation_lut: PresentationLut | None = None
    requested_width_mm: float | None = None
    decimate_crop: str | None = None  # DECIMATE, CROP, FAIL; None = demagnify to fit
    tone: ToneScale | None = None  # None: P-values are drive values (wedges, colour)
    smoothing: str = "NONE"
    icc_profile: bytes | None = field(default=None, repr=False)

    @property
    def color(self) -> bool:
        return self.pixels.ndim == 3


@dataclass(frozen=True)
class SheetAnnotation:
    """Annotation boxes drawn in the page's annotation band (:class:`PageGeometry`)."""

    text_mm: float
    boxes: tuple[Box, ...]  # fractions of the band, Annotation Position order
    aligns: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class FilmSheet:
    """A film page to render: geometry, layout and the images in their boxes.

    ``color``: a colour page, in ``output``'s space (DeviceRGB or DeviceCMYK).  Colour
    images on a page that is not colour (a grayscale printer) print as their lightness.
    """

    page: PageGeometry
    boxes: tuple[Box, ...]  # position order: boxes[0] is Image Box Position 1
    images: Mapping[int, SheetImage] = field(default_factory=dict)  # position -> image
    border: int = 0  # drive value around and between boxes
    empty: int = 0  # drive value of boxes without an image
    media_name: str = "14INX17IN"
    color: bool = False
    annotation: SheetAnnotation | None = None
    trim: bool = False
    output: OutputColour = SRGB

    @property
    def cmyk(self) -> bool:
        return self.color and self.output.space == "CMYK"

    @property
    def dpi(self) -> int:
        return self.page.dpi

    @property
    def width_px(self) -> int:
        return self.page.width_px

    @property
    def height_px(self) -> int:
        return self.page.height_px
