"""A request data set as it arrived: attributes decoded, Pixel Data left where it lies.

The network edge gathers the fragments of a DIMSE data set in one buffer (PS3.8
9.3.5 and Annex E).  That buffer is the only copy of an image the server
keeps: the print model takes a read-only view of the Pixel Data inside it, and
the transcript keeps the same buffer, already encoded in the presentation
context's transfer syntax, for the spooled job.  pydicom decodes everything
else, from a small copy with the pixel values cut out.

A data set the walker of ``order/encoded.py`` cannot follow (pydicom is more
forgiving) is decoded by pydicom and encoded again first: dearer, but read the
way pydicom reads it, as before.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from printserver.durable import map_readonly, private_open
from printserver.model.errors import InvalidValue, ResourceLimitation
from printserver.order.encoded import (
    EncodingError,
    Layout,
    PixelValue,
    TooManyElements,
    locate,
    rewrite,
)
from printserver.order.transfer_syntax import decode, decode_as, encode

Encoded = BytesIO | bytes | bytearray | memoryview
MAX_ATTRIBUTE_BYTES = 1_048_576
"""Everything of an N-SET but its pixels: a few hundred bytes in practice."""


@dataclass(frozen=True)
class ReceivedDataSet:
    """The attributes of a data set, its encoding and where its image pixels lie."""

    dataset: Dataset  # every attribute; Pixel Data of the image sequences is empty here
    encoded: memoryview  # read-only, the data set as kept for the spooled job
    syntax: str  # transfer syntax UID of ``encoded``
    layout: Layout
    file: Path | None = None  # where ``encoded`` lies on disk, once spilled
    mapping: mmap.mmap | None = None  # ``file`` mapped, when ``encoded`` is a view of it

    def spilled(self, path: Path) -> ReceivedDataSet:
        """The same data set written to ``path`` and read from there, mapped: the received
        buffer can go, and the images an association holds cost page cache, not heap (the
        file is made durable when a job links it, ``spool/store.py``)."""
        with private_open(path) as handle:
            handle.write(self.encoded)
        mapping = map_readonly(path)
        if mapping is None:
            return replace(self, file=path)
        return replace(self, encoded=memoryview(mapping), file=path, mapping=mapping)

    def unmap_pages(self) -> None:
        """Drop the pages read so far from this process (they stay in the page cache, and
        are read again when the film is rendered)."""
        if self.mapping is not None:
            self.mapping.madvise(mmap.MADV_DONTNEED)

    def discard(self) -> None:
        """Remove the spilled file; a mapping of it stays readable until it is dropped."""
        if self.file is not None:
            self.file.unlink(missing_ok=True)

    @property
    def implicit_vr(self) -> bool:
        return bool(UID(self.syntax).is_implicit_VR)

    @property
    def little_endian(self) -> bool:
        return bool(UID(self.syntax).is_little_endian)

    def pixels(self, keyword: str) -> tuple[PixelValue, ...]:
        sequence = self.layout.sequence(keyword)
        return sequence.pixels if sequence is not None else ()

    def pixel_data(self, keyword: str) -> memoryview | None:
        """The Pixel Data value of the first item of ``keyword``, in place; None if absent."""
        first = next((value for value in self.pixels(keyword) if value.item == 0), None)
        if first is None:
            return None
        return self.encoded[first.start : first.start + first.length]

    def trimmed(self, keyword: str, keep: int) -> ReceivedDataSet:
        """The same data set with the first item's Pixel Data cut to ``keep`` bytes and the
        Pixel Data of any further item cut to nothing: the excess is not kept anywhere."""
        cuts = [
            (value.start + (keep if value.item == 0 else 0), value.start + value.length)
            for value in self.pixels(keyword)
        ]
        return self._rebuilt(
            rewrite(self.encoded, cuts, self.layout.fields, little=self.little_endian), self.dataset
        )

    def without_images(self) -> ReceivedDataSet:
        """The same data set with empty image sequences: what is left of an N-SET whose
        image a later N-SET replaced (the replay erases, then sets the new image)."""
        cuts = [(sequence.items_start, sequence.items_end) for sequence in self.layout.sequences]
        fields = tuple(s.field for s in self.layout.sequences if s.field is not None)
        encoded = rewrite(self.encoded, cuts, fields, little=self.little_endian)
        return self._rebuilt(encoded, None)

    def _rebuilt(self, encoded: bytearray, dataset: Dataset | None) -> ReceivedDataSet:
        view = memoryview(encoded).toreadonly()
        layout = locate(view, implicit=self.implicit_vr, little=self.little_endian)
        if dataset is None:
            dataset = _attributes(view, layout, self.implicit_vr, self.little_endian)
        return ReceivedDataSet(dataset, view, self.syntax, layout)


def _attributes(data: memoryview, layout: Layout, implicit: bool, little: bool) -> Dataset:
    """pydicom's reading of everything but the image pixels (PS3.5 7.1)."""
    cuts = [
        (value.start, value.start + value.length)
        for sequence in layout.sequences
        for value in sequence.pixels
    ]
    header = rewrite(data, cuts, layout.fields, little=little)
    try:
        dataset = decode(header, implicit=implicit, little=little)
    except Exception as exc:  # pydicom's word on a malformed data set: the client gets 0x0106
        raise InvalidValue(f"the data set cannot be decoded: {exc}") from None
    return dataset


def _view(stream: Encoded | None) -> memoryview:
    if stream is None:
        return memoryview(b"")
    if isinstance(stream, BytesIO):
        return stream.getbuffer().toreadonly()  # the buffer the network edge filled, not a copy
    return memoryview(stream).toreadonly()


def receive(stream: Encoded | None, syntax: str) -> ReceivedDataSet:
    """Read a request data set received in transfer syntax ``syntax`` without copying it."""
    return _read(_view(stream), UID(syntax))[0]


def receive_spilled(path: Path, syntax: str) -> ReceivedDataSet:
    """Read a data set that was written to ``path`` as it arrived, in place from a mapping
    of the file: its pixels are read once, when the film is rendered."""
    mapping = map_readonly(path)
    if mapping is None:
        path.unlink(missing_ok=True)
        return receive(None, syntax)
    try:
        received, in_place = _read(memoryview(mapping).toreadonly(), UID(syntax))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not in_place:  # read another way and encoded again: the file is not what is kept
        path.unlink(missing_ok=True)
        return received
    return replace(received, file=path, mapping=mapping)


def _read(data: memoryview, uid: UID) -> tuple[ReceivedDataSet, bool]:
    """The data set, and True when it is ``data`` itself (False: pydicom re-encoded it)."""
    implicit, little = bool(uid.is_implicit_VR), bool(uid.is_little_endian)
    try:
        layout = None if uid.is_deflated else locate(data, implicit=implicit, little=little)
    except EncodingError:
        layout = None
    except TooManyElements as exc:
        raise ResourceLimitation(str(exc)) from None
    if layout is None:
        if len(data) > MAX_ATTRIBUTE_BYTES:  # pydicom would read it all, pixels and garbage
            raise ResourceLimitation("a data set this large must be a plain encoding")
        return _normalised(data, uid), False
    pixels = sum(value.length for sequence in layout.sequences for value in sequence.pixels)
    if len(data) - pixels > MAX_ATTRIBUTE_BYTES:
        raise ResourceLimitation(f"over {MAX_ATTRIBUTE_BYTES >> 10} KiB of attributes")
    attributes = _attributes(data, layout, implicit, little)
    return ReceivedDataSet(attributes, data, str(uid), layout), True


def _normalised(data: memoryview, uid: UID) -> ReceivedDataSet:
    """pydicom's reading of an unusual encoding, encoded again the way pydicom writes."""
    target = ImplicitVRLittleEndian if uid.is_implicit_VR else ExplicitVRLittleEndian
    try:
        dataset = decode_as(data, uid)
        encoded = encode(dataset, implicit=bool(target.is_implicit_VR), little=True)
        view = memoryview(encoded).toreadonly()
        layout = locate(view, implicit=bool(target.is_implicit_VR), little=True)
    except Exception as exc:  # whatever pydicom makes of garbage, the client gets 0x0106
        raise InvalidValue(f"the data set cannot be decoded: {exc}") from None
    return ReceivedDataSet(
        _attributes(view, layout, bool(target.is_implicit_VR), True), view, str(target), layout
    )
