"""Stored values → P-values (PS3.4 H.4.3.1.2.1, PS3.3 C.11.4).

Step 1 of the grayscale pipeline: invert when MONOCHROME1 xor Polarity REVERSE,
so that higher always means brighter (the Presentation LUT must not change the
appearance implied by them, PS3.3 C.11.6).  Step 2: the Presentation LUT — an
explicit table (interpolated when its size differs from the stored range), the
INVERSE shape, or IDENTITY.  LIN OD passes through unchanged here: its values
are read as linear in density by the density model.  Everything stays float32
on a 0..4095 scale: no 8-bit intermediate anywhere.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from printserver.render.sheet import DRIVE_MAX, SheetImage


def to_p_values(image: SheetImage, rows: slice | None = None) -> npt.NDArray[np.float32]:
    """P-values in 0..4095 as float32, higher = brighter; of ``rows`` of the image only if given.

    Every value is computed alone, so converting the rows a band needs gives
    exactly what converting the whole image would, without a full-size copy.
    """
    top = float((1 << image.bits_stored) - 1)
    values = (image.pixels if rows is None else image.pixels[rows]).astype(np.float32)
    if image.invert:
        np.subtract(np.float32(top), values, out=values)
    lut = image.presentation_lut
    if lut is not None and lut.table is not None:
        values = _apply_table(values, top, lut.table, lut.table_bits)
    elif top != DRIVE_MAX:  # 12 bits stored are P-values already
        values *= np.float32(DRIVE_MAX)  # exact in float32 (below 2**24), then one division
        values /= np.float32(top)
    if lut is not None and lut.shape == "INVERSE":
        np.subtract(np.float32(DRIVE_MAX), values, out=values)
    return values


def _apply_table(
    values: npt.NDArray[np.float32], top: float, table: npt.NDArray[np.uint16], bits: int
) -> npt.NDArray[np.float32]:
    """Look stored values up in an explicit LUT (first value mapped 0, PS3.3 C.11.4)."""
    entries = len(table)
    scale = np.float32(DRIVE_MAX / float((1 << bits) - 1))
    if entries == int(top) + 1:
        indices = values.astype(np.intp)
        return table.astype(np.float32)[indices] * scale
    positions = values * np.float32((entries - 1) / top)
    grid = np.arange(entries, dtype=np.float32)
    looked_up: npt.NDArray[np.float32] = np.interp(
        positions, grid, table.astype(np.float32)
    ).astype(np.float32)
    return looked_up * scale
