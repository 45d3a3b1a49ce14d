"""Colour management with LittleCMS, through Pillow's ImageCms: ICC profiles and pixels in,
pixels out.

The source of a colour image is the ICC Profile (0028,2000) sent with it (PS3.3 C.11.15,
the ICC Profile Module of the Basic Color Image Sequence item, PS3.4 H.4.4.1.2.1); without
one it is sRGB, the usual assumption when no profile is sent.  The destination is the
printer's output profile: an RGB or CMYK ICC profile, or sRGB when it names none; a
grayscale printer takes CIE L* (perceptually uniform, as the P-values of PS3.14 are), so
that a colour image prints as its lightness, never as one of its channels.

Each image is transformed once, at 8 bits (colour images are 8-bit RGB, PS3.4 H.4.4), before
it is resampled.  Transforms are built once per (source profile, output, intent) and kept in
a small cache; LittleCMS does the arithmetic, in chunks of rows on a few threads.  A neutral
image (R = G = B everywhere, as grayscale content sent as RGB is) takes the same LittleCMS
values from a table of its 256 grays: exact, and a pass of numpy instead of LittleCMS.
Nothing here knows DICOM: profiles are bytes, images numpy arrays.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms

Intent = Literal["perceptual", "relative_colorimetric"]
"""Rendering intents a printer may use (ICC.1:2010 section 6.2)."""

INTENTS: dict[str, ImageCms.Intent] = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative_colorimetric": ImageCms.Intent.RELATIVE_COLORIMETRIC,
}

Space = Literal["RGB", "CMYK", "GRAY"]
CHANNELS: dict[str, int] = {"RGB": 3, "CMYK": 4, "GRAY": 1}
_OUT_MODES = {"RGB": "RGBA", "CMYK": "CMYK", "GRAY": "LAB"}  # Pillow modes LittleCMS writes
CHUNK_ROWS = 256
"""Image rows transformed at a time: a few hundred kB of work buffers per thread."""
CACHE_SIZE = 32
"""Transforms kept: one per (source profile, printer output) pair in recent use."""


class ProfileError(ValueError):
    """An ICC profile LittleCMS cannot read, or one that does not fit its use."""


@dataclass(frozen=True)
class OutputColour:
    """What a printer puts on the page: its colour space, ICC profile and rendering intent.

    ``profile`` is None for sRGB (RGB) or CIE L* (GRAY).  ``name`` is the profile's
    description, for the conformance statement and Printer Configuration Retrieval.
    """

    space: Space = "RGB"
    profile: bytes | None = field(default=None, repr=False)
    intent: Intent = "perceptual"
    name: str = "sRGB IEC61966-2.1 (built in)"

    @property
    def channels(self) -> int:
        return CHANNELS[self.space]

    @property
    def managed(self) -> bool:
        """False for sRGB out: an image without a profile is then printed as sent."""
        return self.space != "RGB" or self.profile is not None


SRGB = OutputColour()
LIGHTNESS = OutputColour("GRAY", name="CIE L* (built in)")


def _parse(data: bytes) -> ImageCms.ImageCmsProfile:
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, ImageCms.PyCMSError, ValueError) as exc:
        raise ProfileError(f"cannot be parsed by LittleCMS ({exc})") from None


def _built_in(name: Literal["sRGB", "LAB"]) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile(name))


def _space(profile: ImageCms.ImageCmsProfile) -> str:
    try:
        return str(profile.profile.xcolor_space).strip()
    except (UnicodeDecodeError, ValueError) as exc:  # a header of random bytes
        raise ProfileError(f"has no readable colour space ({exc})") from None


def output_colour(data: bytes | None, intent: Intent = "perceptual") -> OutputColour:
    """A printer's output from its ICC profile's bytes (None: sRGB); RGB or CMYK only."""
    if data is None:
        return OutputColour(intent=intent)
    profile = _parse(data)
    space = _space(profile)
    if space not in ("RGB", "CMYK"):
        raise ProfileError(f"is {space}; an output profile must be RGB or CMYK")
    try:
        name = str(profile.profile.profile_description or "").strip() or "unnamed"
    except (UnicodeDecodeError, ValueError):
        name = "unnamed"
    return OutputColour("CMYK" if space == "CMYK" else "RGB", data, intent, name)


def check_source(data: bytes, output: OutputColour) -> None:
    """Raise :class:`ProfileError` unless ``data`` is an RGB profile that transforms to
    ``output`` (the transform is built now and cached, so printing cannot fail on it).

    A profile is the client's data: whatever LittleCMS or Pillow cannot make of it is a
    refused profile, never an internal error."""
    try:
        _transform(_Source.of(data), output)
    except ProfileError:
        raise
    except Exception as exc:
        raise ProfileError(f"cannot be used ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class _Source:
    """A source profile, known in the cache by the digest of its bytes."""

    digest: bytes
    data: bytes | None = field(compare=False, hash=False)

    @classmethod
    def of(cls, data: bytes | None) -> _Source:
        return cls(hashlib.sha256(data or b"").digest(), data)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _transform(source: _Source, output: OutputColour) -> ImageCms.ImageCmsTransform:
    """The LittleCMS transform from ``source`` (None: sRGB) to ``output``, built once."""
    inp = _parse(source.data) if source.data is not None else _built_in("sRGB")
    if _space(inp) != "RGB":
        raise ProfileError(f"is {_space(inp)}; the image is RGB")
    if output.profile is not None:
        out = _parse(output.profile)
    else:
        out = _built_in("LAB" if output.space == "GRAY" else "sRGB")
    try:
        return ImageCms.buildTransform(
            inp,
            out,
            "RGBA",
            _OUT_MODES[output.space],
            INTENTS[output.intent],
            ImageCms.Flags.NOCACHE,  # no one-pixel cache: faster on images that vary
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        raise ProfileError(f"cannot be joined to the output profile ({exc})") from None


def convert(
    pixels: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
    source: bytes | None,
    output: OutputColour,
    *,
    invert: bool = False,
    workers: int | None = None,
) -> npt.NDArray[np.uint8]:
    """(rows, columns, 3) RGB from ``source`` in ``output``'s space: (rows, columns, 3 or 4)
    device values, or (rows, columns) L* × 255/100 for GRAY.

    ``invert`` (Polarity REVERSE) is applied to the RGB values before the transform.  Rows
    are transformed in chunks on ``workers`` threads (default: one per core).
    """
    transform = _transform(_Source.of(source), output)
    if _neutral(pixels):
        return _neutral_image(_grays(transform, output.space, output.channels), pixels, invert)
    rows, columns = pixels.shape[:2]
    shape = (rows, columns) if output.space == "GRAY" else (rows, columns, output.channels)
    result = np.empty(shape, np.uint8)

    def chunk(top: int) -> None:
        bottom = min(rows, top + CHUNK_ROWS)
        rgba = np.empty((bottom - top, columns, 4), np.uint8)
        if invert:
            np.subtract(np.uint8(255), pixels[top:bottom], out=rgba[:, :, :3])
        else:
            rgba[:, :, :3] = pixels[top:bottom]
        _apply(transform, rgba, result[top:bottom], output.space)

    tops = range(0, rows, CHUNK_ROWS)
    count = min(len(tops), workers or os.cpu_count() or 1)
    if count <= 1:
        for top in tops:
            chunk(top)
    else:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="colour") as pool:
            for _ in pool.map(chunk, tops):
                pass
    return result


def _neutral(pixels: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]) -> bool:
    """R = G = B in every pixel; every 64th row is looked at first, so colour costs little."""
    for rows in (pixels[::64], pixels):
        red = rows[:, :, 0]
        if not (np.array_equal(red, rows[:, :, 1]) and np.array_equal(red, rows[:, :, 2])):
            return False
    return True


def _neutral_image(
    table: npt.NDArray[np.uint8],
    pixels: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
    invert: bool,
) -> npt.NDArray[np.uint8]:
    """A neutral image through the table of its grays.  When the grays stay neutral (same
    white point) the one plane is shown as every channel: a read-only view, not a copy."""
    if invert:
        table = table[::-1]
    index = pixels[:, :, 0]
    if table.ndim == 2 and bool((table == table[:, :1]).all()):
        plane = _look_up(np.ascontiguousarray(table[:, 0]), index)
        return np.broadcast_to(plane[:, :, None], (*plane.shape, table.shape[1]))
    return _look_up(table, index)


def _look_up(
    table: npt.NDArray[np.uint8], index: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]
) -> npt.NDArray[np.uint8]:
    """``table[index]`` by chunks of rows: numpy widens indices to 64 bits, so a chunk at a
    time keeps that copy small."""
    result = np.empty(index.shape + table.shape[1:], np.uint8)
    for top in range(0, index.shape[0], CHUNK_ROWS):
        rows = slice(top, top + CHUNK_ROWS)
        np.take(table, index[rows], axis=0, out=result[rows])
    return result


def _grays(
    transform: ImageCms.ImageCmsTransform, space: str, channels: int
) -> npt.NDArray[np.uint8]:
    """The transform of the 256 neutral RGB values: (256, channels), or (256,) for GRAY."""
    ramp = np.empty((1, 256, 4), np.uint8)
    ramp[0, :, :3] = np.arange(256, dtype=np.uint8)[:, None]
    out = np.empty((1, 256) if space == "GRAY" else (1, 256, channels), np.uint8)
    _apply(transform, ramp, out, space)
    table: npt.NDArray[np.uint8] = out[0]
    return table


def _apply(
    transform: ImageCms.ImageCmsTransform,
    rgba: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
    space: str,
) -> None:
    """One chunk through LittleCMS, written into ``out``: Pillow images share the arrays'
    memory (RGBA in place, CMYK straight into the result), so nothing is copied twice."""
    size = (rgba.shape[1], rgba.shape[0])
    image = Image.frombuffer("RGBA", size, rgba, "raw", "RGBA", 0, 1)
    if space == "CMYK":
        transform.apply(image, Image.frombuffer("CMYK", size, out, "raw", "CMYK", 0, 1))
    elif space == "RGB":
        transform.apply(image, image)
        out[...] = rgba[:, :, :3]
    else:
        out[...] = np.asarray(transform.apply(image))[:, :, 0]
