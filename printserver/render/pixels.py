"""Decode the native pixel data of Basic Grayscale and Color Image Sequence items.

The print SCP receives pixels inside an N-SET, not in a file, so pydicom's
``pixel_array`` (which wants file meta information) is bypassed: the bytes are
read with numpy in the byte order of the presentation context (PS3.5 8.1.1 and
PS3.4 H.4.3.1.2.1).  Bits above Bits Stored are masked off because modalities
may leave overlay bits or garbage there.

The result is a read-only view of the received bytes whenever that is exact:
8 or 16 bits in the machine's byte order, unsigned, nothing above Bits Stored
(one pass of ``max`` finds out).  Only data that needs masking, an offset for
signed values or a byte swap is copied.  A large image thus costs its size
once, not two or three times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class PixelDataError(ValueError):
    """The pixel module describes data that cannot be decoded as a grayscale image."""


def decode_grayscale(
    data: bytes | memoryview,
    *,
    rows: int,
    columns: int,
    bits_allocated: int,
    bits_stored: int,
    signed: bool = False,
    big_endian: bool = False,
) -> npt.NDArray[np.uint16] | npt.NDArray[np.uint8]:
    """Return a (rows, columns) array of unsigned stored values below 2**bits_stored.

    8 bits allocated carries 1..8 bits stored, 16 allocated carries 9..16 (the
    standard's 8/8 and 16/12, plus what real modalities send).  Signed data is
    offset by half the range so that the lowest value stays the darkest.
    """
    if rows <= 0 or columns <= 0:
        raise PixelDataError(f"Rows {rows} and Columns {columns} must be positive")
    if bits_allocated == 8:
        valid = 1 <= bits_stored <= 8
        dtype: np.dtype[Any] = np.dtype(np.uint8)
    elif bits_allocated == 16:
        valid = 9 <= bits_stored <= 16
        dtype = np.dtype(">u2" if big_endian else "<u2")
    else:
        raise PixelDataError(f"Bits Allocated {bits_allocated} is not 8 or 16")
    if not valid:
        raise PixelDataError(
            f"Bits Stored {bits_stored} does not fit Bits Allocated {bits_allocated}"
        )
    count = rows * columns
    needed = count * dtype.itemsize
    if len(data) < needed:
        raise PixelDataError(
            f"Pixel Data holds {len(data)} bytes; {rows}x{columns} at {bits_allocated} bits "
            f"needs {needed}"
        )
    view = np.frombuffer(data, dtype=dtype, count=count)
    view.flags.writeable = False
    top = (1 << bits_stored) - 1
    native = dtype.isnative or dtype.itemsize == 1
    if native and not signed and (bits_stored == 8 * dtype.itemsize or int(view.max()) <= top):
        return view.reshape(rows, columns)
    samples = view.astype(np.uint16)
    samples &= np.uint16(top)
    if signed:  # two's complement -> offset binary
        samples ^= np.uint16(1 << (bits_stored - 1))
    return samples.reshape(rows, columns)


def decode_color(
    data: bytes | memoryview, *, rows: int, columns: int, planar_configuration: int
) -> npt.NDArray[np.uint8]:
    """Return (rows, columns, 3) RGB bytes from a Basic Color Image Sequence item.

    PS3.4 H.4.4 asks for Planar Configuration 1 (all R, then G, then B), but
    many clients send 0 (RGBRGB…); the value actually sent decides (PS3.4 H.4.4.1.2.1).
    Either way the result is a read-only view of ``data`` (by plane: strided).
    """
    if rows <= 0 or columns <= 0:
        raise PixelDataError(f"Rows {rows} and Columns {columns} must be positive")
    if planar_configuration not in (0, 1):
        raise PixelDataError(f"Planar Configuration {planar_configuration} is not 0 or 1")
    count = rows * columns * 3
    if len(data) < count:
        raise PixelDataError(
            f"Pixel Data holds {len(data)} bytes; {rows}x{columns} RGB needs {count}"
        )
    samples = np.frombuffer(data, dtype=np.uint8, count=count)
    samples.flags.writeable = False
    if planar_configuration == 1:
        return samples.reshape(3, rows, columns).transpose(1, 2, 0)
    return samples.reshape(rows, columns, 3)
