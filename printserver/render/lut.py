"""Stored values → P-values (PS3.4 H.4.3.1.2.1, digest §5.2).

Step 1 of the grayscale pipeline: invert when MONOCHROME1 xor Polarity REVERSE,
so that higher always means brighter; then scale the stored range onto 12-bit
P-values.  The scale is linear for now (Presentation LUT shapes come later) and
the result stays in float32: no 8-bit intermediate anywhere.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from printserver.render.sheet import DRIVE_MAX, SheetImage


def to_p_values(image: SheetImage) -> npt.NDArray[np.float32]:
    """P-values in 0..4095 as float32, higher = brighter."""
    top = float((1 << image.bits_stored) - 1)
    values = image.pixels.astype(np.float32)
    if image.invert:
        values = np.float32(top) - values
    values *= np.float32(DRIVE_MAX)  # exact in float32 (below 2**24), then one division
    values /= np.float32(top)
    return values
