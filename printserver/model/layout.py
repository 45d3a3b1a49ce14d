"""Image Display Format (2010,0010) → image boxes as fractions of the printable area.

PS3.3 C.13.3: ``STANDARD\\C,R`` is C columns by R rows of equal boxes numbered
row by row from the top left; ``ROW\\R1,R2,…`` is rows of equal height holding
R1, R2 … boxes; ``COL\\C1,C2,…`` is columns of equal width holding C1, C2 …
boxes, numbered column by column (C.13.5.1).  The parser is tolerant of what
real clients send: spaces, lower case, repeated backslashes, and a non-digit
separator between the keyword and its numbers.  SLIDE and SUPERSLIDE fill the
film with 35 mm slide frames; CUSTOM\\i layouts come from ``layouts/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from printserver.model.errors import InvalidValue
from printserver.render.geometry import Box, PageGeometry

_FORMAT = re.compile(r"^\s*([A-Za-z]+)\s*[^A-Za-z0-9\s-]*\s*([0-9][0-9,\\\s]*)?\s*$")

MAX_FORMAT_LENGTH = 1024
"""Image Display Format is ST (PS3.3 C.13.3, PS3.5 6.2): at most 1024 characters."""
MAX_DIGITS = 9
"""Longer numbers are refused unread; shorter ones are multiplied and summed exactly."""


def _numbers(text: str | None) -> list[int]:
    if not text:
        return []
    parts = [part for part in re.split(r"[,\\\s]+", text.strip()) if part]
    if any(len(part) > MAX_DIGITS for part in parts):
        raise InvalidValue(f"Image Display Format has a number over {MAX_DIGITS} digits")
    return [int(part) for part in parts]


def _count(keyword: str, numbers: list[int]) -> int | None:
    """How many boxes ``STANDARD\\C,R``, ``ROW\\…`` or ``COL\\…`` asks for, from its numbers."""
    if keyword == "STANDARD" and len(numbers) == 2:
        return numbers[0] * numbers[1]
    if keyword in ("ROW", "COL"):
        return sum(numbers)
    return None


SLIDE_PITCH_MM = 50.0
"""Slide mounts sit on a 50 mm pitch; SLIDE frames are 36 × 24 mm, SUPERSLIDE 40 × 40 mm."""
SLIDE_FRAMES = {"SLIDE": (36.0, 24.0), "SUPERSLIDE": (40.0, 40.0)}


UNMARGINED_14X17 = PageGeometry(355.6, 431.8, dpi=320, margin_mm=0.0)
"""The page SLIDE formats are laid out on when no film is given."""


def parse_display_format(
    value: str,
    *,
    max_boxes: int = 100,
    page: PageGeometry | None = None,
    custom: Mapping[int, tuple[Box, ...]] | None = None,
) -> tuple[Box, ...]:
    """Parse an Image Display Format into boxes in Image Box Position order.

    SLIDE and SUPERSLIDE need the ``page`` (their box count depends on the
    printable area of the film); ``CUSTOM\\i`` looks layout ``i`` up in ``custom``.  The box count
    is worked out from the text before any box is made: a few bytes of request
    must not make the server build millions of boxes only to refuse them.
    """
    if len(value or "") > MAX_FORMAT_LENGTH:
        raise InvalidValue(
            f"Image Display Format of {len(value)} characters; at most {MAX_FORMAT_LENGTH}"
        )
    match = _FORMAT.match(value or "")
    if not match:
        raise InvalidValue(f"Image Display Format {value!r} is not understood")
    keyword, numbers = match.group(1).upper(), _numbers(match.group(2))
    count = _count(keyword, numbers)  # checked before a single box is made
    if count is not None and count > max_boxes:
        raise InvalidValue(f"Image Display Format asks for {count} boxes; at most {max_boxes}")
    if keyword in SLIDE_FRAMES and not numbers:
        boxes = _slides(SLIDE_FRAMES[keyword], page or UNMARGINED_14X17)
    elif keyword == "CUSTOM" and len(numbers) == 1:
        if not custom or numbers[0] not in custom:
            known = ", ".join(f"CUSTOM\\{i}" for i in sorted(custom or {})) or "none"
            raise InvalidValue(f"Image Display Format {value!r} is unknown; custom: {known}")
        boxes = custom[numbers[0]]
    elif keyword == "STANDARD" and len(numbers) == 2:
        columns, rows = numbers
        boxes = _grid(rows=[columns] * rows) if columns and rows else ()
    elif keyword == "ROW" and numbers:
        boxes = _grid(rows=numbers)
    elif keyword == "COL" and numbers:
        boxes = tuple(_transpose(box) for box in _grid(rows=numbers))
    else:
        raise InvalidValue(f"Image Display Format {value!r} is not supported by this printer")
    if not boxes or 0 in numbers:
        raise InvalidValue(f"Image Display Format {value!r} describes no image box")
    if len(boxes) > max_boxes:
        raise InvalidValue(
            f"Image Display Format {value!r} asks for {len(boxes)} boxes; at most {max_boxes}"
        )
    return boxes


def _slides(frame: tuple[float, float], page: PageGeometry) -> tuple[Box, ...]:
    """As many slide frames as fit on a 50 mm pitch, centred, numbered row by row."""
    area_w, area_h = page.printable_mm
    columns = max(1, int(area_w // SLIDE_PITCH_MM))
    rows = max(1, int(area_h // SLIDE_PITCH_MM))
    width = (frame[0] + page.spacing_mm) / area_w
    height = (frame[1] + page.spacing_mm) / area_h
    left = (area_w - columns * SLIDE_PITCH_MM) / 2 / area_w
    top = (area_h - rows * SLIDE_PITCH_MM) / 2 / area_h
    pitch_x, pitch_y = SLIDE_PITCH_MM / area_w, SLIDE_PITCH_MM / area_h
    return tuple(
        Box(
            x=left + (column + 0.5) * pitch_x - width / 2,
            y=top + (row + 0.5) * pitch_y - height / 2,
            width=width,
            height=height,
        )
        for row in range(rows)
        for column in range(columns)
    )


def _grid(rows: list[int]) -> tuple[Box, ...]:
    height = 1.0 / len(rows)
    return tuple(
        Box(x=column / count, y=row * height, width=1.0 / count, height=height)
        for row, count in enumerate(rows)
        for column in range(count)
        if count > 0
    )


def _transpose(box: Box) -> Box:
    return Box(x=box.y, y=box.x, width=box.height, height=box.width)
