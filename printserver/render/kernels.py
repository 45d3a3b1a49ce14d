"""Magnification and Smoothing Type kernels and their fixed-point taps (PS3.3 C.13.3).

Each kernel is evaluated with products, sums and comparisons only, which round the
same on every CPU, and its taps are rounded once to integers of ``2**-WEIGHT_BITS``
that sum to exactly one per output: what makes every sum of the resampler exact
(render/resample.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Kernel = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]

WEIGHT_BITS = 17
"""Fraction bits of a weight.  A pass multiplies by weights whose magnitudes add up to at
most 2**(WEIGHT_BITS + 1), so 16-bit samples stay below 2**(16 + 2 * 18) = 2**52."""

ONE = float(1 << WEIGHT_BITS)
"""The sum of one output's weights."""


def _triangle(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _keys(a: float) -> Kernel:
    """Keys' cubic convolution kernel with parameter ``a``."""

    def kernel(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        ax = np.abs(x)
        near = ((a + 2) * ax - (a + 3)) * ax * ax + 1
        far = ((a * ax - 5 * a) * ax + 8 * a) * ax - 4 * a
        result: npt.NDArray[np.float64] = np.where(ax <= 1, near, np.where(ax < 2, far, 0.0))
        return result

    return kernel


_keys_cubic = _keys(-0.5)  # Catmull-Rom
_keys_sharp = _keys(-0.75)  # more overshoot, crisper edges (Smoothing Type SHARP)


def _mitchell(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mitchell-Netravali with B = C = 1/3: little ringing, softer (Smoothing Type SMOOTH).

    Products and sums only (no ``**``): they round the same on every CPU, where numpy's
    power may take a vector routine of the CPU's own.
    """
    b = c = 1 / 3
    ax = np.abs(x)
    near = (((12 - 9 * b - 6 * c) * ax + (-18 + 12 * b + 6 * c)) * ax * ax + (6 - 2 * b)) / 6
    far = (
        (((-b - 6 * c) * ax + (6 * b + 30 * c)) * ax + (-12 * b - 48 * c)) * ax + (8 * b + 24 * c)
    ) / 6
    result: npt.NDArray[np.float64] = np.where(ax < 1, near, np.where(ax < 2, far, 0.0))
    return result


def _box(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


KERNELS: dict[str, tuple[Kernel, float]] = {
    "REPLICATE": (_box, 0.5),
    "BILINEAR": (_triangle, 1.0),
    "CUBIC": (_keys_cubic, 2.0),
    "CUBIC SHARP": (_keys_sharp, 2.0),
    "CUBIC SMOOTH": (_mitchell, 2.0),
}

SMOOTHING_TYPES = ("NONE", "SHARP", "SMOOTH")
"""Smoothing Type values (SCP-defined, PS3.3 C.13.3): the cubic kernel used with CUBIC."""


def kernel_for(magnification: str, smoothing: str = "NONE") -> str:
    """The resampling kernel of a Magnification Type and Smoothing Type."""
    if magnification == "CUBIC" and smoothing in ("SHARP", "SMOOTH"):
        return f"CUBIC {smoothing}"
    return "CUBIC" if magnification == "NONE" else magnification


def taps(
    n_in: int, n_out: int, kernel: str
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Input indices and fixed-point weights, shape (n_out, taps), for one axis.

    The weights are integers (held in float64) that sum to exactly ``2**WEIGHT_BITS``
    in every row, so that a flat image stays exactly flat.
    """
    function, support = KERNELS[kernel]
    scale = n_in / n_out
    widen = max(1.0, scale) if kernel != "REPLICATE" else 1.0
    reach = support * widen
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    count = max(1, int(np.ceil(2 * reach)))  # integers inside the open interval (c-r, c+r)
    first = np.floor(centres - reach).astype(np.intp) + 1
    index = first[:, None] + np.arange(count)[None, :]
    weights = function((index - centres[:, None]) / widen)
    if kernel == "REPLICATE":  # nearest neighbour: exactly one tap, never an average
        weights = (index == np.rint(centres + 1e-9)[:, None]).astype(np.float64)
    np.clip(index, 0, n_in - 1, out=index)
    return index, _fixed_point(weights)


def _fixed_point(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Weights rounded to integers of ``2**-WEIGHT_BITS`` that sum to exactly one.

    The sum is taken tap by tap, in a fixed order; what rounding leaves over goes
    to each row's largest weight.
    """
    total = weights[:, 0].copy()
    for k in range(1, weights.shape[1]):
        total += weights[:, k]
    fixed = np.rint(weights * (ONE / total)[:, None])
    largest = np.argmax(np.abs(fixed), axis=1)
    fixed[np.arange(len(fixed)), largest] += ONE - fixed.sum(axis=1)
    if (np.abs(fixed).sum(axis=1) > 2 * ONE).any():
        raise ValueError("kernel weights too large for exact sums")
    return fixed
