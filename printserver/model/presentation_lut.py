"""Presentation LUT SOP instances (PS3.4 H.4.9, PS3.3 C.11.4).

An SCU creates them on the association and references them from film boxes,
image boxes (and, before CP-173, the film session).  A LUT is either a shape or
an explicit table; the table must map the whole stored range from value 0 with
entries of 8 to 16 bits.  A lenient printer takes any table size (the renderer
interpolates); a strict one only the 256 and 4096 entries of 8 and 12-bit
images (PS3.4 H.4.9, PS3.3 C.11.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from printserver.model.errors import InvalidValue, MissingAttribute
from printserver.render.sheet import PRESENTATION_LUT_SHAPES, PresentationLut

STRICT_ENTRIES = (256, 4096)
TABLE_BITS = range(8, 17)


@dataclass(frozen=True)
class PresentationLutRequest:
    """The attributes of a Presentation LUT N-CREATE, read from the data set."""

    shape: str | None = None
    has_sequence: bool = False
    descriptor: tuple[int, ...] | None = None
    data: npt.NDArray[np.uint16] | None = None


@dataclass(frozen=True)
class PresentationLutInstance:
    """A Presentation LUT created on this association."""

    uid: str
    lut: PresentationLut

    @property
    def entries(self) -> int | None:
        return None if self.lut.table is None else len(self.lut.table)


def create_presentation_lut(
    uid: str, request: PresentationLutRequest, *, strict: bool
) -> PresentationLutInstance:
    """Validate an N-CREATE (PS3.4 H.4.9.1.2.1): a shape xor an explicit table."""
    if request.shape and request.has_sequence:
        raise InvalidValue("give Presentation LUT Shape or Presentation LUT Sequence, not both")
    if request.shape:
        if request.shape not in PRESENTATION_LUT_SHAPES:
            raise InvalidValue(
                f"Presentation LUT Shape {request.shape!r} is not one of "
                f"{', '.join(PRESENTATION_LUT_SHAPES)}"
            )
        return PresentationLutInstance(uid, PresentationLut(shape=request.shape))
    if not request.has_sequence:
        raise MissingAttribute("Presentation LUT Shape or Presentation LUT Sequence is required")
    return PresentationLutInstance(uid, _table(request, strict))


def _table(request: PresentationLutRequest, strict: bool) -> PresentationLut:
    if request.descriptor is None or len(request.descriptor) != 3:
        raise MissingAttribute("LUT Descriptor (three values) is required")
    if request.data is None:
        raise MissingAttribute("LUT Data is required")
    entries, first, bits = request.descriptor
    entries = entries or 65536  # PS3.3 C.11.1.1: 0 means 2^16 entries
    if first != 0:
        raise InvalidValue(f"LUT Descriptor first value mapped {first} must be 0 for print")
    if bits not in TABLE_BITS:
        raise InvalidValue(f"LUT Descriptor bits {bits} is not 8..16")
    if strict and entries not in STRICT_ENTRIES:
        raise InvalidValue(f"LUT Descriptor entries {entries} is not 256 or 4096")
    if entries < 2:
        raise InvalidValue(f"LUT Descriptor entries {entries} is too few")
    if len(request.data) != entries:
        raise InvalidValue(f"LUT Data has {len(request.data)} values, the descriptor {entries}")
    if int(request.data.max()) >= 1 << bits:
        raise InvalidValue(f"LUT Data holds values above {bits} bits")
    return PresentationLut(shape="TABLE", table=request.data.astype(np.uint16), table_bits=bits)
