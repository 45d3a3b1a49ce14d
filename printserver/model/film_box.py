"""Basic Film Box (PS3.4 H.4.2): one sheet of film, its layout and its image boxes.

Values the SCU leaves out, or sends empty, take the printer's defaults (the
U/M rule of PS3.4 H.4.2.1.2); values the printer does not support are replaced
by the default with warning 0x0116, which keeps a film printing instead of
failing the modality's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.uid import generate_uid

from printserver.config import PrinterConfig
from printserver.model.errors import InvalidValue, MissingAttribute, Notice
from printserver.model.film_size import FILM_SIZES
from printserver.model.image_box import ImageBox
from printserver.model.layout import parse_display_format
from printserver.render.density import density_to_drive
from printserver.render.sheet import MAGNIFICATIONS, Box, FilmSheet, SheetImage

BASIC_GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
ORIENTATIONS = ("PORTRAIT", "LANDSCAPE")


@dataclass(frozen=True)
class FilmBoxRequest:
    """The Film Box attributes of an N-CREATE, already read from the data set."""

    image_display_format: str | None
    film_orientation: str | None = None
    film_size_id: str | None = None
    magnification_type: str | None = None
    border_density: str | None = None
    empty_image_density: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    trim: str | None = None
    configuration_information: str | None = None


@dataclass
class FilmBox:
    """A film box and the image boxes its display format implies."""

    uid: str
    image_display_format: str
    boxes: tuple[Box, ...]
    film_orientation: str
    film_size_id: str
    magnification_type: str
    border_density: str
    empty_image_density: str
    min_density: int
    max_density: int
    trim: str = "NO"
    configuration_information: str = ""
    image_boxes: list[ImageBox] = field(default_factory=list)

    def image_box(self, uid: str) -> ImageBox | None:
        return next((box for box in self.image_boxes if box.uid == uid), None)

    @property
    def has_images(self) -> bool:
        return any(box.image is not None for box in self.image_boxes)

    def sheet(self, printer: PrinterConfig) -> FilmSheet:
        """The page the renderer draws for this film box (PS3.4 H.4.2.1.2.4)."""
        size = FILM_SIZES[self.film_size_id]
        width, height = size.width_mm, size.height_mm
        if self.film_orientation == "LANDSCAPE":
            width, height = height, width
        images: dict[int, SheetImage] = {}
        for box in self.image_boxes:
            image = box.sheet_image(self.magnification_type)
            if image is not None:
                images[box.position] = image

        def drive(term: str) -> int:
            return density_to_drive(term, self.min_density, self.max_density)

        return FilmSheet(
            width_mm=width,
            height_mm=height,
            dpi=printer.dpi,
            boxes=self.boxes,
            images=images,
            margin_mm=printer.margin_mm,
            spacing_mm=printer.spacing_mm,
            border=drive(self.border_density),
            empty=drive(self.empty_image_density),
            media_name=self.film_size_id,
        )


def _choose(
    value: str | None, allowed: tuple[str, ...], default: str, notices: list[Notice]
) -> str:
    if value is None or value == "":
        return default
    if value in allowed:
        return value
    notices.append(Notice.VALUE_REPLACED)
    return default


def _density_term(value: str | None, default: str, notices: list[Notice]) -> str:
    if not value:
        return default
    if value in ("BLACK", "WHITE") or value.isdigit():
        return value
    notices.append(Notice.VALUE_REPLACED)
    return default


def create_film_box(
    request: FilmBoxRequest, printer: PrinterConfig, uid: str | None
) -> tuple[FilmBox, list[Notice]]:
    """Build a film box and its image boxes from an N-CREATE (PS3.4 H.4.2.1.2.1)."""
    if not request.image_display_format:
        raise MissingAttribute("Image Display Format (2010,0010) is required")
    boxes = parse_display_format(request.image_display_format, max_boxes=printer.max_image_boxes)
    notices: list[Notice] = []
    min_density = request.min_density or printer.min_density
    max_density = request.max_density or printer.max_density
    if min_density >= max_density:
        raise InvalidValue(f"Min Density {min_density} is not below Max Density {max_density}")
    film_box = FilmBox(
        uid=uid or generate_uid(),
        image_display_format=request.image_display_format,
        boxes=boxes,
        film_orientation=_choose(
            request.film_orientation, ORIENTATIONS, printer.default_orientation, notices
        ),
        film_size_id=_choose(
            request.film_size_id, printer.film_sizes, printer.default_film_size, notices
        ),
        magnification_type=_choose(
            request.magnification_type, MAGNIFICATIONS, printer.default_magnification, notices
        ),
        border_density=_density_term(request.border_density, printer.border_density, notices),
        empty_image_density=_density_term(
            request.empty_image_density, printer.empty_image_density, notices
        ),
        min_density=min_density,
        max_density=max_density,
        trim=_choose(request.trim, ("YES", "NO"), "NO", notices),
        configuration_information=request.configuration_information or "",
    )
    film_box.image_boxes = [
        ImageBox(uid=generate_uid(), position=index + 1, sop_class_uid=BASIC_GRAYSCALE_IMAGE_BOX)
        for index in range(len(boxes))
    ]
    return film_box, notices
