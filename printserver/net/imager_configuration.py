"""What a DICOM imager supports, by its own Printer Configuration Retrieval (PS3.4 H.4.11),
set beside what our printer offers modalities, so that a site maps (``film_sizes``,
``media`` of ``[printers.dicom]``) or stops offering what the imager lacks."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from printserver.config import PrinterConfig
from printserver.net.imager_print_job import said

LISTED_MAX = 200
"""Items of an imager's configuration read at the most: a list is a few dozen."""


@dataclass(frozen=True)
class ImagerConfiguration:
    """Film sizes and media an imager lists (installed media and display formats)."""

    film_sizes: tuple[str, ...]
    media: tuple[str, ...]


def read(reply: Dataset | None) -> ImagerConfiguration | None:
    """The Printer Configuration Sequence of an N-GET reply; None when it has none."""
    items = reply.get("PrinterConfigurationSequence", []) if reply is not None else []
    if not items:
        return None
    sizes: list[str] = []
    media: list[str] = []
    for item in items[:LISTED_MAX]:
        for keyword in ("MediaInstalledSequence", "OtherMediaAvailableSequence"):
            for medium in item.get(keyword, [])[:LISTED_MAX]:
                media.append(said(medium.get("MediumType", "")))
                sizes.append(said(medium.get("FilmSizeID", "")))
        for layout in item.get("SupportedImageDisplayFormatsSequence", [])[:LISTED_MAX]:
            sizes.append(said(layout.get("FilmSizeID", "")))
    return ImagerConfiguration(_distinct(sizes), _distinct(media))


def _distinct(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def missing(printer: PrinterConfig, imager: ImagerConfiguration) -> list[str]:
    """What this printer offers modalities that reaches the imager, after the site's
    mapping, as a term the imager does not list ("film size 14INX17IN → 35CMX43CM")."""
    dicom = printer.dicom
    if dicom is None:
        return []
    gaps = []
    for kind, offered, mapping, listed in (
        ("film size", printer.film_sizes, dicom.film_sizes, imager.film_sizes),
        ("medium", printer.medium_types, dicom.media, imager.media),
    ):
        if not listed:
            continue  # the imager did not say: nothing to compare with
        for term in offered:
            sent = mapping.get(term, term)
            if sent not in listed:
                gaps.append(f"{kind} {term}" + (f" → {sent}" if sent != term else ""))
    return gaps
