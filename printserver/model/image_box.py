"""Basic Grayscale and Basic Color Image Boxes (PS3.4 H.4.3, H.4.4).

The SCP creates them with their film box; the SCU only N-SETs them.  Values set
on an image box override those of its film box for that one image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from printserver.model.choices import Choices
from printserver.model.errors import ImageTooLarge, InvalidValue
from printserver.model.presentation_lut import PresentationLutInstance
from printserver.model.printer import Printer
from printserver.render.colour import ProfileError
from printserver.render.sheet import PresentationLut, SheetImage, ToneScale

POLARITIES = ("NORMAL", "REVERSE")
DECIMATE_CROP = ("DECIMATE", "CROP", "FAIL")
MAX_REQUESTED_SIZE_MM = 1000.0


@dataclass(frozen=True)
class ImageContent:
    """A decoded image sequence item: gray (rows, columns) or RGB (rows, columns, 3), with
    the ICC Profile (0028,2000) of an RGB image when it has one (PS3.3 C.11.15)."""

    pixels: npt.NDArray[np.uint16] | npt.NDArray[np.uint8]
    bits_stored: int
    monochrome1: bool = False
    aspect: tuple[int, int] = (1, 1)
    icc_profile: bytes | None = None


@dataclass(frozen=True)
class ImageBoxRequest:
    """The attributes of an Image Box N-SET (PS3.4 Tables H.4-10, H.4-11)."""

    position: int
    image: ImageContent | None = None  # None with ``erase`` false: no sequence sent
    erase: bool = False
    polarity: str | None = None
    magnification_type: str | None = None
    smoothing_type: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    configuration_information: str | None = None
    requested_image_size: float | None = None
    decimate_crop: str | None = None
    presentation_lut_uid: str | None = None


@dataclass
class ImageBox:
    """One cell of a film box and the image an SCU put there."""

    uid: str
    position: int
    sop_class_uid: str
    color: bool = False
    image: ImageContent | None = None
    polarity: str = "NORMAL"
    magnification_type: str | None = None  # None: the film box's
    smoothing_type: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    configuration_information: str | None = None
    requested_image_size: float | None = None
    decimate_crop: str | None = None  # None: the printer's default, demagnify to fit
    presentation_lut: PresentationLutInstance | None = None

    def apply(
        self,
        request: ImageBoxRequest,
        printer: Printer,
        choices: Choices,
        lut: PresentationLutInstance | None,
    ) -> None:
        """Take an N-SET; all values are checked before anything changes."""
        if request.image is not None:
            rows, columns = request.image.pixels.shape[:2]
            if rows * columns > printer.settings.max_image_pixels:
                raise ImageTooLarge(
                    f"image of {rows}x{columns} pixels exceeds the printer's "
                    f"{printer.settings.max_image_pixels}"
                )
            if request.image.icc_profile is not None:
                check_icc_profile(request.image.icc_profile, printer)
        polarity = choices.choose("Polarity", request.polarity, POLARITIES, self.polarity)
        # None: the film box's (an unsupported value on a lenient printer changes nothing)
        magnification = printer.magnification(
            choices, request.magnification_type, self.magnification_type
        )
        smoothing = printer.smoothing(choices, request.smoothing_type, self.smoothing_type)
        low, high = printer.settings.min_density, printer.settings.max_density
        min_density = (
            choices.density("Min Density", request.min_density, low, high, self.min_density or 0)
            or None
        )
        max_density = (
            choices.density("Max Density", request.max_density, low, high, self.max_density or 0)
            or None
        )
        size = request.requested_image_size
        if size is not None and not 0 < size <= MAX_REQUESTED_SIZE_MM:
            raise InvalidValue(f"Requested Image Size {size} mm is not in 0..1000")
        behaviour = self.decimate_crop
        if request.decimate_crop:
            behaviour = choices.choose(
                "Requested Decimate/Crop Behavior",
                request.decimate_crop,
                DECIMATE_CROP,
                behaviour or "DECIMATE",
            )
        information = self.configuration_information
        if request.configuration_information is not None:
            information = configuration_information(
                request.configuration_information, printer, choices
            )
        self.polarity, self.magnification_type, self.smoothing_type = (
            polarity,
            magnification,
            smoothing,
        )
        self.min_density, self.max_density = min_density, max_density
        self.requested_image_size = size if size is not None else self.requested_image_size
        self.decimate_crop, self.configuration_information = behaviour, information
        if lut is not None:
            self.presentation_lut = lut
        if request.erase:
            self.image = None
        elif request.image is not None:
            self.image = request.image

    def effective_lut(self, film_lut: PresentationLut | None) -> PresentationLut | None:
        """The image box's own Presentation LUT wins over the film box's (PS3.4 H.4.3)."""
        if self.color:
            return None
        return self.presentation_lut.lut if self.presentation_lut is not None else film_lut

    def sheet_image(
        self,
        magnification: str,
        smoothing: str,
        lut: PresentationLut | None,
        tone: ToneScale | None,
        *,
        lin_od_stored: bool = False,
        colour_page: bool = True,
    ) -> SheetImage | None:
        """What the renderer needs of this box, or None when it holds no image.

        ``lin_od_stored`` reads LIN OD images the DCMTK way: density grows with
        the stored value whatever the photometric interpretation (PS3.4 H.4.3.1.2.1).
        A colour image on a page that is not ``colour_page`` (a grayscale printer) prints
        as its lightness through the density model ``tone``; on colour film it has none.
        """
        if self.image is None:
            return None
        invert = self.image.monochrome1 != (self.polarity == "REVERSE")
        if lin_od_stored and lut is not None and lut.shape == "LIN OD":
            invert = True
        return SheetImage(
            pixels=self.image.pixels,
            bits_stored=self.image.bits_stored,
            invert=invert,
            magnification=self.magnification_type or magnification,
            aspect=self.image.aspect,
            presentation_lut=lut,
            requested_width_mm=self.requested_image_size,
            decimate_crop=self.decimate_crop,
            tone=None if self.color and colour_page else tone,
            smoothing=self.smoothing_type or smoothing,
            icc_profile=self.image.icc_profile,
        )


def check_icc_profile(profile: bytes, printer: Printer) -> None:
    """An ICC Profile (0028,2000) LittleCMS cannot parse, or not RGB, is refused (0x0106) at
    N-SET, so that it can never make a film fail later (PS3.3 C.11.15, PS3.4 H.4.4.1.2.1)."""
    try:
        printer.check_icc_profile(profile)
    except ProfileError as exc:
        raise InvalidValue(f"ICC Profile (0028,2000) {exc}") from None


def configuration_information(value: str, printer: Printer, choices: Choices) -> str:
    """Configuration Information (2010,0150): backslash-separated values the printer knows.

    Unknown values are dropped with warning 0x0116 (lenient) or refused (strict),
    PS3.3 C.13.3; an empty string clears it.
    """
    known = []
    for token in (part.strip() for part in value.split("\\")):
        if not token:
            continue
        if token in printer.settings.configuration_information:
            known.append(token)
        else:
            choices.unsupported(
                "Configuration Information", token, printer.settings.configuration_information
            )
    return "\\".join(known)
