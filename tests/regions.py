"""Bounding boxes of the lit rectangles of a film layout, for geometry tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _runs(lit: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    index = np.flatnonzero(lit)
    if index.size == 0:
        return []
    parts = np.split(index, np.flatnonzero(np.diff(index) > 1) + 1)
    return [(int(part[0]), int(part[-1]) + 1) for part in parts]


def bounding_boxes(
    mask: npt.NDArray[np.bool_], x0: int = 0, y0: int = 0
) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1 exclusive) of each rectangle of True pixels.

    Recursive XY cut: split at empty rows, then at empty columns, until a piece
    splits no further.  Exact for layouts of disjoint rectangles separated by gaps.
    """
    rows = _runs(mask.any(axis=1))
    if len(rows) > 1:
        return [
            box for top, bottom in rows for box in bounding_boxes(mask[top:bottom], x0, y0 + top)
        ]
    columns = _runs(mask.any(axis=0))
    if len(columns) > 1:
        return [
            box
            for left, right in columns
            for box in bounding_boxes(mask[:, left:right], x0 + left, y0)
        ]
    if not rows or not columns:
        return []
    (top, bottom), (left, right) = rows[0], columns[0]
    return [(x0 + left, y0 + top, x0 + right, y0 + bottom)]
