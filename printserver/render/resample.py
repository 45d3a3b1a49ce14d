"""A separable, vectorised resampler for 12-bit image data (PS3.3 C.13.3 Magnification Type).

Each output row (then column) is a weighted sum of a few input rows (then
columns): the tap indices and weights are computed once per axis, and both
passes run as small float32 matrix products (BLAS), never Python loops over
pixels.  Output is produced in bands of rows from only the input rows they
read, so the renderer can draw any band of the page without a full-size copy
of the image.  When shrinking, the kernel is widened by the scale factor so
that a 2048² image drawn into a small box does not alias.  float32 holds every
12-bit value exactly, and the sums round far below the tone table's 1/16
P-value step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

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
    far = (
        (-b - 6 * c) * ax**3 + (6 * b + 30 * c) * ax**2 + (-12 * b - 48 * c) * ax + (8 * b + 24 * c)
    ) / 6
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


COLUMN_BLOCK = 16
"""Output columns per block of the horizontal pass: one small matrix product each."""


@dataclass(frozen=True)
class Plan:
    """Taps of both axes for drawing an image at (out_h, out_w), or a window of it.

    Vertical weights are stored one row per tap, shape (taps, out_h), so that
    each multiplication reads contiguous weights.  Horizontally, output columns
    go in blocks of ``COLUMN_BLOCK``: ``cols_windows`` (blocks, window) are the
    input columns a block reads, and ``cols_matrix`` (blocks, window,
    COLUMN_BLOCK) their weights, zero outside each column's taps.
    ``row_scale`` is input rows per output row.
    """

    rows_index: npt.NDArray[np.intp]
    rows_weights: npt.NDArray[np.float32]
    cols_index: npt.NDArray[np.intp]
    cols_windows: npt.NDArray[np.intp]
    cols_matrix: npt.NDArray[np.float32]
    row_scale: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows_index.shape[0], self.cols_index.shape[0]

    def source_rows(self, r0: int, r1: int) -> tuple[int, int]:
        """The input rows (first, end) that output rows r0..r1 read."""
        index = self.rows_index[r0:r1]
        return int(index.min()), int(index.max()) + 1

    def rows_reach(self, rows: int) -> int:
        """The most input rows that any ``rows`` consecutive output rows read."""
        return math.floor((rows - 1) * self.row_scale) + 1 + int(self.rows_index.shape[1])

    def scaled(self, factor: float) -> Plan:
        """The same rendering times ``factor``; exact when it is a power of two."""
        return replace(self, rows_weights=self.rows_weights * np.float32(factor))


def _column_blocks(
    n_in: int, index: npt.NDArray[np.intp], weights: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Taps (n_out, taps) as windows of input columns and a weight matrix per output block.

    A block's window spans the taps of its columns; every window has the size
    of the widest, moved left where it would pass the last column.  Taps that
    clipping put on the same column add up there.  Columns past the last
    output (padding the last block) have no weight.
    """
    n_out, count = index.shape
    blocks = -(-n_out // COLUMN_BLOCK)
    padded = blocks * COLUMN_BLOCK
    index = np.concatenate([index, np.repeat(index[-1:], padded - n_out, axis=0)])
    weights = np.concatenate([weights, np.zeros((padded - n_out, count), np.float32)])
    per_block = index.reshape(blocks, -1)
    starts = per_block.min(axis=1)
    window = int((per_block.max(axis=1) - starts).max()) + 1
    starts = np.minimum(starts, n_in - window)
    block = np.arange(padded) // COLUMN_BLOCK
    matrix = np.zeros((blocks, window, COLUMN_BLOCK), np.float32)
    for k in range(count):
        np.add.at(
            matrix,
            (block, index[:, k] - starts[block], np.arange(padded) % COLUMN_BLOCK),
            weights[:, k],
        )
    return starts[:, None] + np.arange(window), matrix


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
        rows_index,
        np.ascontiguousarray(rows_weights.T),
        cols_index,
        *_column_blocks(in_w, cols_index, cols_weights),
        in_h / out_h,
    )


class Scratch:
    """Float32 work buffers of one thread, kept from band to band.

    Fresh temporaries cost page faults that take as long as the arithmetic, so
    each named buffer is allocated once at its largest size and handed out as
    views.  Not thread-safe: every thread needs its own.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, npt.NDArray[np.float32]] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
        """A view of ``shape`` on the buffer ``name``; its contents are undefined."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[name] = np.empty(size, np.float32)
        return buffer[:size].reshape(shape)


PRODUCT_SIZE = 1 << 18
"""Largest rows × inner × columns of one matrix product: below it OpenBLAS stays on the
calling thread, so the renderer's threads never wait on BLAS threads.  Products are split
at the same places in every band, so each row is still computed the same way."""


def resample_band(
    source: npt.NDArray[np.float32],
    first_row: int,
    taps_plan: Plan,
    r0: int,
    r1: int,
    scratch: Scratch,
    rows: int = 0,
) -> npt.NDArray[np.float32]:
    """Output rows r0..r1 of a planned rendering, valid until ``scratch`` is reused.

    ``source`` (height, width) or (height, width, channels) holds input rows
    ``first_row`` onwards, at least ``taps_plan.source_rows(r0, r1)``: the
    caller converts only those.  The result is (r1 - r0, out_w), or by planes,
    (r1 - r0, channels, out_w).

    Both passes are small matrix products (BLAS): vertically, the band's
    weights times the input rows it reads, a column block at a time; then
    horizontally, per block of output columns, the input columns it reads
    times their weights.  That takes a third of the time of gathering and
    adding every tap.  Products always have ``rows`` rows (at least r1 - r0,
    the rest zero), so that each output row is computed the same way whichever
    band it is in.
    """
    count = r1 - r0
    rows = max(rows, count)
    channels = math.prod(source.shape[2:])
    width, out_w = source.shape[1], taps_plan.shape[1]
    vertical = scratch.array("tall", (rows, width * channels))
    _vertical(
        source.reshape(source.shape[0], -1),
        taps_plan.rows_index[r0:r1] - first_row,
        taps_plan.rows_weights[:, r0:r1],
        taps_plan.rows_reach(rows),
        vertical,
        scratch,
    )
    # each block's window of input columns, plane after plane: every plane of every row
    # becomes a line of the horizontal product, and interleaved colour comes out by planes
    blocks, window = taps_plan.cols_windows.shape
    columns = taps_plan.cols_windows * channels
    if channels > 1:
        columns = columns + np.arange(channels).reshape(-1, 1, 1)
    lines, used = rows * channels, count * channels
    gathered = scratch.array("windows", (lines, blocks * window))
    np.take(
        vertical[:count],
        columns.reshape(-1),
        axis=1,
        out=gathered[:used].reshape(count, -1),
        mode="clip",
    )
    gathered[used:] = 0
    wide = scratch.array("wide", (lines, blocks * COLUMN_BLOCK))
    windows = gathered.reshape(lines, blocks, window).transpose(1, 0, 2)
    products = wide.reshape(lines, blocks, COLUMN_BLOCK).transpose(1, 0, 2)
    step = max(1, PRODUCT_SIZE // (window * COLUMN_BLOCK))  # one step unless shrinking a lot
    for line in range(0, lines, step):
        np.matmul(
            windows[:, line : line + step],
            taps_plan.cols_matrix,
            out=products[:, line : line + step],
        )
    out: npt.NDArray[np.float32] = wide[:used, :out_w].reshape(count, *source.shape[2:], out_w)
    return out


def _vertical(
    source: npt.NDArray[np.float32],
    index: npt.NDArray[np.intp],
    weights: npt.NDArray[np.float32],
    reach: int,
    out: npt.NDArray[np.float32],
    scratch: Scratch,
) -> None:
    """``out`` rows = the taps' weighted sums of ``source`` rows; rows past the taps' are zero.

    A product of (rows × inputs) weights and the inputs, one block of columns
    at a time so that each stays under ``PRODUCT_SIZE``.  The blocks' width
    comes from ``reach``, the most input rows any band reads, so that it is
    the same for every band of an image.  When the taps reach too many input
    rows for that (strong reduction), each tap is gathered, multiplied and
    added in turn instead, one float32 rounding per operation.
    """
    rows, line = out.shape
    count = index.shape[0]
    first = int(index.min())
    inputs = int(index.max()) + 1 - first
    columns = 1 << max(0, (PRODUCT_SIZE // (rows * reach)).bit_length() - 1)
    if columns < 16:
        out[count:] = 0
        spare = scratch.array("spare", (count, line))
        for k in range(index.shape[1]):
            gathered = out[:count] if k == 0 else spare
            np.take(source, index[:, k], axis=0, out=gathered, mode="clip")
            np.multiply(gathered, weights[k][:, None], out=gathered)
            if k:
                np.add(out[:count], gathered, out=out[:count])
        return
    matrix = np.zeros((rows, inputs), np.float32)
    np.add.at(matrix, (np.arange(count)[:, None], index - first), weights.T)
    inputs_rows = source[first : first + inputs]
    whole = line - line % columns
    np.matmul(
        matrix,
        inputs_rows[:, :whole].reshape(inputs, -1, columns).transpose(1, 0, 2),
        out=out[:, :whole].reshape(rows, -1, columns).transpose(1, 0, 2),
    )
    if whole < line:
        np.matmul(matrix, inputs_rows[:, whole:], out=out[:, whole:])


def resample(
    image: npt.NDArray[np.float32], out_h: int, out_w: int, kernel: str = "CUBIC"
) -> npt.NDArray[np.float32]:
    """Resize a float32 image, (h, w) or (h, w, channels), to (out_h, out_w) with a kernel."""
    taps_plan = plan(image.shape[0], image.shape[1], out_h, out_w, kernel)
    out = resample_band(np.ascontiguousarray(image), 0, taps_plan, 0, out_h, Scratch())
    return np.ascontiguousarray(np.moveaxis(out, 1, 2) if image.ndim == 3 else out)
