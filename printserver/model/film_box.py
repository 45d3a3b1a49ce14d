"""Basic Film Box (PS3.4 H.4.2): one sheet of film, its layout and its boxes.

Values the SCU leaves out, or sends empty, take the printer's defaults (the
U/M rule of PS3.4 H.4.2.1.2); the N-CREATE response returns every effective
value.  Unsupported values are handled by :class:`Choices` (default + 0x0116,
or 0x0106 on a strict printer); densities outside the printer's range are
clamped with B605.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.uid import generate_uid

from printserver.model.annotation_box import AnnotationBox
from printserver.model.choices import Choices
from printserver.model.errors import ImageDoesNotFit, InvalidValue, MissingAttribute, Notice
from printserver.model.image_box import ImageBox, configuration_information
from printserver.model.layout import parse_display_format
from printserver.model.presentation_lut import PresentationLutInstance
from printserver.model.printer import Printer
from printserver.model.sop_classes import COLOR_IMAGE_BOX, GRAYSCALE_IMAGE_BOX
from printserver.render.compose import plan_fit
from printserver.render.density import density_to_drive
from printserver.render.geometry import Box, PageGeometry
from printserver.render.sheet import (
    FilmSheet,
    PresentationLut,
    SheetAnnotation,
    SheetImage,
    ToneScale,
)

ORIENTATIONS = ("PORTRAIT", "LANDSCAPE")
TRIMS = ("YES", "NO")
OUTCOME_NOTICES = {
    "demagnified": Notice.DEMAGNIFIED,
    "cropped": Notice.CROPPED,
    "decimated": Notice.DECIMATED,
}


@dataclass(frozen=True)
class FilmBoxRequest:
    """The Film Box attributes of an N-CREATE or N-SET, read from the data set."""

    image_display_format: str | None = None
    film_orientation: str | None = None
    film_size_id: str | None = None
    magnification_type: str | None = None
    smoothing_type: str | None = None
    border_density: str | None = None
    empty_image_density: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    trim: str | None = None
    configuration_information: str | None = None
    requested_resolution_id: str | None = None
    illumination: int | None = None
    reflected_ambient_light: int | None = None
    annotation_display_format_id: str | None = None
    presentation_lut_uid: str | None = None


@dataclass(frozen=True)
class Viewing:
    """How a film is looked at, in cd/m² (PS3.3 C.13.5.1, PS3.14 §7.3): the one resolved
    value the N-CREATE/N-GET reply tells and the density model renders with."""

    illumination: int
    reflected_ambient_light: int


@dataclass
class FilmBox:
    """A film box, the image boxes its display format implies, and its annotation boxes."""

    uid: str
    printer: Printer
    image_display_format: str
    boxes: tuple[Box, ...]
    film_orientation: str
    film_size_id: str
    magnification_type: str
    smoothing_type: str
    border_density: str
    empty_image_density: str
    min_density: int
    max_density: int
    trim: str
    configuration_information: str
    requested_resolution_id: str
    illumination: int | None  # None: the printer's default for the medium
    reflected_ambient_light: int
    color: bool = False
    annotation_display_format_id: str = ""
    presentation_lut: PresentationLutInstance | None = None
    image_boxes: list[ImageBox] = field(default_factory=list)
    annotation_boxes: list[AnnotationBox] = field(default_factory=list)

    def image_box(self, uid: str) -> ImageBox | None:
        return next((box for box in self.image_boxes if box.uid == uid), None)

    def annotation_box(self, uid: str) -> AnnotationBox | None:
        return next((box for box in self.annotation_boxes if box.uid == uid), None)

    @property
    def has_images(self) -> bool:
        return any(box.image is not None for box in self.image_boxes)

    @property
    def dpi(self) -> int:
        """Requested Resolution ID (PS3.3 C.13.3): STANDARD or HIGH dots per inch."""
        return self.printer.resolutions[self.requested_resolution_id]

    @property
    def page(self) -> PageGeometry:
        """Where the printable area and every cell of this film sit (PS3.4 H.4.2.1.2.4)."""
        annotation = self.annotation_display_format_id if self.annotation_boxes else None
        return self.printer.page(self.film_size_id, self.film_orientation, self.dpi, annotation)

    def apply(
        self, request: FilmBoxRequest, choices: Choices, lut: PresentationLutInstance | None
    ) -> None:
        """N-SET of the attributes PS3.4 Table H.4-7 allows to change."""
        printer = self.printer
        low, high = printer.settings.min_density, printer.settings.max_density
        magnification = printer.magnification(
            choices, request.magnification_type, self.magnification_type
        )
        smoothing = printer.smoothing(choices, request.smoothing_type, self.smoothing_type)
        border = choices.density_term(
            "Border Density", request.border_density, self.border_density, low, high
        )
        empty = choices.density_term(
            "Empty Image Density", request.empty_image_density, self.empty_image_density, low, high
        )
        min_density = choices.density(
            "Min Density", request.min_density, low, high, self.min_density
        )
        max_density = choices.density(
            "Max Density", request.max_density, low, high, self.max_density
        )
        if min_density >= max_density:
            raise InvalidValue(f"Min Density {min_density} is not below Max Density {max_density}")
        trim = choices.choose("Trim", request.trim, TRIMS, self.trim)
        information = self.configuration_information
        if request.configuration_information is not None:
            information = configuration_information(
                request.configuration_information, printer, choices
            )
        self.magnification_type, self.smoothing_type = magnification, smoothing
        self.border_density, self.empty_image_density = border, empty
        self.min_density, self.max_density, self.trim = min_density, max_density, trim
        self.configuration_information = information
        self.illumination = request.illumination or self.illumination
        self.reflected_ambient_light = _first(
            request.reflected_ambient_light, self.reflected_ambient_light
        )
        if lut is not None:
            self.presentation_lut = lut

    def viewing(self, medium: str) -> Viewing:
        """Illumination and ambient light of this film on ``medium``: the client's values,
        else the printer's default for the medium.  PAPER is viewed by reflection, lit by
        the room (no ambient term, paper illumination); films on a light box."""
        settings = self.printer.settings
        if medium == "PAPER":
            return Viewing(self.illumination or settings.paper_illumination, 0)
        return Viewing(self.illumination or settings.illumination, self.reflected_ambient_light)

    def tone(self, box: ImageBox, lut: PresentationLut | None, medium: str) -> ToneScale:
        """Density model inputs of one image (PS3.4 H.4.2.1.2; PS3.14 §7.3); image box
        Min/Max Density override the film box's."""
        viewing = self.viewing(medium)
        return ToneScale(
            min_density=(box.min_density or self.min_density) / 100,
            max_density=(box.max_density or self.max_density) / 100,
            illumination=float(viewing.illumination),
            reflected_ambient_light=float(viewing.reflected_ambient_light),
            curve=self.printer.curve,
            linear_od=lut is not None and lut.shape == "LIN OD",
        )

    def sheet(self, *, medium: str = "BLUE FILM") -> FilmSheet:
        """The page the renderer draws for this film box (PS3.4 H.4.2.1.2.4)."""
        images: dict[int, SheetImage] = {}
        film_lut = self.presentation_lut.lut if self.presentation_lut is not None else None
        output = self.printer.colour
        colour_page = self.color and output.space != "GRAY"
        for box in self.image_boxes:
            lut = box.effective_lut(film_lut)
            image = box.sheet_image(
                self.magnification_type,
                self.smoothing_type,
                lut,
                self.tone(box, lut, medium) if self.printer.renders_density else None,
                lin_od_stored=self.printer.settings.lin_od == "dcmtk",
                colour_page=colour_page,
            )
            if image is not None:
                images[box.position] = image
        curve = self.printer.curve

        def drive(term: str) -> int:
            return density_to_drive(term, curve)

        return FilmSheet(
            page=self.page,
            boxes=self.boxes,
            images=images,
            border=drive(self.border_density),
            empty=drive(self.empty_image_density),
            media_name=self.film_size_id,
            color=colour_page,
            annotation=self._annotation(),
            trim=self.trim == "YES",
            output=output,
        )

    def _annotation(self) -> SheetAnnotation | None:
        if not self.annotation_boxes:
            return None
        layout = self.printer.settings.annotation_formats[self.annotation_display_format_id]
        return SheetAnnotation(
            text_mm=layout.text_mm,
            boxes=tuple(Box(b.x, b.y, b.width, b.height) for b in layout.boxes),
            aligns=tuple(b.align for b in layout.boxes),
            texts=tuple(box.text for box in self.annotation_boxes),
        )

    def fit_notice(self, box: ImageBox) -> Notice | None:
        """How the image of ``box`` goes into its cell: a warning, or None when it fits.

        Raises :class:`ImageDoesNotFit` (C603) when it is too large and the SCU
        asked for FAIL (PS3.4 H.4.3.1.2.1).
        """
        return self._fit(box, self.page)

    def fit_notices(self) -> list[Notice]:
        """The warnings of every image of this film box, the page geometry worked out once."""
        page = self.page
        notices: list[Notice] = []
        for box in self.image_boxes:
            notice = self._fit(box, page)
            if notice is not None and notice not in notices:
                notices.append(notice)
        return notices

    def _fit(self, box: ImageBox, page: PageGeometry) -> Notice | None:
        image = box.sheet_image(self.magnification_type, self.smoothing_type, None, None)
        if image is None:
            return None
        x0, y0, x1, y1 = page.cell_rect(self.boxes[box.position - 1])
        fit = plan_fit(image, x1 - x0, y1 - y0, page.dpi)
        if fit.outcome == "too_large":
            raise ImageDoesNotFit(
                f"image {fit.width}x{fit.height} px exceeds its box {x1 - x0}x{y1 - y0} px"
            )
        return OUTCOME_NOTICES.get(fit.outcome)


def _first(value: int | None, default: int) -> int:
    return default if value is None else value


def create_film_box(
    request: FilmBoxRequest,
    printer: Printer,
    uid: str | None,
    *,
    choices: Choices,
    color: bool = False,
    annotations: bool = False,
    lut: PresentationLutInstance | None = None,
    illumination: int | None = None,
    reflected_ambient_light: int | None = None,
) -> FilmBox:
    """Build a film box and its image boxes from an N-CREATE (PS3.4 H.4.2.1.2.1).

    ``annotations`` is true when the Basic Annotation Box class was negotiated;
    ``illumination`` and ``reflected_ambient_light`` are film session values of
    pre-CP-173 clients, used when the film box gives none.
    """
    if not request.image_display_format:
        raise MissingAttribute("Image Display Format (2010,0010) is required")
    orientation = choices.choose(
        "Film Orientation",
        request.film_orientation,
        ORIENTATIONS,
        printer.settings.default_orientation,
    )
    film_size_id = choices.choose(
        "Film Size ID",
        request.film_size_id,
        printer.settings.film_sizes,
        printer.settings.default_film_size,
    )
    format_id = _annotation_format(
        request.annotation_display_format_id, annotations, printer, choices
    )
    boxes = parse_display_format(
        request.image_display_format,
        max_boxes=printer.settings.max_image_boxes,
        page=printer.page(film_size_id, orientation, annotation_format_id=format_id),
        custom=printer.layouts,
    )
    film_box = FilmBox(
        uid=uid or generate_uid(),
        printer=printer,
        image_display_format=request.image_display_format,
        boxes=boxes,
        film_orientation=orientation,
        film_size_id=film_size_id,
        magnification_type=printer.settings.default_magnification,
        smoothing_type=printer.settings.default_smoothing,
        border_density=printer.settings.border_density,
        empty_image_density=printer.settings.empty_image_density,
        min_density=printer.settings.min_density,
        max_density=printer.settings.max_density,
        trim="NO",
        configuration_information="",
        requested_resolution_id=choices.choose(
            "Requested Resolution ID",
            request.requested_resolution_id,
            tuple(printer.resolutions),
            "STANDARD",
        ),
        illumination=illumination,
        reflected_ambient_light=_first(
            reflected_ambient_light, printer.settings.reflected_ambient_light
        ),
        color=color,
        annotation_display_format_id=format_id or "",
    )
    film_box.apply(request, choices, lut)
    image_class = COLOR_IMAGE_BOX if color else GRAYSCALE_IMAGE_BOX
    film_box.image_boxes = [
        ImageBox(uid=generate_uid(), position=index + 1, sop_class_uid=image_class, color=color)
        for index in range(len(boxes))
    ]
    if format_id:
        film_box.annotation_boxes = [
            AnnotationBox(uid=generate_uid(), position=index + 1)
            for index in range(len(printer.settings.annotation_formats[format_id].boxes))
        ]
    return film_box


def _annotation_format(
    format_id: str | None, negotiated: bool, printer: Printer, choices: Choices
) -> str | None:
    """The Annotation Display Format ID to create boxes for (PS3.4 H.4.2.1.2.1)."""
    if not negotiated or not format_id:
        return None
    if format_id not in printer.settings.annotation_formats:
        choices.unsupported(
            "Annotation Display Format ID", format_id, printer.settings.annotation_formats
        )
        return None
    return format_id
