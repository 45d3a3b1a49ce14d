"""Image Display Format parsing (PS3.3 C.13.3) and position numbering (C.13.5.1)."""

from __future__ import annotations

import pytest

from printserver.model.errors import InvalidValue
from printserver.model.layout import parse_display_format
from printserver.render.sheet import Box


def test_standard_is_row_major_from_top_left() -> None:
    boxes = parse_display_format("STANDARD\\3,2")
    assert len(boxes) == 6
    assert boxes[0] == Box(0.0, 0.0, 1 / 3, 0.5)
    assert boxes[2] == Box(2 / 3, 0.0, 1 / 3, 0.5)
    assert boxes[3] == Box(0.0, 0.5, 1 / 3, 0.5)


def test_row_and_col_formats() -> None:
    row = parse_display_format("ROW\\2,1")
    assert [(b.x, b.y, b.width) for b in row] == [(0, 0, 0.5), (0.5, 0, 0.5), (0, 0.5, 1.0)]
    col = parse_display_format("COL\\1,2")  # column-major numbering
    assert [(b.x, b.y, b.height) for b in col] == [(0, 0, 1.0), (0.5, 0, 0.5), (0.5, 0.5, 0.5)]


@pytest.mark.parametrize("text", [" standard\\2,2 ", "STANDARD\\\\2,2", "STANDARD\x012,2"])
def test_tolerates_what_clients_send(text: str) -> None:
    assert len(parse_display_format(text)) == 4


@pytest.mark.parametrize("text", ["", "STANDARD", "STANDARD\\0,2", "BOGUS\\1,1", "STANDARD\\20,20"])
def test_rejects_what_cannot_be_laid_out(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_display_format(text, max_boxes=100)
