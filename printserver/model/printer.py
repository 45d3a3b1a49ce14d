"""The Printer SOP instance (PS3.4 H.4.6): what a logical printer offers, and its status.

:class:`Printer` is the print model's view of one logical printer: its
settings (data, validated by ``printserver.config``) and what follows from
them: film sizes and media, the characteristic curve, CUSTOM layouts and the
page geometry of a film.

Printer Status is NORMAL, WARNING or FAILURE with a Printer Status Info defined
term (PS3.3 C.13.9.1).  The spool keeps every accepted film
on disk and delivers it when the destination recovers, so a destination that is
stopped, rejecting or unreachable is reported as WARNING with the term that
matches the cause, never FAILURE: modalities such as GE CT stop printing on
FAILURE (PS3.3 C.13.9), and the films would be safe anyway.  FAILURE is kept
for a print queue that cannot take films at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from printserver.config import FILM_SIZES, ConfigError, FilmSize, PrinterConfig
from printserver.model.choices import Choices, D
from printserver.render import colour
from printserver.render.geometry import Box, PageGeometry
from printserver.render.sheet import CharacteristicCurve
from printserver.sinks.base import DestinationStatus


@dataclass(frozen=True)
class Printer:
    """One logical printer, selected by its called AE title, as the print model uses it."""

    settings: PrinterConfig
    curve: CharacteristicCurve
    layouts: Mapping[int, tuple[Box, ...]]
    colour: colour.OutputColour = colour.SRGB

    def magnification(self, choices: Choices, requested: str | None, current: D) -> str | D:
        """Magnification Type (PS3.3 C.13.5): one the printer offers, else what it was."""
        offered = self.settings.magnification_types
        return choices.choose("Magnification Type", requested, offered, current)

    def smoothing(self, choices: Choices, requested: str | None, current: D) -> str | D:
        """Smoothing Type (PS3.3 C.13.5): one the printer offers, else what it was."""
        return choices.choose("Smoothing Type", requested, self.settings.smoothing_types, current)

    @classmethod
    def of(cls, settings: PrinterConfig) -> Printer:
        """The printer of these settings; its output ICC profile is read and parsed here,
        once, so a profile LittleCMS cannot use stops the server at start (ConfigError)."""
        layouts = {
            number: tuple(Box(b.x, b.y, b.width, b.height) for b in layout.boxes)
            for number, layout in settings.custom_layouts.items()
        }
        return cls(settings, _curve(settings), layouts, _output_colour(settings))

    def check_icc_profile(self, profile: bytes) -> None:
        """An image's ICC Profile (0028,2000, PS3.3 C.11.15) must be an RGB profile that
        LittleCMS can join to this printer's output; raises :class:`colour.ProfileError`."""
        colour.check_source(profile, self.colour)

    @property
    def renders_density(self) -> bool:
        """Whether our pages carry this printer's density model (PS3.14, PS3.4 H.4.2.1.2),
        or P-values, for an imager that applies its own to the page we compose for it."""
        dicom = self.settings.dicom
        return dicom is None or dicom.mode != "composed"

    @property
    def ae_title(self) -> str:
        return self.settings.ae_title

    @property
    def name(self) -> str:
        return self.name_of(self.settings)

    @staticmethod
    def name_of(settings: PrinterConfig) -> str:
        """Printer Name (2110,0030) reported to SCUs (no profile read for it)."""
        return settings.name or settings.ae_title

    def accepts_caller(self, calling_ae: str) -> bool:
        allowed = self.settings.allowed_calling_aes
        return not allowed or calling_ae.strip() in allowed

    def film_size(self, film_size_id: str) -> FilmSize:
        """The physical size of an offered Film Size ID: a site's own, or a defined term."""
        custom = self.settings.custom_film_sizes.get(film_size_id)
        if custom is None:
            return FILM_SIZES[film_size_id]
        media = custom.cups_media or f"Custom.{custom.width_mm:g}x{custom.height_mm:g}mm"
        return FilmSize(custom.width_mm, custom.height_mm, media)

    def media_for(self, film_size_id: str) -> str:
        """CUPS media name sent with a job of this film size."""
        return self.settings.media.get(film_size_id) or self.film_size(film_size_id).cups_media

    def missing_media(self, film_size_id: str, medium_type: str) -> str | None:
        """Why a film must wait for the operator, or None when the printer has its media."""
        loaded_sizes, loaded_media = self.settings.loaded_film_sizes, self.settings.loaded_media
        if loaded_sizes and film_size_id not in loaded_sizes:
            return f"film size {film_size_id} is not loaded"
        if loaded_media and medium_type and medium_type not in loaded_media:
            return f"medium {medium_type} is not loaded"
        return None

    @property
    def resolutions(self) -> dict[str, int]:
        """Requested Resolution ID (PS3.3 C.13.3) → dots per inch."""
        settings = self.settings
        if settings.high_dpi:
            return {"STANDARD": settings.dpi, "HIGH": settings.high_dpi}
        return {"STANDARD": settings.dpi}

    def page(
        self,
        film_size_id: str,
        orientation: str,
        dpi: int | None = None,
        annotation_format_id: str | None = None,
    ) -> PageGeometry:
        """The geometry of a film of this size and orientation, with the annotation band
        of ``annotation_format_id`` when the film box has annotation boxes."""
        size = self.film_size(film_size_id)
        band: Literal["top", "bottom"] | None = None
        band_mm = 0.0
        if annotation_format_id:
            annotation = self.settings.annotation_formats[annotation_format_id]
            band, band_mm = annotation.band, annotation.band_mm
        return PageGeometry.of_film(
            size.width_mm,
            size.height_mm,
            orientation,
            dpi or self.settings.dpi,
            margin_mm=self.settings.margin_mm,
            spacing_mm=self.settings.spacing_mm,
            band=band,
            band_mm=band_mm,
        )


def _output_colour(settings: PrinterConfig) -> colour.OutputColour:
    """The printer's output: its ICC profile (RGB or CMYK) with its intent, sRGB without one,
    CIE L* for a grayscale printer."""
    intent = settings.rendering_intent
    if not settings.color:
        return colour.OutputColour("GRAY", intent=intent, name=colour.LIGHTNESS.name)
    path = settings.icc_profile
    if path is None:
        return colour.OutputColour(intent=intent)
    try:
        return colour.output_colour(path.read_bytes(), intent)
    except OSError as exc:
        raise ConfigError(f"{settings.ae_title}: icc_profile {path}: {exc.strerror}") from None
    except colour.ProfileError as exc:
        raise ConfigError(f"{settings.ae_title}: icc_profile {path} {exc}") from None


def _curve(settings: PrinterConfig) -> CharacteristicCurve:
    """The measured characteristic curve, or the ideal one between Min and Max Density."""
    if not settings.characteristic_curve:
        return CharacteristicCurve.ideal(settings.min_density / 100, settings.max_density / 100)
    drives, densities = zip(*settings.characteristic_curve, strict=True)
    return CharacteristicCurve(tuple(drives), tuple(densities))


NORMAL = "NORMAL"
WARNING = "WARNING"
FAILURE = "FAILURE"

REASON_TERMS: tuple[tuple[str, str], ...] = (
    ("media-jam", "FILM JAM"),
    ("media-empty", "SUPPLY EMPTY"),
    ("media-needed", "SUPPLY EMPTY"),
    ("toner-empty", "SUPPLY EMPTY"),
    ("marker-supply-empty", "SUPPLY EMPTY"),
    ("media-low", "SUPPLY LOW"),
    ("toner-low", "SUPPLY LOW"),
    ("marker-supply-low", "SUPPLY LOW"),
    ("door-open", "COVER OPEN"),
    ("cover-open", "COVER OPEN"),
    ("input-tray-missing", "NO SUPPLY MGZ"),
    ("output-area-full", "RECEIVER FULL"),
    ("spool-area-full", "PRINT BUFF FULL"),
    ("offline", "PRINTER OFFLINE"),
    ("paused", "PRINTER OFFLINE"),
    ("shutdown", "PRINTER DOWN"),
)
"""IPP printer-state-reasons keywords (RFC 8011, PWG 5100.9) → Printer Status Info."""


@dataclass(frozen=True)
class PrinterStatus:
    """Printer Status (2110,0010) and Printer Status Info (2110,0020)."""

    status: str
    info: str


def _term(reasons: tuple[str, ...]) -> str | None:
    for reason in reasons:
        for keyword, term in REASON_TERMS:
            if reason.startswith(keyword):
                return term
    if any(reason.endswith("-error") for reason in reasons):
        return "CHECK PRINTER"
    return None


def printer_status(
    destination: DestinationStatus | None, *, spool_accepting: bool = True
) -> PrinterStatus:
    """Map the destination's health and the spool's onto the Printer module."""
    if not spool_accepting:
        return PrinterStatus(FAILURE, "PRINT BUFF FULL")
    if destination is None:
        return PrinterStatus(NORMAL, NORMAL)
    if not destination.reachable:
        return PrinterStatus(WARNING, "PRINTER DOWN")
    if destination.printer_status is not None:  # a DICOM imager says it in our terms
        return PrinterStatus(*destination.printer_status)
    term = _term(destination.reasons)
    if not destination.ok:
        return PrinterStatus(WARNING, term or "CHECK PRINTER")
    if not destination.accepting:
        return PrinterStatus(WARNING, "PRINTER OFFLINE")
    if term is not None:
        return PrinterStatus(WARNING, term)
    return PrinterStatus(NORMAL, NORMAL)
