"""Stored values → P-values (PS3.4 H.4.3.1.2.1, PS3.3 C.11.4).

Step 1 of the grayscale pipeline: invert when MONOCHROME1 xor Polarity REVERSE,
so that higher always means brighter (the Presentation LUT must not change the
appearance implied by them, PS3.3 C.11.6).  Step 2: the Presentation LUT — an
explicit table (interpolated when its size differs from the stored range), the
INVERSE shape, or IDENTITY.  LIN OD passes through unchanged here: its values
are read as linear in density by the density model.

The resampler adds integers only (render/resample.py), so a grayscale image
reaches it as integer *samples* and a :class:`SampleScale`, the affine map from
samples to P-values on a 0..4095 scale.  The map is applied once, after
resampling, which is exact because resampling is linear and its weights sum to
one: stored values, inverted stored values and table entries are all samples, so
no P-value is rounded before the last step.  The one exception is a table whose
size differs from the stored range: its interpolated P-values are samples in
1/16 steps, the step of the tone table they are looked up in (render/density.py).
No 8-bit intermediate anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from printserver.render.sheet import DRIVE_MAX, Samples, SheetImage

INTERPOLATED_STEPS = 16
"""Samples per P-value of an interpolated Presentation LUT: the tone table's step."""


@dataclass(frozen=True)
class SampleScale:
    """P-value = sample × ``gain`` / ``divisor`` + ``offset``: exact for every integer sample
    whenever the P-value is a whole number (the division comes last)."""

    gain: float = 1.0
    divisor: float = 1.0
    offset: float = 0.0

    def apply(
        self, values: npt.NDArray[np.float64], unit: float = 1.0, steps: int = 1
    ) -> npt.NDArray[np.float64]:
        """``values`` (sums of samples worth ``unit`` each) become P-values × ``steps``, in place.

        ``unit`` and ``steps`` are powers of two, so folding them into the gain is exact.
        """
        gain = self.gain * unit * steps
        if gain != 1.0:
            np.multiply(values, gain, out=values)
        if self.divisor != 1.0:
            np.divide(values, self.divisor, out=values)
        if self.offset:
            np.add(values, self.offset * steps, out=values)
        return values


def sample_scale(image: SheetImage) -> SampleScale:
    """How :func:`p_value_samples` of ``image`` become P-values."""
    top = float((1 << image.bits_stored) - 1)
    lut = image.presentation_lut
    if lut is not None and lut.table is not None:
        if _one_entry_per_value(lut.table, image.bits_stored):
            scale = SampleScale(DRIVE_MAX, float((1 << lut.table_bits) - 1))
        else:
            scale = SampleScale(1.0, INTERPOLATED_STEPS)
    else:
        scale = SampleScale(DRIVE_MAX, top) if top != DRIVE_MAX else SampleScale()
    if lut is not None and lut.shape == "INVERSE":
        return SampleScale(-scale.gain, scale.divisor, DRIVE_MAX)
    return scale


def p_value_samples(image: SheetImage, rows: slice | None = None) -> Samples:
    """The integers whose :func:`sample_scale` gives the P-values; of ``rows`` only if given.

    Every value is computed alone, so converting the rows a band needs gives
    exactly what converting the whole image would, without a full-size copy.
    Without inversion or table this is a view of the pixels: no copy at all.
    """
    top = (1 << image.bits_stored) - 1
    values = image.pixels if rows is None else image.pixels[rows]
    if image.invert:
        values = np.subtract(values.dtype.type(top), values)
    lut = image.presentation_lut
    if lut is None or lut.table is None:
        return values
    if _one_entry_per_value(lut.table, image.bits_stored):
        looked_up: Samples = lut.table.take(values)
        return looked_up
    return _interpolated(values, top, lut.table, lut.table_bits)


def _one_entry_per_value(table: npt.NDArray[np.uint16], bits_stored: int) -> bool:
    """A table of one entry per stored value is looked up; one of another size is
    interpolated (PS3.3 C.11.4)."""
    return len(table) == 1 << bits_stored


def _interpolated(
    values: Samples, top: int, table: npt.NDArray[np.uint16], bits: int
) -> npt.NDArray[np.uint16]:
    """A table of another size than the stored range, interpolated between its entries
    (first value mapped 0, PS3.3 C.11.4), as P-values in 1/16 steps."""
    entries = len(table)
    positions = values * ((entries - 1) / top)
    grid = np.arange(entries, dtype=np.float64)
    p_values = np.interp(positions, grid, table.astype(np.float64))
    p_values *= DRIVE_MAX * INTERPOLATED_STEPS / float((1 << bits) - 1)
    np.rint(p_values, out=p_values)
    np.clip(p_values, 0, DRIVE_MAX * INTERPOLATED_STEPS, out=p_values)
    samples: npt.NDArray[np.uint16] = p_values.astype(np.uint16)
    return samples


def to_p_values(image: SheetImage, rows: slice | None = None) -> npt.NDArray[np.float64]:
    """P-values in 0..4095, higher = brighter; of ``rows`` of the image only if given."""
    values = p_value_samples(image, rows).astype(np.float64)
    return sample_scale(image).apply(values)
