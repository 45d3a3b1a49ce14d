"""Read typed values out of request data sets, tolerating what real clients send.

Code strings are stripped and upper-cased (clients pad them with spaces, and
some send lower case, digest §6.4 and §7.2); empty values count as absent; a
value pydicom cannot decode is reported as an invalid value, not a crash.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from printserver.model.errors import InvalidValue, MissingAttribute, NoSuchAttribute
from printserver.model.film_box import FilmBoxRequest
from printserver.model.film_session import FilmSessionRequest
from printserver.model.image_box import ImageBoxRequest, ImageContent
from printserver.model.presentation_lut import PresentationLutRequest
from printserver.render.pixels import PixelDataError, decode_color, decode_grayscale

Number = TypeVar("Number", int, float)


def _raw(ds: Dataset, keyword: str) -> Any:
    try:
        value = ds.get(keyword)
    except Exception as exc:  # pydicom decodes lazily; garbage surfaces here
        raise InvalidValue(f"{keyword} cannot be decoded: {exc}") from None
    if value is None or value == "":
        return None
    return value


def code(ds: Dataset, keyword: str) -> str | None:
    """A CS value, stripped and upper-cased."""
    value = _raw(ds, keyword)
    return None if value is None else str(value).strip().upper() or None


def text(ds: Dataset, keyword: str) -> str | None:
    """An LO/ST/SH value, stripped."""
    value = _raw(ds, keyword)
    return None if value is None else str(value).strip()


def _number(ds: Dataset, keyword: str, kind: type[Number]) -> Number | None:
    value = _raw(ds, keyword)
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{keyword} {value!r} is not a number") from None


def integer(ds: Dataset, keyword: str) -> int | None:
    """A US/IS value."""
    return _number(ds, keyword, int)


def decimal(ds: Dataset, keyword: str) -> float | None:
    """A DS value, such as Requested Image Size in mm."""
    return _number(ds, keyword, float)


def required_integer(ds: Dataset, keyword: str) -> int:
    value = integer(ds, keyword)
    if value is None:
        raise MissingAttribute(f"{keyword} is required")
    return value


def referenced_uid(ds: Dataset, keyword: str) -> str | None:
    """The Referenced SOP Instance UID of the first item of a reference sequence."""
    sequence = _raw(ds, keyword)
    if not sequence:
        return None
    return text(sequence[0], "ReferencedSOPInstanceUID")


FILM_SESSION_KEYWORDS = frozenset({
    "NumberOfCopies", "PrintPriority", "MediumType", "FilmDestination", "FilmSessionLabel",
    "MemoryAllocation", "OwnerID", "SpecificCharacterSet", "ProposedStudySequence",
    "ReferencedPresentationLUTSequence", "Illumination", "ReflectedAmbientLight",
    "SOPClassUID", "SOPInstanceUID",
})
"""PS3.4 Table H.4-2, plus the pre-CP-173 session-level LUT attributes."""

FILM_BOX_KEYWORDS = frozenset({
    "ImageDisplayFormat", "ReferencedFilmSessionSequence", "FilmOrientation", "FilmSizeID",
    "MagnificationType", "MaxDensity", "ConfigurationInformation",
    "ReferencedPresentationLUTSequence", "AnnotationDisplayFormatID", "SmoothingType",
    "BorderDensity", "EmptyImageDensity", "MinDensity", "Trim", "Illumination",
    "ReflectedAmbientLight", "RequestedResolutionID", "ICCProfile",
    "SOPClassUID", "SOPInstanceUID",
})
"""PS3.4 Table H.4-6."""

GRAYSCALE_IMAGE_BOX_KEYWORDS = frozenset({
    "ImageBoxPosition", "BasicGrayscaleImageSequence", "Polarity", "MagnificationType",
    "SmoothingType", "MinDensity", "MaxDensity", "ConfigurationInformation",
    "RequestedImageSize", "RequestedDecimateCropBehavior",
    "ReferencedPresentationLUTSequence", "OriginalImageSequence",
})
"""PS3.4 Table H.4-10."""

COLOR_IMAGE_BOX_KEYWORDS = frozenset({
    "ImageBoxPosition", "BasicColorImageSequence", "Polarity", "MagnificationType",
    "SmoothingType", "RequestedImageSize", "RequestedDecimateCropBehavior",
    "OriginalImageSequence",
})
"""PS3.4 Table H.4-11."""

ANNOTATION_BOX_KEYWORDS = frozenset({"AnnotationPosition", "TextString"})
PRESENTATION_LUT_KEYWORDS = frozenset({
    "PresentationLUTSequence", "PresentationLUTShape", "SOPClassUID", "SOPInstanceUID",
})


def check_known(ds: Dataset, known: frozenset[str], what: str) -> None:
    """Strict printers refuse attributes the SOP class does not define (0x0105)."""
    for element in ds:
        if element.keyword not in known:
            name = element.keyword or str(element.tag)
            raise NoSuchAttribute(f"{name} is not an attribute of {what}")


def film_session_request(ds: Dataset) -> FilmSessionRequest:
    return FilmSessionRequest(
        number_of_copies=integer(ds, "NumberOfCopies"),
        print_priority=code(ds, "PrintPriority"),
        medium_type=code(ds, "MediumType"),
        film_destination=code(ds, "FilmDestination"),
        film_session_label=text(ds, "FilmSessionLabel"),
        memory_allocation=integer(ds, "MemoryAllocation"),
        owner_id=text(ds, "OwnerID"),
        presentation_lut_uid=referenced_uid(ds, "ReferencedPresentationLUTSequence"),
        illumination=integer(ds, "Illumination"),
        reflected_ambient_light=integer(ds, "ReflectedAmbientLight"),
    )


def film_box_request(ds: Dataset) -> FilmBoxRequest:
    return FilmBoxRequest(
        image_display_format=text(ds, "ImageDisplayFormat"),
        film_orientation=code(ds, "FilmOrientation"),
        film_size_id=code(ds, "FilmSizeID"),
        magnification_type=code(ds, "MagnificationType"),
        smoothing_type=code(ds, "SmoothingType"),
        border_density=code(ds, "BorderDensity"),
        empty_image_density=code(ds, "EmptyImageDensity"),
        min_density=integer(ds, "MinDensity"),
        max_density=integer(ds, "MaxDensity"),
        trim=code(ds, "Trim"),
        configuration_information=text(ds, "ConfigurationInformation"),
        requested_resolution_id=code(ds, "RequestedResolutionID"),
        illumination=integer(ds, "Illumination"),
        reflected_ambient_light=integer(ds, "ReflectedAmbientLight"),
        annotation_display_format_id=code(ds, "AnnotationDisplayFormatID"),
        presentation_lut_uid=referenced_uid(ds, "ReferencedPresentationLUTSequence"),
    )


def image_box_request(ds: Dataset, *, color: bool, big_endian: bool) -> ImageBoxRequest:
    """An Image Box N-SET (PS3.4 H.4.3.1.2.1 / H.4.4.1.2.1)."""
    position = integer(ds, "ImageBoxPosition")
    if position is None:
        raise MissingAttribute("Image Box Position is required")
    keyword = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    if keyword not in ds:
        raise MissingAttribute(f"{keyword} is required")
    sequence = _raw(ds, keyword)
    image = None
    if sequence:
        image = color_image(sequence[0]) if color else grayscale_image(
            sequence[0], big_endian=big_endian)
    return ImageBoxRequest(
        position=position,
        image=image,
        erase=image is None,
        polarity=code(ds, "Polarity"),
        magnification_type=code(ds, "MagnificationType"),
        smoothing_type=code(ds, "SmoothingType"),
        min_density=integer(ds, "MinDensity"),
        max_density=integer(ds, "MaxDensity"),
        configuration_information=text(ds, "ConfigurationInformation"),
        requested_image_size=decimal(ds, "RequestedImageSize"),
        decimate_crop=code(ds, "RequestedDecimateCropBehavior"),
        presentation_lut_uid=referenced_uid(ds, "ReferencedPresentationLUTSequence"),
    )


def presentation_lut_request(ds: Dataset, *, big_endian: bool) -> PresentationLutRequest:
    """A Presentation LUT N-CREATE (PS3.4 H.4.9.1.2.1)."""
    shape = code(ds, "PresentationLUTShape")
    sequence = _raw(ds, "PresentationLUTSequence")
    if not sequence:
        return PresentationLutRequest(shape=shape, has_sequence="PresentationLUTSequence" in ds)
    item = sequence[0]
    descriptor = _raw(item, "LUTDescriptor")
    try:
        values = None if descriptor is None else tuple(int(v) for v in descriptor)
    except (TypeError, ValueError):
        raise InvalidValue(f"LUT Descriptor {descriptor!r} is not three numbers") from None
    return PresentationLutRequest(
        shape=shape, has_sequence=True, descriptor=values,
        data=_lut_data(item, big_endian=big_endian),
    )


def _lut_data(item: Dataset, *, big_endian: bool) -> npt.NDArray[np.uint16] | None:
    """LUT Data is US or OW (ambiguous VR in implicit syntaxes): accept both forms."""
    value = _raw(item, "LUTData")
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


def annotation(ds: Dataset) -> tuple[int, str | None]:
    """An Annotation Box N-SET: Annotation Position and Text String (PS3.4 H.4.5.1.2.1)."""
    position = integer(ds, "AnnotationPosition")
    if position is None:
        raise MissingAttribute("Annotation Position is required")
    return position, text(ds, "TextString")


def color_image(item: Dataset) -> ImageContent:
    """Decode a Basic Color Image Sequence item: RGB, 8 bits (PS3.4 H.4.4.1.2.1)."""
    samples = integer(item, "SamplesPerPixel")
    if samples != 3:
        raise InvalidValue(f"Samples per Pixel {samples} is not 3 for a colour image")
    photometric = code(item, "PhotometricInterpretation")
    if photometric != "RGB":
        raise InvalidValue(f"Photometric Interpretation {photometric} is not RGB")
    for keyword, wanted in (("BitsAllocated", 8), ("BitsStored", 8)):
        value = integer(item, keyword)
        if value != wanted:
            raise InvalidValue(f"{keyword} {value} is not {wanted} for a colour image")
    pixel_data = _pixel_data(item)
    planar = integer(item, "PlanarConfiguration")
    try:
        pixels = decode_color(
            pixel_data, rows=required_integer(item, "Rows"),
            columns=required_integer(item, "Columns"),
            planar_configuration=1 if planar is None else planar)
    except PixelDataError as exc:
        raise InvalidValue(str(exc)) from None
    return ImageContent(pixels=pixels, bits_stored=8, aspect=_aspect(item))


def _pixel_data(item: Dataset) -> bytes:
    value = _raw(item, "PixelData")
    if value is None:
        raise MissingAttribute("Pixel Data is required")
    return bytes(value)


def _aspect(item: Dataset) -> tuple[int, int]:
    value = _raw(item, "PixelAspectRatio")
    if value is None:
        return (1, 1)
    try:
        vertical, horizontal = (int(part) for part in value)
    except (TypeError, ValueError):
        raise InvalidValue(f"Pixel Aspect Ratio {value!r} is not two numbers") from None
    if vertical <= 0 or horizontal <= 0:
        raise InvalidValue(f"Pixel Aspect Ratio {value!r} must be positive")
    return (vertical, horizontal)


def grayscale_image(item: Dataset, *, big_endian: bool = False) -> ImageContent:
    """Decode a Basic Grayscale Image Sequence item (PS3.4 H.4.3.1.2.1)."""
    samples = integer(item, "SamplesPerPixel")
    if samples not in (None, 1):
        raise InvalidValue(f"Samples per Pixel {samples} is not 1 for a grayscale image")
    photometric = code(item, "PhotometricInterpretation")
    if photometric is None:
        raise MissingAttribute("Photometric Interpretation is required")
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise InvalidValue(f"Photometric Interpretation {photometric} is not MONOCHROME1/2")
    pixel_data = _pixel_data(item)
    bits_stored = required_integer(item, "BitsStored")
    try:
        pixels = decode_grayscale(
            pixel_data,
            rows=required_integer(item, "Rows"),
            columns=required_integer(item, "Columns"),
            bits_allocated=required_integer(item, "BitsAllocated"),
            bits_stored=bits_stored,
            signed=integer(item, "PixelRepresentation") == 1,
            big_endian=big_endian,
        )
    except PixelDataError as exc:
        raise InvalidValue(str(exc)) from None
    return ImageContent(
        pixels=pixels,
        bits_stored=bits_stored,
        monochrome1=photometric == "MONOCHROME1",
        aspect=_aspect(item),
    )
