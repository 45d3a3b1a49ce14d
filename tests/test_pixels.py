"""Pixel decoding of image box sequences (PS3.4 H.4.3.1.2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from printserver.render.pixels import PixelDataError, decode_color, decode_grayscale


def test_12_bit_in_16_masks_high_bits() -> None:
    values = np.array([[0, 4095], [0xF123, 2048]], dtype="<u2")
    out = decode_grayscale(values.tobytes(), rows=2, columns=2, bits_allocated=16, bits_stored=12)
    assert out.dtype == np.uint16
    assert out.tolist() == [[0, 4095], [0x123, 2048]]


def test_8_bit_ignores_padding_byte() -> None:
    data = bytes([1, 2, 3, 0])  # 3 pixels padded to even length
    out = decode_grayscale(data, rows=1, columns=3, bits_allocated=8, bits_stored=8)
    assert out.tolist() == [[1, 2, 3]]


def test_signed_is_offset_so_lowest_stays_darkest() -> None:
    values = np.array([-2048, 0, 2047], dtype="<i2").view("<u2")
    out = decode_grayscale(
        values.tobytes(), rows=1, columns=3, bits_allocated=16, bits_stored=12, signed=True
    )
    assert out.tolist() == [[0, 2048, 4095]]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"bits_allocated": 16, "bits_stored": 20}, "Bits Stored 20"),
        ({"bits_allocated": 8, "bits_stored": 12}, "Bits Stored 12"),
        ({"bits_allocated": 32, "bits_stored": 12}, "Bits Allocated 32"),
    ],
)
def test_rejects_impossible_pixel_modules(kwargs: dict[str, int], words: str) -> None:
    with pytest.raises(PixelDataError, match=words):
        decode_grayscale(bytes(8), rows=2, columns=2, **kwargs)


def test_rejects_short_pixel_data() -> None:
    with pytest.raises(PixelDataError, match="holds 6 bytes"):
        decode_grayscale(bytes(6), rows=2, columns=2, bits_allocated=16, bits_stored=12)


def test_exact_data_is_a_read_only_view_not_a_copy() -> None:
    received = bytearray(np.array([[0, 4095], [17, 2048]], dtype="<u2").tobytes())
    out = decode_grayscale(
        memoryview(received), rows=2, columns=2, bits_allocated=16, bits_stored=12
    )
    assert np.shares_memory(out, np.frombuffer(received, np.uint8))
    assert not out.flags.writeable and out.tolist() == [[0, 4095], [17, 2048]]
    eight = decode_grayscale(
        bytes([1, 2, 3, 0]), rows=1, columns=3, bits_allocated=8, bits_stored=8
    )
    assert eight.dtype == np.uint8 and eight.base is not None


def test_colour_by_plane_is_a_strided_view() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = rgb.transpose(2, 0, 1).tobytes()
    out = decode_color(data, rows=2, columns=3, planar_configuration=1)
    assert np.array_equal(out, rgb)
    assert np.shares_memory(out, np.frombuffer(data, np.uint8))
