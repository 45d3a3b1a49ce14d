"""P-values → optical density → 12-bit printer drive values (PS3.14 7.1-7.3).

Step 3 of the grayscale pipeline turns P-values into densities with the GSDF
hardcopy model (or linearly for LIN OD) over the image's Min..Max Density;
step 4 turns densities into drive values through the printer's characteristic
curve — measured densities of a step wedge, inverted by interpolation — or an
ideal curve linear in density when the printer was never calibrated.  Both
steps are folded into one table indexed by P-value in 1/16 steps (65 521
entries), so resampled P-values between integers keep their precision and the
whole image costs one gather.  Drive 0 is black (densest), 4095 white.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from printserver.render.gsdf import linear_density, p_value_densities
from printserver.render.sheet import DRIVE_MAX, CharacteristicCurve, ToneScale

STEPS_PER_P = 16
TABLE_SIZE = DRIVE_MAX * STEPS_PER_P + 1


def densities(tone: ToneScale, p_values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Optical density of P-values in 0..4095 under ``tone``."""
    if tone.linear_od:
        return linear_density(
            p_values, DRIVE_MAX, min_density=tone.min_density, max_density=tone.max_density
        )
    return p_value_densities(
        p_values,
        DRIVE_MAX,
        min_density=tone.min_density,
        max_density=tone.max_density,
        illumination=tone.illumination,
        reflected_ambient_light=tone.reflected_ambient_light,
    )


def model_drive(tone: ToneScale, p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The exact (unrounded) drive value the model gives each P-value."""
    return tone.curve.drive(densities(tone, np.asarray(p_values, dtype=np.float64)))


@lru_cache(maxsize=64)
def drive_table(tone: ToneScale) -> npt.NDArray[np.uint16]:
    """Drive value for every P-value in 1/16 steps, rounded once."""
    p_values = np.arange(TABLE_SIZE, dtype=np.float64) / STEPS_PER_P
    table = np.rint(model_drive(tone, p_values))
    np.clip(table, 0, DRIVE_MAX, out=table)
    result = table.astype(np.uint16)
    result.flags.writeable = False
    return result


def to_drive(
    p_values: npt.NDArray[np.floating[Any]], tone: ToneScale | None = None
) -> npt.NDArray[np.uint16]:
    """Round P-values (0..4095, float) once to 12-bit drive values.

    Without a tone scale the P-values are drive values already (step wedges,
    colour-to-gray tests); with one they pass through its table.  ``p_values``
    is used as scratch space.
    """
    if tone is None:  # halves round up, as in steps_to_drive
        np.add(p_values, 0.5, out=p_values)
        drive: npt.NDArray[np.uint16] = np.clip(
            p_values, 0, DRIVE_MAX, out=np.empty(p_values.shape, np.uint16), casting="unsafe"
        )
        return drive
    np.multiply(p_values, STEPS_PER_P, out=p_values)
    return steps_to_drive(p_values, tone)


def steps_to_drive(
    steps: npt.NDArray[np.floating[Any]], tone: ToneScale, *, half_added: bool = False
) -> npt.NDArray[np.uint16]:
    """Drive values of P-values already multiplied by ``STEPS_PER_P``; ``steps`` is scratch.

    The renderer folds that power of two into the scale of its samples, which
    is exact, and so saves a pass over every sample.  Halves round up: one half
    is added (unless the caller did, ``half_added``), then the position truncated,
    then clamped to the table (as 32-bit integers, which is cheaper than clamping
    floats or letting the lookup clamp).
    """
    if not half_added:
        np.add(steps, 0.5, out=steps)
    positions = steps.astype(np.int32)
    np.clip(positions, 0, TABLE_SIZE - 1, out=positions)
    result: npt.NDArray[np.uint16] = drive_table(tone).take(positions, mode="wrap")
    return result


def density_to_drive(term: str, curve: CharacteristicCurve) -> int:
    """Border/Empty Image Density (PS3.3 C.13.3): BLACK, WHITE or hundredths of OD.

    BLACK is the printer's densest black, WHITE its lightest; a number is that
    density, clamped to what the printer reaches.
    """
    if term == "BLACK":
        return 0
    if term == "WHITE":
        return DRIVE_MAX
    return int(np.rint(curve.drive(int(term) / 100.0)))
