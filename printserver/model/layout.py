"""Image Display Format (2010,0010) → image boxes as fractions of the printable area.

PS3.3 C.13.3: ``STANDARD\\C,R`` is C columns by R rows of equal boxes numbered
row by row from the top left; ``ROW\\R1,R2,…`` is rows of equal height holding
R1, R2 … boxes; ``COL\\C1,C2,…`` is columns of equal width holding C1, C2 …
boxes, numbered column by column (C.13.5.1).  The parser is tolerant of what
real clients send: spaces, lower case, repeated backslashes, and a non-digit
separator between the keyword and its numbers.
"""

from __future__ import annotations

import re

from printserver.model.errors import InvalidValue
from printserver.render.sheet import Box

_FORMAT = re.compile(r"^\s*([A-Za-z]+)\s*[^A-Za-z0-9\s]*\s*([0-9][0-9,\\\s]*)?\s*$")


def _numbers(text: str | None) -> list[int]:
    if not text:
        return []
    return [int(part) for part in re.split(r"[,\\\s]+", text.strip()) if part]


def parse_display_format(value: str, *, max_boxes: int = 100) -> tuple[Box, ...]:
    """Parse an Image Display Format into boxes in Image Box Position order."""
    match = _FORMAT.match(value or "")
    if not match:
        raise InvalidValue(f"Image Display Format {value!r} is not understood")
    keyword, numbers = match.group(1).upper(), _numbers(match.group(2))
    if keyword == "STANDARD" and len(numbers) == 2:
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
