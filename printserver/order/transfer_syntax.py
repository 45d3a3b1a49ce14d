"""Data sets to and from their bytes in a transfer syntax (PS3.5 7, 10): implicit or
explicit VR, little or big endian, and Deflated Explicit VR Little Endian (PS3.5 A.5,
a raw deflate stream padded to even length).

pydicom does the element encoding; this module is the one place that names its reader and
writer, for the order layer and the network edge alike.
"""

from __future__ import annotations

import zlib
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.uid import UID


def decode(
    data: bytes | bytearray | memoryview, *, implicit: bool, little: bool, deflated: bool = False
) -> Dataset:
    """The data set ``data`` encodes; pydicom's exceptions for what it cannot read."""
    if deflated:
        data = zlib.decompress(bytes(data), -zlib.MAX_WBITS)
        implicit, little = False, True
    return read_dataset(BytesIO(data), implicit, little)


def encode(dataset: Dataset, *, implicit: bool, little: bool, deflated: bool = False) -> bytes:
    """``dataset`` in the encoding asked for; pydicom's exceptions for what it cannot write."""
    out = DicomBytesIO()
    out.is_implicit_VR = implicit and not deflated
    out.is_little_endian = little or deflated
    write_dataset(out, dataset)
    encoded = out.getvalue()
    if not deflated:
        return encoded
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    packed = packer.compress(encoded) + packer.flush()
    return packed + b"\x00" if len(packed) % 2 else packed


def decode_as(data: bytes | bytearray | memoryview, syntax: str) -> Dataset:
    """:func:`decode` in the encoding the transfer syntax UID ``syntax`` names."""
    uid = UID(syntax)
    implicit, little = bool(uid.is_implicit_VR), bool(uid.is_little_endian)
    return decode(data, implicit=implicit, little=little, deflated=bool(uid.is_deflated))


def encode_as(dataset: Dataset, syntax: str) -> bytes:
    """:func:`encode` in the encoding the transfer syntax UID ``syntax`` names."""
    uid = UID(syntax)
    implicit, little = bool(uid.is_implicit_VR), bool(uid.is_little_endian)
    return encode(dataset, implicit=implicit, little=little, deflated=bool(uid.is_deflated))
