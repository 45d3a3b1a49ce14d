"""Basic Grayscale Image Box (PS3.4 H.4.3): one cell of a film box and its image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from printserver.model.errors import InvalidValue
from printserver.render.sheet import MAGNIFICATIONS, SheetImage

POLARITIES = ("NORMAL", "REVERSE")


@dataclass(frozen=True)
class ImageContent:
    """A decoded Basic Grayscale Image Sequence item (PS3.4 H.4.3.1.2.1)."""

    pixels: npt.NDArray[np.uint16]
    bits_stored: int
    monochrome1: bool
    aspect: tuple[int, int] = (1, 1)


@dataclass
class ImageBox:
    """An image box created by the SCP with its film box; the SCU only N-SETs it."""

    uid: str
    position: int
    sop_class_uid: str
    image: ImageContent | None = None
    polarity: str = "NORMAL"
    magnification: str | None = None  # overrides the film box when set

    def set(
        self,
        *,
        image: ImageContent | None,
        polarity: str | None = None,
        magnification: str | None = None,
    ) -> None:
        """Apply an N-SET; ``image=None`` erases (an empty image sequence)."""
        if polarity is not None:
            if polarity not in POLARITIES:
                raise InvalidValue(f"Polarity {polarity!r} is not NORMAL or REVERSE")
            self.polarity = polarity
        if magnification is not None:
            if magnification not in MAGNIFICATIONS:
                raise InvalidValue(f"Magnification Type {magnification!r} is not supported")
            self.magnification = magnification
        self.image = image

    def sheet_image(self, film_magnification: str) -> SheetImage | None:
        """What the renderer needs of this box, or None when it holds no image."""
        if self.image is None:
            return None
        return SheetImage(
            pixels=self.image.pixels,
            bits_stored=self.image.bits_stored,
            invert=self.image.monochrome1 != (self.polarity == "REVERSE"),
            magnification=self.magnification or film_magnification,
            aspect=self.image.aspect,
        )
