"""The image items of Image Box N-SETs (PS3.4 H.4.3.1.2.1 Basic Grayscale Image, H.4.4.1.2.1
Basic Color Image): their kind, pixels, aspect ratio and ICC profile, read with
the typed readers of ``order/values.py``."""

from __future__ import annotations

from pydicom.dataset import Dataset

from printserver.model.errors import InvalidValue, MissingAttribute
from printserver.model.image_box import ImageContent
from printserver.order.values import code, integer, raw_value, required_integer
from printserver.order.vr_strings import StringCheck
from printserver.render.pixels import PixelDataError, decode_color, decode_grayscale


def color_image(
    item: Dataset, check: StringCheck, *, pixel_data: bytes | memoryview | None = None
) -> ImageContent:
    """Decode a Basic Color Image Sequence item: RGB, 8 bits (PS3.4 H.4.4.1.2.1), and its
    ICC Profile when it has one."""
    _kind_of_image(item, check, (3,), ("RGB",), "colour")
    for keyword, wanted in (("BitsAllocated", 8), ("BitsStored", 8)):
        value = integer(item, keyword)
        if value != wanted:
            raise InvalidValue(f"{keyword} {value} is not {wanted} for a colour image")
    pixel_data = _pixel_data(item, pixel_data)
    planar = integer(item, "PlanarConfiguration")
    try:
        pixels = decode_color(
            pixel_data,
            rows=required_integer(item, "Rows"),
            columns=required_integer(item, "Columns"),
            planar_configuration=1 if planar is None else planar,
        )
    except PixelDataError as exc:
        raise InvalidValue(str(exc)) from None
    return ImageContent(
        pixels=pixels, bits_stored=8, aspect=_aspect(item), icc_profile=_icc_profile(item)
    )


def _kind_of_image(
    item: Dataset,
    check: StringCheck,
    samples: tuple[int | None, ...],
    photometrics: tuple[str, ...],
    kind: str,
) -> str:
    """The Photometric Interpretation of an image item, after checking it and Samples per
    Pixel against those its SOP class allows (PS3.4 H.4.3.1.2.1, H.4.4.1.2.1)."""
    count = integer(item, "SamplesPerPixel")
    if count not in samples:
        raise InvalidValue(f"Samples per Pixel {count} is not {samples[-1]} for a {kind} image")
    photometric = code(item, "PhotometricInterpretation", check)
    if photometric is None:
        raise MissingAttribute("Photometric Interpretation is required")
    if photometric not in photometrics:
        allowed = " or ".join(photometrics)
        raise InvalidValue(f"Photometric Interpretation {photometric} is not {allowed}")
    return photometric


def _icc_profile(item: Dataset) -> bytes | None:
    """ICC Profile (0028,2000, PS3.3 C.11.15) of the image's pixels; None: sRGB is assumed.
    Whether LittleCMS can use it is the print model's question (0x0106 when not)."""
    value = raw_value(item, "ICCProfile")
    if value is None:
        return None
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidValue("ICC Profile (0028,2000) is not a byte string")
    return bytes(value)


def _pixel_data(item: Dataset, received: bytes | memoryview | None) -> bytes | memoryview:
    """The Pixel Data as received, or the item's value; never a copy of either."""
    if received is not None:
        return received
    value = raw_value(item, "PixelData")
    if value is None:
        raise MissingAttribute("Pixel Data is required")
    return value if isinstance(value, bytes | memoryview) else bytes(value)


def _aspect(item: Dataset) -> tuple[int, int]:
    value = raw_value(item, "PixelAspectRatio")
    if value is None:
        return (1, 1)
    try:
        vertical, horizontal = (int(part) for part in value)
    except (TypeError, ValueError):
        raise InvalidValue(f"Pixel Aspect Ratio {value!r} is not two numbers") from None
    if vertical <= 0 or horizontal <= 0:
        raise InvalidValue(f"Pixel Aspect Ratio {value!r} must be positive")
    return (vertical, horizontal)


def grayscale_image(
    item: Dataset,
    check: StringCheck,
    *,
    big_endian: bool = False,
    pixel_data: bytes | memoryview | None = None,
) -> ImageContent:
    """Decode a Basic Grayscale Image Sequence item (PS3.4 H.4.3.1.2.1)."""
    photometric = _kind_of_image(
        item, check, (None, 1), ("MONOCHROME1", "MONOCHROME2"), "grayscale"
    )
    pixel_data = _pixel_data(item, pixel_data)
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
