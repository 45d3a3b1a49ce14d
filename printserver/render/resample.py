"""A separable, vectorised resampler for 12-bit image data (PS3.3 C.13.3 Magnification Type).

Each output row (then column) is a weighted sum of a few input rows: the tap
indices and weights are computed once per axis, and the sums are numpy gathers,
never Python loops over pixels.  Output is produced in bands of rows so the
renderer can write each band straight into the page (bounded memory).  When
shrinking, the kernel is widened by the scale factor so that a 2048² image drawn
into a small box does not alias.
Everything runs in float32, which keeps 12-bit values exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Kernel = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


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
    """Mitchell-Netravali with B = C = 1/3: little ringing, softer (Smoothing Type SMOOTH)."""
    b = c = 1 / 3
    ax = np.abs(x)
    near = ((12 - 9 * b - 6 * c) * ax**3 + (-18 + 12 * b + 6 * c) * ax**2 + (6 - 2 * b)) / 6
    far = ((-b - 6 * c) * ax**3 + (6 * b + 30 * c) * ax**2 + (-12 * b - 48 * c) * ax
           + (8 * b + 24 * c)) / 6
    return np.where(ax < 1, near, np.where(ax < 2, far, 0.0))


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
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Input indices and normalised weights, shape (n_out, taps), for one axis."""
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
    weights /= weights.sum(axis=1, keepdims=True)
    np.clip(index, 0, n_in - 1, out=index)
    return index, weights.astype(np.float32)


@dataclass(frozen=True)
class Plan:
    """Taps of both axes for drawing an image at (out_h, out_w), or a window of it.

    Weights are stored one row per tap, shape (taps, n_out), so that each
    multiplication reads contiguous weights.
    """

    rows_index: npt.NDArray[np.intp]
    rows_weights: npt.NDArray[np.float32]
    cols_index: npt.NDArray[np.intp]
    cols_weights: npt.NDArray[np.float32]

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows_index.shape[0], self.cols_index.shape[0]


def plan(in_h: int, in_w: int, out_h: int, out_w: int, kernel: str = "CUBIC",
         window: tuple[int, int, int, int] | None = None) -> Plan:
    """Taps for an (out_h, out_w) rendering; ``window`` (y0, y1, x0, x1) keeps part of it."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}")
    rows_index, rows_weights = taps(in_h, out_h, kernel)
    cols_index, cols_weights = taps(in_w, out_w, kernel)
    if window is not None:
        y0, y1, x0, x1 = window
        rows_index, rows_weights = rows_index[y0:y1], rows_weights[y0:y1]
        cols_index, cols_weights = cols_index[x0:x1], cols_weights[x0:x1]
    return Plan(rows_index, np.ascontiguousarray(rows_weights.T),
                cols_index, np.ascontiguousarray(cols_weights.T))


def _gather_into(out: npt.NDArray[np.float32], scratch: npt.NDArray[np.float32],
                 source: npt.NDArray[np.float32], index: npt.NDArray[np.intp],
                 weights: npt.NDArray[np.float32], axis: int) -> None:
    """``out`` = sum over taps k of source gathered at index[:, k] along ``axis``, times weights[k].

    Taps are added in order, one float32 rounding per operation, so the result
    does not depend on the buffers used.  Indices are in range already; mode
    "clip" keeps numpy from buffering the output.
    """
    for k in range(index.shape[1]):
        gathered = out if k == 0 else scratch
        np.take(source, index[:, k], axis=axis, out=gathered, mode="clip")
        np.multiply(gathered, weights[k], out=gathered)
        if k:
            np.add(out, gathered, out=out)


class BandResampler:
    """Output rows of one planned rendering, a band at a time, in buffers reused per band.

    Vertical taps first (whole input rows), then horizontal taps on that band only,
    so temporaries stay a few output rows high whatever the image size.  Reused
    buffers avoid the page faults of fresh temporaries, which cost as much as the
    arithmetic.
    """

    def __init__(self, image: npt.NDArray[np.float32], taps_plan: Plan, band_rows: int) -> None:
        self.image, self.plan = image, taps_plan
        channels = image.shape[2:]
        out_w = taps_plan.shape[1]
        self._tall = np.empty((2, band_rows, image.shape[1], *channels), np.float32)
        self._wide = np.empty((2, band_rows, out_w, *channels), np.float32)
        # horizontal weights spelled out per channel: the multiply then runs contiguous
        self._cols_weights = np.ascontiguousarray(np.broadcast_to(
            taps_plan.cols_weights.reshape(-1, out_w, *(1,) * len(channels)),
            (taps_plan.cols_weights.shape[0], out_w, *channels)))
        self._row_shape = (-1, 1, *(1,) * len(channels))

    def band(self, r0: int, r1: int) -> npt.NDArray[np.float32]:
        """Rows r0..r1: (r1 - r0, out_w) or (…, out_w, channels), valid until the next call."""
        rows = r1 - r0
        tall, wide = self._tall[:, :rows], self._wide[:, :rows]
        row_weights = self.plan.rows_weights[:, r0:r1]
        _gather_into(tall[0], tall[1], self.image, self.plan.rows_index[r0:r1],
                     row_weights.reshape(row_weights.shape[0], *self._row_shape), 0)
        out: npt.NDArray[np.float32] = wide[0]
        _gather_into(out, wide[1], tall[0], self.plan.cols_index, self._cols_weights, 1)
        return out


def resample(
    image: npt.NDArray[np.float32], out_h: int, out_w: int, kernel: str = "CUBIC"
) -> npt.NDArray[np.float32]:
    """Resize a float32 image, (h, w) or (h, w, channels), to (out_h, out_w) with a kernel."""
    taps_plan = plan(image.shape[0], image.shape[1], out_h, out_w, kernel)
    return BandResampler(image, taps_plan, out_h).band(0, out_h)
