"""A separable resampler whose every sum is exact (PS3.3 C.13.3 Magnification Type).

Each output row (then column) is a weighted sum of a few consecutive input rows
(then columns): the first input and the weights of each output are computed
once per axis, and the sums of a band of output rows run in compiled loops
(``_resample.c``) that read only the input rows the band needs, so the renderer
can draw any band of the page without a full-size copy of the image.  When
shrinking, the kernel is widened by the scale factor so that a 2048² image
drawn into a small box does not alias.

Why exact: a film must be the same bytes on every machine, whatever the band
split, the thread count and the CPU.  Floating-point sums taken in another order
round differently, and a BLAS kernel picks its order by CPU and shape.  So the
weights are fixed-point integers (``WEIGHT_BITS`` fraction bits, each output's
weights summing to exactly ``2**WEIGHT_BITS``) and the samples are integers of
at most 16 bits: every product and every partial sum of both passes is then an
integer below 2**52, which a double holds exactly.  Any order of summation, any
vector width, with or without FMA, gives the same number, and the result is the
exact sum in units of :data:`UNIT`.  The caller rounds once, at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from printserver.render import _resample
from printserver.render.kernels import KERNELS, ONE, WEIGHT_BITS, taps
from printserver.render.sheet import Samples

UNIT = 2.0 ** (-2 * WEIGHT_BITS)
"""What one unit of a resampled sum is worth, in samples: both passes' fixed point."""

_SAMPLE_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16))

SIMD = _resample.simd_available()
"""Whether the AVX2 build of the loops runs here: the same sums, sooner."""

PAD, OUTPUTS = _resample.PAD, _resample.OUTPUTS
"""Doubles after each row of the vertical sums (a 4 KiB stride thrashes the cache), and
output columns summed at a time: the scratch :func:`resample_band` hands the loops has
room for both."""


@dataclass(frozen=True)
class Plan:
    """Taps of both axes for drawing an image at (out_h, out_w), or a window of it.

    Per axis, each output reads a window of consecutive inputs, all windows of
    one size: ``*_start`` (n_out,) is its first input, ``*_weights`` (n_out,
    window) the weights, zero where the kernel does not reach.  A sum is worth
    ``unit`` samples: :data:`UNIT` divided by ``factor``.
    """

    rows_start: npt.NDArray[np.int64]
    rows_weights: npt.NDArray[np.float64]
    cols_start: npt.NDArray[np.int64]
    cols_weights: npt.NDArray[np.float64]
    factor: float = 1.0

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows_start.shape[0], self.cols_start.shape[0]

    @property
    def unit(self) -> float:
        return UNIT / self.factor

    def scaled(self, factor: float) -> Plan:
        """The same rendering times ``factor``, a power of two: every sum is scaled
        exactly, so a caller's scale costs no pass of its own."""
        if math.frexp(factor)[0] != 0.5:
            raise ValueError(f"{factor} is not a power of two")
        return replace(self, factor=self.factor * factor)

    def source_rows(self, r0: int, r1: int) -> tuple[int, int]:
        """The input rows (first, end) that output rows r0..r1 read."""
        starts = self.rows_start[r0:r1]
        return int(starts.min()), int(starts.max()) + self.rows_weights.shape[1]


def _windows(
    n_in: int, index: npt.NDArray[np.intp], weights: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Taps (n_out, taps) as windows: each output's first input, and its weights (n_out,
    window) on the window.

    Every window has the size of the widest, moved back where it would pass the
    last input.  Taps that clipping put on the same input add up there.
    """
    n_out = index.shape[0]
    starts = index.min(axis=1)
    window = int((index.max(axis=1) - starts).max()) + 1
    starts = np.minimum(starts, n_in - window)
    matrix = np.zeros((n_out, window))
    np.add.at(matrix, (np.arange(n_out)[:, None], index - starts[:, None]), weights)
    return starts.astype(np.int64), matrix


def plan(
    in_h: int,
    in_w: int,
    out_h: int,
    out_w: int,
    kernel: str = "CUBIC",
    window: tuple[int, int, int, int] | None = None,
) -> Plan:
    """Taps for an (out_h, out_w) rendering; ``window`` (y0, y1, x0, x1) keeps part of it."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}")
    rows_index, rows_weights = taps(in_h, out_h, kernel)
    cols_index, cols_weights = taps(in_w, out_w, kernel)
    if window is not None:
        y0, y1, x0, x1 = window
        rows_index, rows_weights = rows_index[y0:y1], rows_weights[y0:y1]
        cols_index, cols_weights = cols_index[x0:x1], cols_weights[x0:x1]
    return Plan(
        *_windows(in_h, rows_index, rows_weights), *_windows(in_w, cols_index, cols_weights)
    )


class Scratch:
    """Float64 work buffers of one thread, kept from band to band.

    Fresh temporaries cost page faults that take as long as the arithmetic, so
    each named buffer is allocated once at its largest size and handed out as
    views.  Not thread-safe: every thread needs its own.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, npt.NDArray[np.float64]] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        """A view of ``shape`` on the buffer ``name``; its contents are undefined."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[name] = np.empty(size)
        return buffer[:size].reshape(shape)


def resample_band(
    source: Samples,
    first_row: int,
    taps_plan: Plan,
    r0: int,
    r1: int,
    scratch: Scratch,
    bias: float = 0.0,
    simd: bool = SIMD,
) -> npt.NDArray[np.float64]:
    """Output rows r0..r1 of a planned rendering, sums worth ``taps_plan.unit`` samples
    each, plus ``bias``; valid until ``scratch`` is reused.

    ``source`` (height, width) or (height, width, channels) holds integer samples
    of input rows ``first_row`` onwards, at least ``taps_plan.source_rows(r0, r1)``:
    the caller converts only those.  The result is (r1 - r0, out_w), or by planes,
    (r1 - r0, channels, out_w).  ``simd`` False runs the portable loops (the same
    sums; tests compare them).

    ``bias`` (one half, for a caller that rounds by truncating) costs no pass of
    its own: the vertical pass adds to every sum the amount that the horizontal
    weights, which sum to one, turn into ``bias``.  It must be a whole number of
    vertical units, so that every sum stays an exact integer.
    """
    if source.dtype not in _SAMPLE_TYPES:
        raise TypeError(f"samples must be 8 or 16-bit unsigned integers, not {source.dtype}")
    count = r1 - r0
    channels = math.prod(source.shape[2:])
    height, width = source.shape[:2]
    line = width * channels
    out_w = taps_plan.shape[1]
    out = scratch.array("out", (count, channels, out_w))
    _resample.band_sums(
        np.ascontiguousarray(source),
        source.dtype.itemsize,
        height,
        width,
        channels,
        np.ascontiguousarray(taps_plan.rows_start[r0:r1] - first_row),
        np.ascontiguousarray(taps_plan.rows_weights[r0:r1]),
        taps_plan.rows_weights.shape[1],
        taps_plan.cols_start,
        taps_plan.cols_weights,
        taps_plan.cols_weights.shape[1],
        out_w,
        taps_plan.factor,
        _vertical_bias(bias, taps_plan.unit),
        scratch.array("vertical", (max(count * (line + PAD), OUTPUTS * count),)),
        scratch.array("transposed", (line * count,)),
        out,
        simd,
    )
    return out.reshape(count, *source.shape[2:], out_w)


def _vertical_bias(bias: float, unit: float) -> float:
    """What to add to each vertical sum so that the horizontal pass adds ``bias``: the
    horizontal weights of one output sum to ``2**-WEIGHT_BITS / unit``."""
    added = bias * unit * ONE
    if added != round(added):
        raise ValueError(f"bias {bias} is not a whole number of vertical units")
    return added


def resample(
    image: Samples, out_h: int, out_w: int, kernel: str = "CUBIC", simd: bool = SIMD
) -> npt.NDArray[np.float64]:
    """Resize an image of integer samples, (h, w) or (h, w, channels), to (out_h, out_w) with a
    kernel; the exact result, not rounded."""
    taps_plan = plan(image.shape[0], image.shape[1], out_h, out_w, kernel)
    out = resample_band(image, 0, taps_plan, 0, out_h, Scratch(), simd=simd)
    out = out * taps_plan.unit
    return np.ascontiguousarray(np.moveaxis(out, 1, 2) if image.ndim == 3 else out)
