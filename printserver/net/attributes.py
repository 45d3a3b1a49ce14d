"""Read typed values out of request data sets, tolerating what real clients send.

Code strings are stripped and upper-cased (clients pad them with spaces, and
some send lower case, digest §6.4 and §7.2); empty values count as absent; a
value pydicom cannot decode is reported as an invalid value, not a crash.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

from printserver.model.errors import InvalidValue, MissingAttribute
from printserver.model.film_box import FilmBoxRequest
from printserver.model.film_session import FilmSessionRequest
from printserver.model.image_box import ImageContent
from printserver.render.pixels import PixelDataError, decode_grayscale


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


def integer(ds: Dataset, keyword: str) -> int | None:
    value = _raw(ds, keyword)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{keyword} {value!r} is not a number") from None


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


def film_session_request(ds: Dataset) -> FilmSessionRequest:
    return FilmSessionRequest(
        number_of_copies=integer(ds, "NumberOfCopies"),
        print_priority=code(ds, "PrintPriority"),
        medium_type=code(ds, "MediumType"),
        film_destination=code(ds, "FilmDestination"),
        film_session_label=text(ds, "FilmSessionLabel"),
        memory_allocation=integer(ds, "MemoryAllocation"),
        owner_id=text(ds, "OwnerID"),
    )


def film_box_request(ds: Dataset) -> FilmBoxRequest:
    return FilmBoxRequest(
        image_display_format=text(ds, "ImageDisplayFormat"),
        film_orientation=code(ds, "FilmOrientation"),
        film_size_id=code(ds, "FilmSizeID"),
        magnification_type=code(ds, "MagnificationType"),
        border_density=code(ds, "BorderDensity"),
        empty_image_density=code(ds, "EmptyImageDensity"),
        min_density=integer(ds, "MinDensity"),
        max_density=integer(ds, "MaxDensity"),
        trim=code(ds, "Trim"),
        configuration_information=text(ds, "ConfigurationInformation"),
    )


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
    pixel_data = _raw(item, "PixelData")
    if pixel_data is None:
        raise MissingAttribute("Pixel Data is required")
    bits_stored = required_integer(item, "BitsStored")
    try:
        pixels = decode_grayscale(
            bytes(pixel_data),
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
