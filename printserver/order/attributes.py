"""The attributes each print SOP class takes (PS3.4 H.4), and the requests read from them
with the typed readers of ``order/values.py``; the image items are ``order/image_items.py``'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from printserver.model.errors import InvalidValue, MissingAttribute, NoSuchAttribute
from printserver.model.film_box import FilmBoxRequest
from printserver.model.film_session import FilmSessionRequest
from printserver.model.image_box import ImageBoxRequest
from printserver.model.presentation_lut import PresentationLutRequest
from printserver.order.image_items import color_image, grayscale_image
from printserver.order.values import (
    code,
    decimal,
    integer,
    raw_value,
    referenced_uid,
    text,
)
from printserver.order.vr_strings import StringCheck

Reader = Callable[[Dataset, str, StringCheck], Any]


def _unsigned(ds: Dataset, keyword: str, check: StringCheck) -> int | None:
    """A US value: binary, so there is no string to hold to a VR."""
    return integer(ds, keyword)


@dataclass(frozen=True)
class Attribute:
    """An attribute a request may carry: the request field it is read into, by which
    reader; without a reader it is accepted and read elsewhere (a sequence) or not at all."""

    keyword: str
    field: str = ""
    read: Reader | None = None


def _keywords(attributes: tuple[Attribute, ...]) -> frozenset[str]:
    return frozenset(attribute.keyword for attribute in attributes)


def _read(ds: Dataset, check: StringCheck, attributes: tuple[Attribute, ...]) -> dict[str, Any]:
    """The request fields of ``attributes``, read in their order (the first bad one answers)."""
    return {a.field: a.read(ds, a.keyword, check) for a in attributes if a.read is not None}


_PRESENTATION_LUT_REFERENCE = Attribute(
    "ReferencedPresentationLUTSequence", "presentation_lut_uid", referenced_uid
)
_INSTANCE = (Attribute("SOPClassUID"), Attribute("SOPInstanceUID"))
# attributes of more than one SOP class, read the same way in each
_MAGNIFICATION_TYPE = Attribute("MagnificationType", "magnification_type", code)
_SMOOTHING_TYPE = Attribute("SmoothingType", "smoothing_type", code)
_MIN_DENSITY = Attribute("MinDensity", "min_density", _unsigned)
_MAX_DENSITY = Attribute("MaxDensity", "max_density", _unsigned)
_CONFIGURATION_INFORMATION = Attribute(
    "ConfigurationInformation", "configuration_information", text
)
_ILLUMINATION = Attribute("Illumination", "illumination", _unsigned)
_REFLECTED_AMBIENT_LIGHT = Attribute("ReflectedAmbientLight", "reflected_ambient_light", _unsigned)

FILM_SESSION_ATTRIBUTES = (
    Attribute("NumberOfCopies", "number_of_copies", integer),
    Attribute("PrintPriority", "print_priority", code),
    Attribute("MediumType", "medium_type", code),
    Attribute("FilmDestination", "film_destination", code),
    Attribute("FilmSessionLabel", "film_session_label", text),
    Attribute("MemoryAllocation", "memory_allocation", integer),
    Attribute("OwnerID", "owner_id", text),
    _PRESENTATION_LUT_REFERENCE,
    _ILLUMINATION,
    _REFLECTED_AMBIENT_LIGHT,
    Attribute("SpecificCharacterSet"),
    Attribute("ProposedStudySequence"),
    *_INSTANCE,
)
"""PS3.4 Table H.4-2, plus the pre-CP-173 session-level LUT attributes."""

FILM_BOX_ATTRIBUTES = (
    Attribute("ImageDisplayFormat", "image_display_format", text),
    Attribute("FilmOrientation", "film_orientation", code),
    Attribute("FilmSizeID", "film_size_id", code),
    _MAGNIFICATION_TYPE,
    _SMOOTHING_TYPE,
    Attribute("BorderDensity", "border_density", code),
    Attribute("EmptyImageDensity", "empty_image_density", code),
    _MIN_DENSITY,
    _MAX_DENSITY,
    Attribute("Trim", "trim", code),
    _CONFIGURATION_INFORMATION,
    Attribute("RequestedResolutionID", "requested_resolution_id", code),
    _ILLUMINATION,
    _REFLECTED_AMBIENT_LIGHT,
    Attribute("AnnotationDisplayFormatID", "annotation_display_format_id", code),
    _PRESENTATION_LUT_REFERENCE,
    Attribute("ReferencedFilmSessionSequence"),
    Attribute("ICCProfile"),
    *_INSTANCE,
)
"""PS3.4 Table H.4-6."""

GRAYSCALE_IMAGE_BOX_ATTRIBUTES = (
    Attribute("Polarity", "polarity", code),
    _MAGNIFICATION_TYPE,
    _SMOOTHING_TYPE,
    _MIN_DENSITY,
    _MAX_DENSITY,
    _CONFIGURATION_INFORMATION,
    Attribute("RequestedImageSize", "requested_image_size", decimal),
    Attribute("RequestedDecimateCropBehavior", "decimate_crop", code),
    _PRESENTATION_LUT_REFERENCE,
    Attribute("ImageBoxPosition"),
    Attribute("BasicGrayscaleImageSequence"),
    Attribute("OriginalImageSequence"),
)
"""PS3.4 Table H.4-10 (position and image are read by :func:`image_box_request`)."""

_NOT_IN_COLOR = {
    "MinDensity",
    "MaxDensity",
    "ConfigurationInformation",
    "ReferencedPresentationLUTSequence",
    "BasicGrayscaleImageSequence",
}
COLOR_IMAGE_BOX_ATTRIBUTES = (
    *(a for a in GRAYSCALE_IMAGE_BOX_ATTRIBUTES if a.keyword not in _NOT_IN_COLOR),
    Attribute("BasicColorImageSequence"),
)
"""PS3.4 Table H.4-11: the grayscale box's attributes but densities, configuration and LUT."""

FILM_SESSION_KEYWORDS = _keywords(FILM_SESSION_ATTRIBUTES)
FILM_BOX_KEYWORDS = _keywords(FILM_BOX_ATTRIBUTES)
GRAYSCALE_IMAGE_BOX_KEYWORDS = _keywords(GRAYSCALE_IMAGE_BOX_ATTRIBUTES)
COLOR_IMAGE_BOX_KEYWORDS = _keywords(COLOR_IMAGE_BOX_ATTRIBUTES)
ANNOTATION_BOX_KEYWORDS = frozenset({"AnnotationPosition", "TextString"})
PRESENTATION_LUT_KEYWORDS = frozenset(
    {"PresentationLUTSequence", "PresentationLUTShape", "SOPClassUID", "SOPInstanceUID"}
)


def check_known(ds: Dataset, known: frozenset[str], what: str) -> None:
    """Strict printers refuse attributes the SOP class does not define (0x0105).

    Only the tags are looked at: iterating a data set decodes each value, and a
    value pydicom cannot decode is the reader's business (0x0106), not this one's.
    """
    for tag in ds.keys():  # noqa: SIM118 (iterating the data set itself decodes values)
        keyword = keyword_for_tag(tag)
        if keyword not in known:
            raise NoSuchAttribute(f"{keyword or str(tag)} is not an attribute of {what}")


def film_session_request(ds: Dataset, check: StringCheck) -> FilmSessionRequest:
    return FilmSessionRequest(**_read(ds, check, FILM_SESSION_ATTRIBUTES))


def film_box_request(ds: Dataset, check: StringCheck) -> FilmBoxRequest:
    return FilmBoxRequest(**_read(ds, check, FILM_BOX_ATTRIBUTES))


def image_box_request(
    ds: Dataset,
    check: StringCheck,
    *,
    color: bool,
    big_endian: bool,
    pixel_data: bytes | memoryview | None = None,
) -> ImageBoxRequest:
    """An Image Box N-SET (PS3.4 H.4.3.1.2.1 / H.4.4.1.2.1).

    ``pixel_data`` is the first item's Pixel Data where it was received
    (``order/received.py``); without it the item's own value is read.
    """
    position = integer(ds, "ImageBoxPosition")
    if position is None:
        raise MissingAttribute("Image Box Position is required")
    keyword = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    if keyword not in ds:
        raise MissingAttribute(f"{keyword} is required")
    sequence = raw_value(ds, keyword)
    image = None
    if sequence:
        image = (
            color_image(sequence[0], check, pixel_data=pixel_data)
            if color
            else (grayscale_image(sequence[0], check, big_endian=big_endian, pixel_data=pixel_data))
        )
    fields = _read(ds, check, GRAYSCALE_IMAGE_BOX_ATTRIBUTES)  # a colour box has fewer
    return ImageBoxRequest(position=position, image=image, erase=image is None, **fields)


def presentation_lut_request(
    ds: Dataset, check: StringCheck, *, big_endian: bool
) -> PresentationLutRequest:
    """A Presentation LUT N-CREATE (PS3.4 H.4.9.1.2.1)."""
    shape = code(ds, "PresentationLUTShape", check)
    sequence = raw_value(ds, "PresentationLUTSequence")
    if not sequence:
        return PresentationLutRequest(shape=shape, has_sequence="PresentationLUTSequence" in ds)
    item = sequence[0]
    descriptor = raw_value(item, "LUTDescriptor")
    try:
        values = None if descriptor is None else tuple(int(v) for v in descriptor)
    except (TypeError, ValueError):
        raise InvalidValue(f"LUT Descriptor {descriptor!r} is not three numbers") from None
    return PresentationLutRequest(
        shape=shape,
        has_sequence=True,
        descriptor=values,
        data=_lut_data(item, big_endian=big_endian),
    )


def _lut_data(item: Dataset, *, big_endian: bool) -> npt.NDArray[np.uint16] | None:
    """LUT Data is US or OW (ambiguous VR in implicit syntaxes): accept both forms."""
    value = raw_value(item, "LUTData")
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        if len(value) % 2:
            raise InvalidValue(f"LUT Data has an odd length of {len(value)} bytes")
        return np.frombuffer(value, dtype=">u2" if big_endian else "<u2").astype(np.uint16)
    values = [value] if isinstance(value, int) else list(value)
    try:
        return np.asarray(values, dtype=np.int64).clip(0, 65535).astype(np.uint16)
    except (TypeError, ValueError):
        raise InvalidValue("LUT Data is not a list of numbers") from None


def annotation(ds: Dataset, check: StringCheck) -> tuple[int, str | None]:
    """An Annotation Box N-SET: Annotation Position and Text String (PS3.4 H.4.5.1.2.1)."""
    position = integer(ds, "AnnotationPosition")
    if position is None:
        raise MissingAttribute("Annotation Position is required")
    return position, text(ds, "TextString", check)
