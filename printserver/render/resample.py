"""A separable resampler whose every sum is exact (PS3.3 C.13.3 Magnification Type).

Each output row (then column) is a weighted sum of a few input rows (then
columns): the tap indices and weights are computed once per axis, and both
passes run as small matrix products (BLAS), never Python loops over pixels.
Output is produced in bands of rows from only the input rows they read, so the
renderer can draw any band of the page without a full-size copy of the image.
When shrinking, the kernel is widened by the scale factor so that a 2048² image
drawn into a small box does not alias.

Why exact: a film must be the same bytes on every machine, whatever the band
split and the thread count.  A BLAS kernel sums in an order that depends on the
CPU and on the shape of the product, and floating-point sums in another order
round differently.  So the weights are fixed-point integers (``WEIGHT_BITS``
fraction bits, each output's weights summing to exactly ``2**WEIGHT_BITS``) and
the samples are integers of at most 16 bits: every product and every partial
sum of both passes is then an integer below 2**52, which float64 holds exactly.
Any order of summation, with or without FMA, gives the same number, and the
result is the exact sum in units of :data:`UNIT`.  The caller rounds once, at
the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from printserver.render.kernels import KERNELS, ONE, WEIGHT_BITS, taps
from printserver.render.sheet import Samples

UNIT = 2.0 ** (-2 * WEIGHT_BITS)
"""What one unit of a resampled sum is worth, in samples: both passes' fixed point."""

_SAMPLE_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


COLUMN_BLOCK = 16
"""Output columns per block of the horizontal pass: one small matrix product each."""

ROW_BLOCK = 8
"""Output rows per matrix product of the vertical pass: each reads only the input rows
its taps reach, not those of the whole band."""

PRODUCT_SIZE = 1 << 18
"""Largest rows × inner × columns of one matrix product: below it OpenBLAS stays on the
calling thread, so the renderer's threads never wait on BLAS threads."""


@dataclass(frozen=True)
class Plan:
    """Taps of both axes for drawing an image at (out_h, out_w), or a window of it.

    Horizontally, output columns go in blocks of ``COLUMN_BLOCK``:
    ``cols_windows`` (blocks, window) are the input columns a block reads, and
    ``cols_matrix`` (blocks, window, COLUMN_BLOCK) their weights, zero outside
    each column's taps.  A sum is worth ``unit`` samples.
    """

    rows_index: npt.NDArray[np.intp]
    rows_weights: npt.NDArray[np.float64]
    cols_index: npt.NDArray[np.intp]
    cols_windows: npt.NDArray[np.intp]
    cols_matrix: npt.NDArray[np.float64]

    unit: float = UNIT

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows_index.shape[0], self.cols_index.shape[0]

    def scaled(self, factor: float) -> Plan:
        """The same rendering times ``factor``, a power of two: every sum is scaled
        exactly, so a caller's scale costs no pass of its own."""
        if math.frexp(factor)[0] != 0.5:
            raise ValueError(f"{factor} is not a power of two")
        return replace(self, cols_matrix=self.cols_matrix * factor, unit=self.unit / factor)

    def source_rows(self, r0: int, r1: int) -> tuple[int, int]:
        """The input rows (first, end) that output rows r0..r1 read."""
        index = self.rows_index[r0:r1]
        return int(index.min()), int(index.max()) + 1


def _blocks(
    n_in: int, index: npt.NDArray[np.intp], weights: npt.NDArray[np.float64], size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Taps (n_out, taps) by blocks of ``size`` outputs: the first input of each block's
    window, and the weights (blocks, size, window) of its outputs on that window.

    A block's window spans the taps of its outputs; every window has the size of
    the widest, moved back where it would pass the last input.  Taps that
    clipping put on the same input add up there.  Outputs past the last (padding
    the last block) repeat its taps with no weight.
    """
    n_out, count = index.shape
    blocks = -(-n_out // size)
    padded = blocks * size
    if padded > n_out:
        index = np.concatenate([index, np.repeat(index[-1:], padded - n_out, axis=0)])
        weights = np.concatenate([weights, np.zeros((padded - n_out, count))])
    per_block = index.reshape(blocks, -1)
    starts = per_block.min(axis=1)
    window = int((per_block.max(axis=1) - starts).max()) + 1
    starts = np.minimum(starts, n_in - window)
    outputs = np.arange(padded)
    block = outputs // size
    matrix = np.zeros((blocks, size, window))
    np.add.at(
        matrix, (block[:, None], (outputs % size)[:, None], index - starts[block, None]), weights
    )
    return starts, matrix


def _column_blocks(
    n_in: int, index: npt.NDArray[np.intp], weights: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """The horizontal taps as :func:`_blocks` of ``COLUMN_BLOCK`` columns: each block's input
    columns (blocks, window) and its weights as the right operand, (blocks, window, columns)."""
    starts, matrix = _blocks(n_in, index, weights, COLUMN_BLOCK)
    window = matrix.shape[2]
    return starts[:, None] + np.arange(window), np.ascontiguousarray(matrix.transpose(0, 2, 1))


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
        rows_index, rows_weights, cols_index, *_column_blocks(in_w, cols_index, cols_weights)
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
) -> npt.NDArray[np.float64]:
    """Output rows r0..r1 of a planned rendering, sums worth ``taps_plan.unit`` samples
    each, plus ``bias``; valid until ``scratch`` is reused.

    ``source`` (height, width) or (height, width, channels) holds integer samples
    of input rows ``first_row`` onwards, at least ``taps_plan.source_rows(r0, r1)``:
    the caller converts only those.  The result is (r1 - r0, out_w), or by planes,
    (r1 - r0, channels, out_w).

    Both passes are small matrix products (BLAS): vertically, a few output rows
    at a time, their weights times the input rows they read; then horizontally,
    per block of output columns, the input columns it reads times their weights.

    ``bias`` (one half, for a caller that rounds by truncating) costs no pass of
    its own: the vertical pass adds to every sum the amount that the horizontal
    weights, which sum to one, turn into ``bias``.  It must be a whole number of
    vertical units, so that every sum stays an exact integer.
    """
    if source.dtype not in _SAMPLE_TYPES:
        raise TypeError(f"samples must be 8 or 16-bit unsigned integers, not {source.dtype}")
    count = r1 - r0
    channels = math.prod(source.shape[2:])
    width, out_w = source.shape[1], taps_plan.shape[1]
    vertical = scratch.array("tall", (count, width * channels))
    _vertical(
        source.reshape(source.shape[0], -1),
        taps_plan.rows_index[r0:r1] - first_row,
        taps_plan.rows_weights[r0:r1],
        vertical,
        scratch,
        _vertical_bias(bias, taps_plan.unit),
    )
    # each block's window of input columns, plane after plane: every plane of every row
    # becomes a line of the horizontal product, and interleaved colour comes out by planes
    blocks, window = taps_plan.cols_windows.shape
    columns = taps_plan.cols_windows * channels
    if channels > 1:
        columns = columns + np.arange(channels).reshape(-1, 1, 1)
    lines = count * channels
    gathered = scratch.array("windows", (lines, blocks * window))
    # every index is a column of ``vertical``: "wrap" only skips the checks "clip" makes
    np.take(vertical, columns.reshape(-1), axis=1, out=gathered.reshape(count, -1), mode="wrap")
    wide = scratch.array("wide", (lines, out_w))
    _horizontal(gathered.reshape(lines, blocks, window), taps_plan.cols_matrix, wide, scratch)
    out: npt.NDArray[np.float64] = wide.reshape(count, *source.shape[2:], out_w)
    return out


def _horizontal(
    windows: npt.NDArray[np.float64],
    matrix: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    scratch: Scratch,
) -> None:
    """``out`` (lines, out_w) = each block's ``windows`` (lines, blocks, window) times its
    weights ``matrix`` (blocks, window, COLUMN_BLOCK).

    The whole blocks are written in place; a last, partial block goes through a small
    buffer, so that ``out`` has no padding columns: contiguous rows are what the
    rounding that follows runs fastest on.
    """
    lines, blocks, window = windows.shape
    out_w = out.shape[1]
    whole = out_w // COLUMN_BLOCK
    inputs = windows.transpose(1, 0, 2)
    products = out[:, : whole * COLUMN_BLOCK].reshape(lines, whole, COLUMN_BLOCK)
    tail = scratch.array("tail", (lines, COLUMN_BLOCK)) if whole < blocks else None
    step = max(1, PRODUCT_SIZE // (window * COLUMN_BLOCK))  # one step unless shrinking a lot
    for l0 in range(0, lines, step):
        l1 = min(lines, l0 + step)
        np.matmul(inputs[:whole, l0:l1], matrix[:whole], out=products[l0:l1].transpose(1, 0, 2))
        if tail is not None:
            np.matmul(inputs[whole, l0:l1], matrix[whole], out=tail[l0:l1])
            out[l0:l1, whole * COLUMN_BLOCK :] = tail[l0:l1, : out_w - whole * COLUMN_BLOCK]


SAMPLES_CHUNK = 1 << 19
"""Most input samples converted to float64 at once (4 MB): a strong reduction reads many
input rows, and then goes through the columns a piece at a time."""


def _vertical_bias(bias: float, unit: float) -> float:
    """What to add to each vertical sum so that the horizontal pass adds ``bias``: the
    horizontal weights of one output sum to ``2**-WEIGHT_BITS / unit``."""
    added = bias * unit * ONE
    if added != round(added):
        raise ValueError(f"bias {bias} is not a whole number of vertical units")
    return added


def _vertical(
    source: Samples,
    index: npt.NDArray[np.intp],
    weights: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    scratch: Scratch,
    bias: float = 0.0,
) -> None:
    """``out`` rows = the taps' weighted sums of ``source`` rows (its first row is 0).

    Output rows go in blocks of ``ROW_BLOCK``; each block reads a window of
    input rows, all windows of one size, so that one batched product does the
    whole band: the blocks' weights (blocks, ROW_BLOCK, window) times their
    windows of samples, converted to float64 (``SAMPLES_CHUNK`` at most at a
    time), in as many columns as keep each product under ``PRODUCT_SIZE``.
    Few calls matter as much as few operations: each is a hand-over of the GIL.
    A ``bias`` is one more input row, of ones, with that weight in every row.
    """
    count, line = out.shape
    starts, weights_by_block = _blocks(source.shape[0], index, weights, ROW_BLOCK)
    blocks, _, window = weights_by_block.shape
    padded = blocks * ROW_BLOCK
    depth = window + 1 if bias else window
    matrix = weights_by_block
    if bias:
        matrix = scratch.array("matrix", (blocks, ROW_BLOCK, depth))
        matrix[:, :, :window] = weights_by_block
        matrix[:, :, window] = bias
    result = out if padded == count else scratch.array("padded", (padded, line))
    by_block = result.reshape(blocks, ROW_BLOCK, line)
    columns = max(1, PRODUCT_SIZE // (ROW_BLOCK * depth))
    chunk = max(columns, SAMPLES_CHUNK // (blocks * depth) // columns * columns)
    windows = starts[:, None] + np.arange(window)
    for c0 in range(0, line, chunk):
        c1 = min(line, c0 + chunk)
        samples = scratch.array("samples", (blocks, depth, c1 - c0))
        samples[:, :window] = source[windows, c0:c1]
        samples[:, window:] = 1.0
        whole = (c1 - c0) // columns * columns
        if whole:
            np.matmul(
                matrix[:, None],
                _split_columns(samples[:, :, :whole], columns),
                out=_split_columns(by_block[:, :, c0 : c0 + whole], columns),
            )
        if c0 + whole < c1:
            np.matmul(matrix, samples[:, :, whole:], out=by_block[:, :, c0 + whole : c1])
    if result is not out:
        out[...] = result[:count]


def _split_columns(array: npt.NDArray[np.float64], columns: int) -> npt.NDArray[np.float64]:
    """A view (blocks, pieces, rows, columns) of ``array`` (blocks, rows, pieces * columns):
    always a view, so that a product written into it lands in ``array``."""
    blocks, rows, width = array.shape
    block_stride, row_stride, item = array.strides
    view: npt.NDArray[np.float64] = np.lib.stride_tricks.as_strided(
        array,
        (blocks, width // columns, rows, columns),
        (block_stride, columns * item, row_stride, item),
    )
    return view


def resample(
    image: Samples, out_h: int, out_w: int, kernel: str = "CUBIC"
) -> npt.NDArray[np.float64]:
    """Resize an image of integer samples, (h, w) or (h, w, channels), to (out_h, out_w) with a
    kernel; the exact result, not rounded."""
    taps_plan = plan(image.shape[0], image.shape[1], out_h, out_w, kernel)
    out = resample_band(image, 0, taps_plan, 0, out_h, Scratch())
    out = out * taps_plan.unit
    return np.ascontiguousarray(np.moveaxis(out, 1, 2) if image.ndim == 3 else out)
