"""A logical printer: what one called AE title offers and where its films go."""

from __future__ import annotations

import itertools
import typing
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from printserver.config.film_size import FILM_SIZES
from printserver.config.sections import AETitle, CupsEncryption, CupsServer, Section

Magnification = Literal["REPLICATE", "BILINEAR", "CUBIC", "NONE"]
"""Magnification Type defined terms (PS3.3 C.13.5)."""
RenderingIntent = Literal["perceptual", "relative_colorimetric"]
"""ICC rendering intents a colour printer may use for its output profile."""
Smoothing = Literal["NONE", "SHARP", "SMOOTH"]
"""Smoothing Type values of this printer (PS3.3 C.13.5 leaves them to the conformance
statement); the renderer implements exactly these (tests/test_settings.py)."""


class AnnotationBoxConfig(Section):
    """One annotation box, as fractions of the annotation band (origin top-left)."""

    x: float = Field(ge=0, le=1)
    y: float = Field(0.0, ge=0, le=1)
    width: float = Field(gt=0, le=1)
    height: float = Field(1.0, gt=0, le=1)
    align: Literal["left", "center", "right"] = "left"


class AnnotationFormatConfig(Section):
    """An Annotation Display Format ID (PS3.3 C.13.3): a band of the film and its boxes.

    The band is taken off the printable area, so text never covers an image.
    """

    band: Literal["top", "bottom"] = "bottom"
    band_mm: float = Field(10.0, gt=0, le=60)
    text_mm: float = Field(4.0, gt=0, le=30, description="height of the capital letters")
    boxes: tuple[AnnotationBoxConfig, ...] = Field(min_length=1)


DEFAULT_ANNOTATION_FORMATS: dict[str, AnnotationFormatConfig] = {
    "LABEL": AnnotationFormatConfig(boxes=(AnnotationBoxConfig(x=0.0, width=1.0),)),
    "ANNOTATION": AnnotationFormatConfig(
        boxes=(
            AnnotationBoxConfig(x=0.0, width=0.5),
            AnnotationBoxConfig(x=0.5, width=0.5, align="right"),
        )
    ),
    "CORNERS": AnnotationFormatConfig(
        band="top",
        boxes=(
            AnnotationBoxConfig(x=0.0, width=1 / 3),
            AnnotationBoxConfig(x=1 / 3, width=1 / 3, align="center"),
            AnnotationBoxConfig(x=2 / 3, width=1 / 3, align="right"),
        ),
    ),
}
"""Formats every printer offers unless its configuration declares its own."""

MEDIUM_TYPES = ("PAPER", "CLEAR FILM", "BLUE FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM")
"""Medium Type defined terms (PS3.3 C.13.1)."""


class FilmSizeConfig(Section):
    """A film size beyond the DICOM defined terms, declared by the site (portrait, mm)."""

    width_mm: float = Field(gt=20, le=2000)
    height_mm: float = Field(gt=20, le=2000)
    cups_media: str | None = Field(None, description="default: Custom.WxHmm")


class LayoutBoxConfig(Section):
    """One image box of a CUSTOM layout, as fractions of the printable area (origin top-left)."""

    x: float = Field(ge=0, lt=1)
    y: float = Field(ge=0, lt=1)
    width: float = Field(gt=0, le=1)
    height: float = Field(gt=0, le=1)


class LayoutConfig(Section):
    """A ``CUSTOM\\i`` Image Display Format: boxes in Image Box Position order."""

    description: str = ""
    boxes: tuple[LayoutBoxConfig, ...] = Field(min_length=1, max_length=400)

    @model_validator(mode="after")
    def _inside_and_apart(self) -> LayoutConfig:
        eps = 1e-9
        for index, box in enumerate(self.boxes, start=1):
            if box.x + box.width > 1 + eps or box.y + box.height > 1 + eps:
                raise ValueError(f"box {index} reaches outside the printable area")
        for (i, a), (j, b) in itertools.combinations(enumerate(self.boxes, start=1), 2):
            overlap_w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
            overlap_h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
            if overlap_w > eps and overlap_h > eps:
                raise ValueError(f"boxes {i} and {j} overlap")
        return self


def _check_curve(points: tuple[tuple[float, float], ...]) -> None:
    """A characteristic curve must be invertible: drives rise, densities fall."""
    if not points:
        return
    if len(points) < 2:
        raise ValueError("characteristic_curve needs at least two [drive, density] points")
    drives = [drive for drive, _ in points]
    densities = [density for _, density in points]
    if any(not 0 <= drive <= 4095 for drive in drives):
        raise ValueError("characteristic_curve drives must be within 0..4095")
    if any(b <= a for a, b in itertools.pairwise(drives)):
        raise ValueError("characteristic_curve drives must increase")
    if any(b >= a for a, b in itertools.pairwise(densities)):
        raise ValueError("characteristic_curve densities must fall as the drive rises")
    if densities[-1] < 0:
        raise ValueError("characteristic_curve densities must not be negative")


CodeString = Annotated[str, Field(pattern=r"^[A-Z0-9_ ]{1,16}$")]
"""A defined term as DICOM writes it (CS, PS3.5 6.2): upper case, digits, space, underscore."""


COMPOSED_DPI_MAX = 320
"""A composed page goes out as one image held in memory while it is sent: at 320 dpi the
largest film (17INX17IN) is 5440² 16-bit samples, 59 MB."""


class DicomPrinterConfig(Section):
    """A film imager that is a DICOM print SCP itself: our films go to it over Basic
    Grayscale or Color Print Management, we being its SCU (PS3.4 H)."""

    host: str = Field(min_length=1, max_length=253, description="the imager's host name or address")
    port: int = Field(104, ge=1, le=65535)
    called_ae: AETitle = Field(description="the imager's AE title")
    calling_ae: AETitle | None = Field(None, description="ours towards it; default server.ae_title")
    mode: Literal["as_sent", "composed"] = Field(
        "as_sent",
        description="as_sent: the film order goes out as the modality sent it; composed: our "
        "page, in P-values, goes out as one image in STANDARD\\1,1",
    )
    film_sizes: dict[CodeString, CodeString] = Field(
        default_factory=dict, description="Film Size ID as modalities ask → the imager's own"
    )
    media: dict[CodeString, CodeString] = Field(
        default_factory=dict, description="Medium Type as modalities ask → the imager's own"
    )
    connect_timeout: float = Field(10.0, gt=0, le=300, description="seconds to connect")
    timeout: float = Field(
        60.0, gt=0, le=600, description="seconds the imager may take to answer one message"
    )
    max_pdu: int = Field(65536, ge=4096, le=16_777_216, description="largest PDU we take from it")
    certificate: Path | None = Field(None, description="TLS: our client certificate (PEM)")
    private_key: Path | None = Field(None, description="TLS: its key (PEM)")
    ca_certificates: Path | None = Field(
        None, description="TLS: CA bundle to verify the imager; set it to use TLS"
    )

    @property
    def uses_tls(self) -> bool:
        return self.ca_certificates is not None

    @model_validator(mode="after")
    def _tls_pair(self) -> DicomPrinterConfig:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("give both certificate and private_key, or neither")
        if self.certificate is not None and self.ca_certificates is None:
            raise ValueError("a client certificate needs ca_certificates (TLS to the imager)")
        return self


class PrinterConfig(Section):
    """One logical printer, selected by the called AE title."""

    ae_title: AETitle
    cups_queue: str | None = None
    cups_server: CupsServer | None = Field(
        None, description="this queue's CUPS server: host, host:port or socket path; default [cups]"
    )
    cups_timeout: float | None = Field(
        None, gt=0, le=600, description="seconds one CUPS call may take; default [cups]"
    )
    cups_encryption: CupsEncryption | None = Field(
        None, description="IPP encryption to this queue's server; default [cups]"
    )
    directory: Path | None = None
    dicom: DicomPrinterConfig | None = None
    name: str | None = Field(None, max_length=64, description="Printer Name reported to SCUs")
    film_sizes: tuple[str, ...] = tuple(FILM_SIZES)
    default_film_size: str = "14INX17IN"
    default_orientation: Literal["PORTRAIT", "LANDSCAPE"] = "PORTRAIT"
    default_magnification: Magnification = "CUBIC"
    default_medium: str = "BLUE FILM"
    dpi: int = Field(320, ge=50, le=1200)
    bits: Literal[8, 12] = 12
    margin_mm: float = Field(4.0, ge=0, le=50)
    spacing_mm: float = Field(3.0, ge=0, le=50)
    border_density: str = "BLACK"
    empty_image_density: str = "BLACK"
    min_density: int = Field(20, ge=0, le=400)
    max_density: int = Field(320, ge=1, le=500)
    max_image_boxes: int = Field(100, ge=1, le=400)
    max_image_pixels: int = Field(
        64_000_000, ge=1, description="largest image (rows × columns) one box accepts (C605)"
    )
    media: dict[str, str] = Field(default_factory=dict, description="Film Size ID -> CUPS media")
    loaded_film_sizes: tuple[str, ...] = Field(
        (), description="sizes loaded now; films of other sizes wait held. Empty = all"
    )
    loaded_media: tuple[str, ...] = Field(
        (), description="Medium Types loaded now; others wait held. Empty = all"
    )
    strict: bool = Field(False, description="refuse what the lenient default would adjust")
    allowed_calling_aes: tuple[AETitle, ...] = Field((), description="empty = any caller")
    print_job_events: Literal["on", "with_next_request", "off"] = Field(
        "on",
        description="Print Job N-EVENT-REPORTs to associations that negotiated Print Job: "
        "sent as the job changes, only inside the handler of the next request, or none",
    )
    send_events: bool = Field(
        False, description="Printer status N-EVENT-REPORTs too, sent the Print Job events' way"
    )
    medium_types: tuple[str, ...] = MEDIUM_TYPES
    film_destinations: tuple[str, ...] = ("MAGAZINE", "PROCESSOR")
    default_destination: str = "PROCESSOR"
    magnification_types: tuple[Magnification, ...] = typing.get_args(Magnification)
    smoothing_types: tuple[Smoothing, ...] = typing.get_args(Smoothing)
    default_smoothing: Smoothing = "NONE"
    high_dpi: int | None = Field(None, ge=50, le=1200, description="dpi of Resolution HIGH")
    configuration_information: tuple[str, ...] = Field(
        (), description="Configuration Information values this printer understands"
    )
    illumination: int = Field(2000, ge=1, le=65535, description="default L0 for film, cd/m2")
    paper_illumination: int = Field(150, ge=1, le=65535, description="default L0 for PAPER")
    reflected_ambient_light: int = Field(10, ge=0, le=65535, description="default La, cd/m2")
    annotation_formats: dict[str, AnnotationFormatConfig] = Field(
        default_factory=lambda: dict(DEFAULT_ANNOTATION_FORMATS)
    )
    characteristic_curve: tuple[tuple[float, float], ...] = Field(
        (), description="measured [drive 0..4095, density OD] pairs; empty = ideal linear"
    )
    lin_od: Literal["appearance", "dcmtk"] = Field(
        "appearance", description="which end of a LIN OD image is Max Density"
    )
    color: bool = Field(True, description="false: grayscale; colour images print as lightness")
    icc_profile: Path | None = Field(
        None, description="output ICC profile (RGB or CMYK) of a colour printer; none = sRGB"
    )
    rendering_intent: RenderingIntent = "perceptual"
    custom_film_sizes: dict[str, FilmSizeConfig] = Field(
        default_factory=dict, description="filled from the file's [film_sizes]"
    )
    custom_layouts: dict[int, LayoutConfig] = Field(
        default_factory=dict, description="CUSTOM\\i layouts; filled from the layouts directory"
    )
    manufacturer: str = Field("printserver", max_length=64)
    model_name: str = Field("printserver PostScript film printer", max_length=64)
    serial_number: str = Field("", max_length=64)
    calibrated: datetime | None = Field(None, description="date and time of last calibration")

    @field_validator("film_sizes")
    @classmethod
    def _some_sizes(cls, sizes: tuple[str, ...]) -> tuple[str, ...]:
        if not sizes:
            raise ValueError("at least one film size is needed")
        return sizes

    def check_film_sizes(self) -> None:
        """Every offered size is a defined term, 17INX17IN, or declared in [film_sizes]."""
        for size in self.film_sizes:
            if size not in FILM_SIZES and size not in self.custom_film_sizes:
                known = ", ".join([*FILM_SIZES, *self.custom_film_sizes])
                raise ValueError(f"unknown film size {size!r}; known: {known}")
        if self.default_film_size not in self.film_sizes:
            raise ValueError(f"default_film_size {self.default_film_size!r} is not in film_sizes")

    @field_validator("border_density", "empty_image_density")
    @classmethod
    def _density_term(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in ("BLACK", "WHITE") and not (value.isascii() and value.isdecimal()):
            raise ValueError("must be BLACK, WHITE or a density in hundredths of OD")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PrinterConfig:
        destinations = (self.cups_queue, self.directory, self.dicom)
        if sum(destination is not None for destination in destinations) != 1:
            raise ValueError("give exactly one destination: cups_queue, directory or [dicom]")
        if self.min_density >= self.max_density:
            raise ValueError("min_density must be below max_density")
        if self.default_smoothing not in self.smoothing_types:
            raise ValueError(f"default_smoothing {self.default_smoothing!r} not in smoothing_types")
        if self.default_destination not in self.film_destinations:
            raise ValueError(
                f"default_destination {self.default_destination!r} not in film_destinations"
            )
        if self.default_medium not in self.medium_types:
            raise ValueError(f"default_medium {self.default_medium!r} not in medium_types")
        if self.default_magnification not in self.magnification_types:
            raise ValueError("default_magnification is not in magnification_types")
        _check_curve(self.characteristic_curve)
        if self.icc_profile is not None and not self.color:
            raise ValueError("icc_profile is for colour printers; this one has color = false")
        if self.dicom is not None and self.dicom.mode == "composed":
            if self.bits != 12:
                raise ValueError("a composed DICOM printer sends 12-bit P-values: bits must be 12")
            if self.dpi > COMPOSED_DPI_MAX:
                raise ValueError(
                    f"a composed DICOM printer sends each page whole: dpi at most "
                    f"{COMPOSED_DPI_MAX} (59 MB for 17INX17IN)"
                )
        return self
