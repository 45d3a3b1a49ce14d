"""P-values and densities → 12-bit printer drive values.

PostScript DeviceGray reads 0 as black (maximum density) and 4095 as white
(minimum density).  For now P-values map linearly onto drive values; the GSDF
hardcopy model of PS3.14 replaces the body of :func:`to_drive` later, without
changing its contract.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from printserver.render.sheet import DRIVE_MAX


def to_drive(p_values: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
    """Round P-values (0..4095, float) once to 12-bit drive values."""
    out = np.rint(p_values)
    np.clip(out, 0, DRIVE_MAX, out=out)
    return out.astype(np.uint16)


def density_to_drive(term: str, min_density: int, max_density: int) -> int:
    """Border/Empty Image Density (PS3.3 C.13.3): BLACK, WHITE or hundredths of OD.

    BLACK is the film's maximum density, WHITE its minimum; a number is placed
    linearly between them (clamped), pending the density model.
    """
    if term == "BLACK":
        return 0
    if term == "WHITE":
        return DRIVE_MAX
    density = min(max(int(term), min_density), max_density)
    return round(DRIVE_MAX * (max_density - density) / (max_density - min_density))
