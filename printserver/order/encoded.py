"""Where the Pixel Data of an Image Box N-SET lies in the bytes that arrived (PS3.5 7.1, 7.5).

An N-SET of a 100 MB image arrives as one 100 MB data set.  Decoding it with
pydicom copies Pixel Data into a new bytes object, and a sequence of defined
length is even read twice.  Here only the element headers are read: the
Image Box's image sequence is walked item by item and the position of each
item's Pixel Data value is noted, everything else is skipped by its length.
Nothing is copied, so the model can take a view of the pixels in place.

:func:`rewrite` makes a new encoding with byte ranges of those values cut out
and the lengths of the enclosing item and sequence corrected: the attributes
without their pixels (small, for pydicom), or an image without trailing excess.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

IMAGE_SEQUENCES = {0x20200110: "BasicGrayscaleImageSequence", 0x20200111: "BasicColorImageSequence"}
"""PS3.4 Tables H.4-10 and H.4-11: the sequences that carry an Image Box's pixels."""
PIXEL_DATA = 0x7FE00010
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
"""Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 Table 7.1-1)."""
MAX_DEPTH = 16
"""Nesting allowed in what is skipped; print data sets nest two or three levels."""


MAX_ELEMENTS = 10_000
"""Element headers read in one data set; an Image Box N-SET has a few dozen.  Millions of
tiny elements would cost the walker, and pydicom after it, far more than their bytes."""


class EncodingError(ValueError):
    """The bytes are not a data set this walker can follow (pydicom may still read them)."""


class TooManyElements(ValueError):
    """More elements than any print request holds: refused, not handed on to pydicom."""


@dataclass(frozen=True)
class LengthField:
    """The length of a sequence, item or element whose value is ``start:end``."""

    at: int
    size: int  # 2 or 4 bytes
    start: int
    end: int


@dataclass(frozen=True)
class PixelValue:
    """The Pixel Data value of item ``item`` of an image sequence."""

    item: int
    field: LengthField

    @property
    def start(self) -> int:
        return self.field.start

    @property
    def length(self) -> int:
        return self.field.end - self.field.start


@dataclass(frozen=True)
class ImageSequence:
    """An image sequence: its items lie in ``items_start:items_end``."""

    keyword: str
    field: LengthField | None  # None: undefined length
    items_start: int
    items_end: int
    pixels: tuple[PixelValue, ...]
    item_fields: tuple[LengthField, ...]  # the items of defined length


@dataclass(frozen=True)
class Layout:
    """The image sequences of a data set and where their pixels lie."""

    sequences: tuple[ImageSequence, ...]

    def sequence(self, keyword: str) -> ImageSequence | None:
        return next((s for s in self.sequences if s.keyword == keyword), None)

    @property
    def fields(self) -> tuple[LengthField, ...]:
        """Every length a cut inside an image sequence may have to shorten."""
        found: list[LengthField] = []
        for sequence in self.sequences:
            if sequence.field is not None:
                found.append(sequence.field)
            found += sequence.item_fields
            found += [pixel.field for pixel in sequence.pixels]
        return tuple(found)


class _Walker:
    def __init__(self, data: memoryview, implicit: bool, little: bool) -> None:
        self.data, self.implicit = data, implicit
        self.order = "<" if little else ">"
        self.count = 0

    def _unpack(self, fmt: str, at: int) -> int:
        size = struct.calcsize(self.order + fmt)
        if at < 0 or at + size > len(self.data):
            raise EncodingError(f"data set ends within an element header at {at}")
        value: int = struct.unpack_from(self.order + fmt, self.data, at)[0]
        return value

    def header(self, at: int) -> tuple[int, LengthField, int]:
        """Tag, length field and raw length of the element (or item) starting at ``at``."""
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise TooManyElements(f"the data set holds over {MAX_ELEMENTS} elements")
        tag = self._unpack("H", at) << 16 | self._unpack("H", at + 2)
        if self.implicit or tag >> 16 == 0xFFFE:  # items and delimiters never have a VR
            at_length, size = at + 4, 4
        else:
            vr = bytes(self.data[at + 4 : at + 6])
            at_length, size = (at + 8, 4) if vr in LONG_VRS else (at + 6, 2)
        length = self._unpack("L" if size == 4 else "H", at_length)
        start = at_length + size
        end = start if length == UNDEFINED else start + length
        if end > len(self.data):
            raise EncodingError(f"element {tag:08X} claims {length} bytes past the end")
        return tag, LengthField(at_length, size, start, end), length

    def skip_items(self, at: int, depth: int) -> int:
        """Past the items of an undefined length value and its sequence delimiter."""
        if depth > MAX_DEPTH:
            raise EncodingError("sequences nested too deeply")
        while True:
            tag, field, length = self.header(at)
            if tag == SEQUENCE_END:
                return field.start
            if tag != ITEM:
                raise EncodingError(f"{tag:08X} where an item was expected")
            at = self.elements(field.start, None, depth + 1) if length == UNDEFINED else field.end

    def elements(
        self, at: int, end: int | None, depth: int, found: list[LengthField] | None = None
    ) -> int:
        """Past the elements from ``at`` to ``end`` (or to an item delimiter when None).

        The Pixel Data value met at this level goes into ``found``.
        """
        while end is None or at < end:
            tag, field, length = self.header(at)
            if tag == ITEM_END and end is None:
                return field.start
            if tag >> 16 == 0xFFFE:
                raise EncodingError(f"delimiter {tag:08X} inside a data set")
            if found is not None and tag == PIXEL_DATA and length != UNDEFINED:
                if found:
                    raise EncodingError("Pixel Data twice in one item")
                found.append(field)
            at = self.skip_items(field.start, depth + 1) if length == UNDEFINED else field.end
        if end is None:
            raise EncodingError("item without its delimiter")
        if at != end:
            raise EncodingError("an element runs past the end of its item")
        return at

    def image_sequence(
        self, keyword: str, field: LengthField, length: int
    ) -> tuple[ImageSequence, int]:
        """The sequence, and where the next element begins."""
        at = field.start
        end = None if length == UNDEFINED else field.end
        pixels: list[PixelValue] = []
        item_fields: list[LengthField] = []
        index = 0
        while end is None or at < end:
            tag, item, item_length = self.header(at)
            if tag == SEQUENCE_END and end is None:
                return ImageSequence(
                    keyword, None, field.start, at, tuple(pixels), tuple(item_fields)
                ), item.start
            if tag != ITEM:
                raise EncodingError(f"{tag:08X} where an image item was expected")
            found: list[LengthField] = []
            if item_length == UNDEFINED:
                at = self.elements(item.start, None, 2, found)
            else:
                item_fields.append(item)
                at = self.elements(item.start, item.end, 2, found)
            pixels += [PixelValue(index, pixel) for pixel in found]
            index += 1
        if end is None or at != end:
            raise EncodingError("image sequence without its end")
        return ImageSequence(
            keyword, field, field.start, end, tuple(pixels), tuple(item_fields)
        ), end


def locate(data: memoryview, *, implicit: bool, little: bool) -> Layout:
    """The image sequences of the data set ``data`` and where their Pixel Data lies."""
    walker = _Walker(data, implicit, little)
    sequences: list[ImageSequence] = []
    at = 0
    while at < len(data):
        tag, field, length = walker.header(at)
        if tag >> 16 == 0xFFFE:
            raise EncodingError(f"delimiter {tag:08X} at the top level")
        if tag in IMAGE_SEQUENCES:
            keyword = IMAGE_SEQUENCES[tag]
            if any(sequence.keyword == keyword for sequence in sequences):
                raise EncodingError(f"{keyword} twice")
            sequence, at = walker.image_sequence(keyword, field, length)
            sequences.append(sequence)
        else:
            at = walker.skip_items(field.start, 1) if length == UNDEFINED else field.end
    return Layout(tuple(sequences))


def rewrite(
    data: memoryview, cuts: list[tuple[int, int]], fields: tuple[LengthField, ...], *, little: bool
) -> bytearray:
    """``data`` without the byte ranges ``cuts``, every length in ``fields`` shortened by
    what was cut from its value.  Cuts lie inside values, never across a length field."""
    cuts = sorted((start, end) for start, end in cuts if end > start)
    out = bytearray(len(data) - sum(end - start for start, end in cuts))
    position = written = 0
    for start, end in cuts:
        out[written : written + start - position] = data[position:start]
        written += start - position
        position = end
    out[written:] = data[position:]
    order = "<" if little else ">"
    for field in fields:
        removed = sum(max(0, min(end, field.end) - max(start, field.start)) for start, end in cuts)
        if not removed:
            continue
        shift = sum(end - start for start, end in cuts if end <= field.at)
        fmt = order + ("L" if field.size == 4 else "H")
        struct.pack_into(fmt, out, field.at - shift, field.end - field.start - removed)
    return out
