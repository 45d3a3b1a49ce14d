"""Inputs for the fuzz run of tests/test_fuzz.py: mutated PDUs and mutated print requests.

Everything is drawn from one ``random.Random``, so one seed always gives the same inputs.
Data sets are encoded here, element by element, instead of by pydicom: a fuzzed value may
be of the wrong type, length or VR, which pydicom (and pynetdicom's SCU) would refuse to
write.  Values that depend on the server (the Film Session UID, an Image Box UID) are
:class:`Ref` placeholders, filled in when the request is sent.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydicom.datadict import dictionary_VR, tag_for_keyword

from tests.hostile_peer import associate_rq, pdu_header

VERIFICATION = "1.2.840.10008.1.1"
FILM_SESSION = "1.2.840.10008.5.1.1.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
GRAY_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
COLOR_IMAGE_BOX = "1.2.840.10008.5.1.1.4.1"
GRAY_META = "1.2.840.10008.5.1.1.9"
PRINT_JOB = "1.2.840.10008.5.1.1.14"
ANNOTATION_BOX = "1.2.840.10008.5.1.1.15"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
PRINTER_CONFIGURATION = "1.2.840.10008.5.1.1.16.376"
COLOR_META = "1.2.840.10008.5.1.1.18"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"

N_GET, N_SET, N_ACTION, N_CREATE, N_DELETE, C_ECHO = 0x0110, 0x0120, 0x0130, 0x0140, 0x0150, 0x30
OPERATIONS = {
    N_GET: "N-GET",
    N_SET: "N-SET",
    N_ACTION: "N-ACTION",
    N_CREATE: "N-CREATE",
    N_DELETE: "N-DELETE",
    C_ECHO: "C-ECHO",
}

PIXEL_BUDGET = 65536
"""Largest Pixel Data sent in one N-SET: keeps the run fast (huge Rows/Columns come with less)."""

NAMES = {
    PRINTER: "Printer",
    PRINTER_CONFIGURATION: "Printer Configuration",
    PRINT_JOB: "Print Job",
    FILM_BOX: "Film Box",
}
INJECTIONS = (
    ")",
    "(",
    "\\",
    ") show (",
    "\n%%EOF\n",
    "{1 exch sub} settransfer",
    "%!PS-Adobe-3.0\n",
    "showpage quit",
    "%%Page: 2 2\n",
    "\r\n%%Trailer\n",
    "(x) 9999999 string",
    "\x04",
    "$(reboot)",
    "'; DROP TABLE jobs; --",
    "../../../../etc/passwd",
    "%s%s%s%n",
    "\x1b[2J",
)
NUMBERS = (
    "0",
    "-1",
    "1",
    "65535",
    "65536",
    "-32769",
    "2147483648",
    "-2147483649",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-308",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e400",
    "0x10",
    "1.5",
    "1,5",
    " 7 ",
    "+3",
    "00000000000000000001",
    "9" * 40,
    "7" * 400,
)
INTEGERS = (
    0,
    1,
    2,
    -1,
    -32768,
    255,
    256,
    4095,
    4096,
    32767,
    32768,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**63,
    -(2**63),
)
UNICODE = ("²", "¹²", "١٢٣", "Ⅻ", "\u200b", "\ufeff", "ÿ", "日本語", "\U0001f4a9", "\ud800")
CONTROL = "".join(chr(c) for c in (*range(0, 32), 127))

Maker = TypeVar("Maker")


def weighted(rng: random.Random, makers: list[tuple[int, Maker]]) -> Maker:
    """One of ``makers``, drawn in proportion to its weight."""
    roll = rng.randrange(sum(weight for weight, _ in makers))
    for weight, maker in makers:
        if roll < weight:
            return maker
        roll -= weight
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Ref:
    """A value known only at run time: ``session``, ``film_box``, ``image_box``, ``lut`` …"""

    name: str


@dataclass(frozen=True)
class Seq:
    """A sequence value; ``items`` are element lists or raw item bytes."""

    items: tuple[Elements | bytes, ...]
    undefined_length: bool = False


Element = tuple[int, str, Any]  # tag, VR written in explicit VR, value
Elements = list[Element]


# encoding --------------------------------------------------------------------------------------

LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
BINARY = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "AT": "L"}


def vr_of(keyword: str) -> str:
    vr = dictionary_VR(keyword)
    return {"OB or OW": "OW", "US or OW": "US", "US or SS": "US"}.get(vr, vr)


def elem(keyword: str, value: Any, vr: str | None = None) -> Element:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return (tag, vr or vr_of(keyword), value)


def value_bytes(vr: str, value: Any, refs: Callable[[str], str]) -> bytes:
    """The bytes of one value: whatever Python type it is, whatever the VR says."""
    if isinstance(value, Ref):
        value = refs(value.name)
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, list | tuple):
        if vr in BINARY:
            return b"".join(value_bytes(vr, item, refs) for item in value)
        return value_bytes(vr, "\\".join(str(item) for item in value), refs)
    if isinstance(value, bool | int) and vr in BINARY:
        code = BINARY[vr]
        size = struct.calcsize("<" + code)
        for fmt in ("<" + code, "<" + code.swapcase()):
            try:
                return struct.pack(fmt, value)
            except struct.error:
                continue
        return (value % (1 << 64)).to_bytes(8, "little") if size < 8 else b"\xff" * size
    if isinstance(value, float) and vr in ("FL", "FD"):
        return struct.pack("<" + BINARY[vr], value)
    text = str(value)
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return data


def encode(elements: Elements, *, explicit: bool, refs: Callable[[str], str]) -> bytes:
    """Little endian, implicit or explicit VR, in the order given (tags sorted by the caller)."""
    out = bytearray()
    for tag, vr, value in elements:
        group, element = tag >> 16, tag & 0xFFFF
        undefined = isinstance(value, Seq) and value.undefined_length
        if isinstance(value, Seq):
            data = b"".join(_item(item, explicit, refs) for item in value.items)
            if undefined:
                data += struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
        else:
            data = value_bytes(vr, value, refs)
        length = 0xFFFFFFFF if undefined else len(data)
        out += struct.pack("<HH", group, element)
        if not explicit:
            out += struct.pack("<L", length)
        elif vr in LONG_VRS or len(vr) != 2:
            out += vr[:2].encode("latin-1").ljust(2, b"?") + b"\x00\x00" + struct.pack("<L", length)
        else:
            out += vr.encode("latin-1") + struct.pack("<H", length & 0xFFFF)
        out += data
    return bytes(out)


def _item(item: Elements | bytes, explicit: bool, refs: Callable[[str], str]) -> bytes:
    data = item if isinstance(item, bytes) else encode(item, explicit=explicit, refs=refs)
    return struct.pack("<HHL", 0xFFFE, 0xE000, len(data)) + data


def sorted_elements(elements: Elements) -> Elements:
    return sorted(elements, key=lambda element: element[0])


# value mutations -----------------------------------------------------------------------------


def _long_text(rng: random.Random) -> str:
    length = rng.choice((64, 65, 257, 1024, 4096))
    alphabet = rng.choice(("A", "0123456789", "ABC\\", " ", "()\\%{}", "x.y,z"))
    return "".join(rng.choice(alphabet) for _ in range(length))


def _control_text(rng: random.Random, base: str) -> str:
    chars = list(base or "X")
    for _ in range(rng.randint(1, 4)):
        chars.insert(rng.randint(0, len(chars)), rng.choice(CONTROL))
    return "".join(chars)


def mutate_value(rng: random.Random, vr: str, valid: Sequence[Any]) -> tuple[Any, str, str]:
    """A mutated value for an attribute of ``vr``: (value, VR to write, what was done)."""
    base = rng.choice(valid) if valid else ""
    kinds = [
        "valid",
        "empty",
        "long",
        "control",
        "injection",
        "number",
        "unicode",
        "multi",
        "bytes",
        "wrong-vr",
        "lower",
        "padded",
    ]
    kind = rng.choice(kinds)
    if kind == "valid":
        return base, vr, "valid"
    if kind == "empty":
        return rng.choice((None, "", " ", "\x00")), vr, "empty"
    if kind == "long":
        return _long_text(rng), vr, "long"
    if kind == "control":
        return _control_text(rng, str(base)), vr, "control"
    if kind == "injection":
        return rng.choice(INJECTIONS), vr, "injection"
    if kind == "number":
        if vr in BINARY:
            return rng.choice(INTEGERS), vr, "number"
        return rng.choice(NUMBERS), vr, "number"
    if kind == "unicode":
        return rng.choice(UNICODE) + rng.choice(("", str(base))), vr, "unicode"
    if kind == "multi":
        count = rng.choice((2, 3, 17))
        return [rng.choice(valid) if valid else "1" for _ in range(count)], vr, "multi"
    if kind == "bytes":
        return rng.randbytes(rng.choice((1, 2, 3, 5, 8, 9, 64))), vr, "bytes"
    if kind == "wrong-vr":
        other = rng.choice(
            ("US", "SS", "UL", "FD", "DS", "IS", "CS", "LO", "SQ", "OB", "UN", "AT", "XX")
        )
        value: Any = rng.choice(valid) if valid else 1
        if other == "SQ":
            value = Seq(([elem("PatientID", "1")],))
        elif other in BINARY and not isinstance(value, int):
            value = rng.choice(INTEGERS)
        return value, other, "wrong-vr"
    if kind == "lower":
        return str(base).lower(), vr, "lower"
    return f"  {base}  ", vr, "padded"


def describe(value: Any) -> str:
    if isinstance(value, bytes):
        return f"bytes[{len(value)}]"
    if isinstance(value, Seq):
        return f"Seq[{len(value.items)}]"
    if isinstance(value, Ref):
        return f"<{value.name}>"
    text = repr(value)
    return text if len(text) <= 48 else f"{text[:40]}…({len(text)})"


# print requests -----------------------------------------------------------------------------

SESSION_VALUES: dict[str, list[Any]] = {
    "NumberOfCopies": ["1", "2", "99"],
    "PrintPriority": ["HIGH", "MED", "LOW"],
    "MediumType": ["PAPER", "CLEAR FILM", "BLUE FILM"],
    "FilmDestination": ["MAGAZINE", "PROCESSOR", "BIN_1"],
    "FilmSessionLabel": ["FUZZ"],
    "MemoryAllocation": ["0", "100"],
    "OwnerID": ["OWNER"],
    "Illumination": [2000, 150],
    "ReflectedAmbientLight": [10, 0],
}
FILM_BOX_VALUES: dict[str, list[Any]] = {
    "ImageDisplayFormat": ["STANDARD\\1,1", "STANDARD\\2,2", "ROW\\1,2", "COL\\2,1", "SLIDE"],
    "FilmOrientation": ["PORTRAIT", "LANDSCAPE"],
    "FilmSizeID": ["8INX10IN", "14INX17IN", "A4", "24CMX30CM"],
    "MagnificationType": ["REPLICATE", "BILINEAR", "CUBIC", "NONE"],
    "SmoothingType": ["NONE", "SHARP", "SMOOTH"],
    "BorderDensity": ["BLACK", "WHITE", "150"],
    "EmptyImageDensity": ["BLACK", "WHITE", "20"],
    "MinDensity": [20, 50],
    "MaxDensity": [300, 320],
    "Trim": ["YES", "NO"],
    "ConfigurationInformation": [""],
    "RequestedResolutionID": ["STANDARD", "HIGH"],
    "Illumination": [2000],
    "ReflectedAmbientLight": [10],
    "AnnotationDisplayFormatID": ["LABEL", "CORNERS"],
}
IMAGE_BOX_VALUES: dict[str, list[Any]] = {
    "Polarity": ["NORMAL", "REVERSE"],
    "MagnificationType": ["REPLICATE", "CUBIC", "NONE"],
    "SmoothingType": ["SHARP"],
    "MinDensity": [20],
    "MaxDensity": [300],
    "ConfigurationInformation": [""],
    "RequestedImageSize": ["50", "200.5"],
    "RequestedDecimateCropBehavior": ["DECIMATE", "CROP", "FAIL"],
}
PIXEL_MODULE: dict[str, list[Any]] = {
    "SamplesPerPixel": [1],
    "PhotometricInterpretation": ["MONOCHROME2", "MONOCHROME1"],
    "Rows": [8, 16],
    "Columns": [8, 16],
    "BitsAllocated": [16, 8],
    "BitsStored": [12, 8],
    "HighBit": [11, 7],
    "PixelRepresentation": [0, 1],
    "PixelAspectRatio": [["1", "1"]],
    "PlanarConfiguration": [0, 1],
}
DISPLAY_FORMATS = (
    "STANDARD\\3,3",
    "STANDARD\\10,10",
    "STANDARD\\11,10",
    "STANDARD\\0,1",
    "STANDARD\\1",
    "STANDARD\\1,1,1",
    "STANDARD\\-1,1",
    "ROW\\",
    "ROW\\0",
    "ROW\\1,0,1",
    "COL\\100",
    "COL\\101",
    "CUSTOM\\1",
    "CUSTOM\\99999",
    "SLIDE\\1",
    "SUPERSLIDE",
    "standard \\ 2 , 2",
    "STANDARD\\\\\\2,2",
    "STANDARD:2,2",
    "STANDARD\\2,2\\",
    "STANDARD\\99999999999999999999,0",
    "ROW\\" + ",".join(["1"] * 101),
    "ROW\\" + ",".join(["1"] * 3000),
    "STANDARD\\2,2" + " " * 900,
)
ODD_UIDS = (
    "",
    " ",
    "0",
    "1.2.3",
    "1.2.840.10008.5.1.1.17",
    "1..2",
    ".1",
    "1.",
    "a.b.c",
    "1.02.3",
    "1.2.3\x00",
    "\x00",
    "2.25." + "9" * 59,
    "1" * 64,
    "1.2.3 4",
    "1.2.840.10008.5.1.1.17\\1.2.3",
    "ÿÿÿ",
    "%!PS",
    ")",
    "\n%%EOF\n",
)


@dataclass(frozen=True)
class DimseCase:
    """One request to the print SCP, over an association set up as ``needs`` says.

    ``needs``: ``fresh`` (a new association, nothing created), ``session`` (a Film Session)
    or ``film_box`` (a Film Session and a Film Box of four image boxes and one annotation box).
    """

    index: int
    label: str
    command: int
    sop_class: str
    target: Ref | str
    context: str = "meta"  # the block's print meta class (grayscale or colour), or a class
    data: Elements | None = None
    explicit: bool = False
    action_type: int | None = None
    attribute_ids: tuple[int, ...] = ()
    needs: str = "film_box"
    printer: str = "FUZZ"
    color: bool = False
    affects: tuple[str, ...] = field(default_factory=tuple)


def _mutated(
    rng: random.Random, table: dict[str, list[Any]], keep: float, mutations: int
) -> tuple[Elements, list[str]]:
    """Valid values for a random subset of ``table``, then ``mutations`` mutated ones."""
    chosen = {k: v for k, v in table.items() if rng.random() < keep}
    elements = {k: elem(k, rng.choice(v)) for k, v in chosen.items()}
    notes = []
    for _ in range(mutations):
        keyword = rng.choice(list(table))
        if rng.random() < 0.08:
            elements.pop(keyword, None)
            notes.append(f"-{keyword}")
            continue
        value, vr, kind = mutate_value(rng, vr_of(keyword), table[keyword])
        elements[keyword] = elem(keyword, value, vr)
        notes.append(f"{keyword}={describe(value)}[{kind}{'/' + vr if kind == 'wrong-vr' else ''}]")
    return sorted_elements(list(elements.values())), notes


def _reference(class_uid: str, target: Ref | str, rng: random.Random) -> tuple[Seq, str]:
    roll = rng.random()
    if roll < 0.75:
        item = [elem("ReferencedSOPClassUID", class_uid), elem("ReferencedSOPInstanceUID", target)]
        return Seq((item,)), describe(target)
    if roll < 0.85:
        return Seq(()), "empty sequence"
    if roll < 0.92:
        odd = rng.choice(ODD_UIDS)
        return Seq(([elem("ReferencedSOPInstanceUID", odd)],)), describe(odd)
    return Seq((rng.randbytes(rng.choice((0, 3, 8, 40))),)), "garbage item"


def _pixels(rng: random.Random, rows: int, columns: int, bits_allocated: int) -> bytes:
    size = max(0, rows) * max(0, columns) * (2 if bits_allocated == 16 else 1)
    return rng.randbytes(min(size, PIXEL_BUDGET))


def image_item(rng: random.Random, *, color: bool) -> tuple[Elements, list[str]]:
    """A Basic Grayscale (or Color) Image Sequence item, valid or mutated."""
    rows, columns = rng.choice((1, 2, 8, 16, 64, 100)), rng.choice((1, 3, 8, 16, 64, 128))
    bits = 8 if color or rng.random() < 0.4 else 16
    stored = 8 if bits == 8 else rng.choice((10, 12, 16))
    values: dict[str, Element] = {
        keyword: elem(keyword, value)
        for keyword, value in (
            ("SamplesPerPixel", 3 if color else 1),
            (
                "PhotometricInterpretation",
                "RGB" if color else rng.choice(("MONOCHROME1", "MONOCHROME2")),
            ),
            ("Rows", rows),
            ("Columns", columns),
            ("BitsAllocated", bits),
            ("BitsStored", stored),
            ("HighBit", stored - 1),
            ("PixelRepresentation", rng.choice((0, 0, 1))),
        )
    }
    if color:
        values["PlanarConfiguration"] = elem("PlanarConfiguration", rng.choice((0, 1)))
    notes: list[str] = []
    pixel_note = ""
    payload: bytes | None = _pixels(rng, rows * (3 if color else 1), columns, bits)
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        keyword = rng.choice([*PIXEL_MODULE, "Rows", "Columns", "PixelData", "PixelData"])
        if keyword == "PixelData":
            choice = rng.choice(("short", "long", "odd", "empty", "missing", "huge-claim"))
            payload = payload or b""
            if choice == "short":
                payload = payload[: len(payload) // 2]
            elif choice == "long":
                payload += rng.randbytes(min(len(payload) + 16, PIXEL_BUDGET - len(payload)))
            elif choice == "odd":
                payload += b"\x01"
            elif choice == "empty":
                payload = b""
            elif choice == "missing":
                payload = None
            else:
                huge = rng.choice((65535, 4096, 30000))
                values["Rows"], values["Columns"] = elem("Rows", huge), elem("Columns", huge)
            pixel_note = f"PixelData:{choice}"
            continue
        value, vr, kind = mutate_value(rng, vr_of(keyword), PIXEL_MODULE[keyword])
        if kind == "number" and keyword in ("Rows", "Columns") and rng.random() < 0.5:
            value = rng.choice((0, 65535, 32768, 1))
        values[keyword] = elem(keyword, value, vr)
        notes.append(f"{keyword}={describe(value)}[{kind}{'/' + vr if kind == 'wrong-vr' else ''}]")
    if pixel_note:
        notes.append(pixel_note)
    elements = list(values.values())
    if payload is not None:
        elements.append(elem("PixelData", payload, rng.choice(("OW", "OW", "OB"))))
    return sorted_elements(elements), notes or ["valid image"]


class DimseCases:
    """Draws print requests, each valid but for a few mutations."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.index = 0
        self.block_left = 0
        self.printer, self.color = "FUZZ", False

    def draw(self) -> DimseCase:
        """The next request; printer and colour change in blocks, as associations do."""
        self.index += 1
        if self.block_left == 0:
            self.block_left = self.rng.randint(20, 60)
            self.printer = "STRICT" if self.rng.random() < 0.2 else "FUZZ"
            self.color = self.rng.random() < 0.15
        self.block_left -= 1
        makers: list[tuple[int, Callable[[], DimseCase]]] = [
            (10, self.session_set),
            (4, self.session_create),
            (14, self.film_box_create),
            (8, self.film_box_set),
            (33, self.image_box_set),
            (7, self.annotation_set),
            (8, self.lut_create),
            (5, self.get),
            (4, self.action),
            (4, self.delete),
            (3, self.odd_target),
        ]
        return weighted(self.rng, makers)()

    def _case(
        self,
        what: str,
        notes: list[str],
        command: int,
        sop_class: str,
        target: Ref | str,
        **kwargs: Any,
    ) -> DimseCase:
        explicit = self.rng.random() < 0.25
        syntax = "explicit" if explicit else "implicit"
        color = "colour " if self.color else ""
        label = (
            f"{OPERATIONS[command]} {what} [{color}{syntax}@{self.printer}]: "
            f"{'; '.join(notes) or '-'}"
        )
        return DimseCase(
            self.index,
            label,
            command,
            sop_class,
            target,
            explicit=explicit,
            printer=self.printer,
            color=self.color,
            **kwargs,
        )

    def session_set(self) -> DimseCase:
        data, notes = _mutated(self.rng, SESSION_VALUES, 0.3, self.rng.randint(1, 3))
        if self.rng.random() < 0.1:
            seq, note = _reference(PRESENTATION_LUT, Ref("lut"), self.rng)
            data = sorted_elements([*data, elem("ReferencedPresentationLUTSequence", seq)])
            notes.append(f"ReferencedPresentationLUTSequence={note}")
        return self._case(
            "Film Session", notes, N_SET, FILM_SESSION, Ref("session"), data=data, needs="session"
        )

    def session_create(self) -> DimseCase:
        data, notes = _mutated(self.rng, SESSION_VALUES, 0.5, self.rng.randint(1, 3))
        return self._case(
            "Film Session",
            notes,
            N_CREATE,
            FILM_SESSION,
            Ref("new"),
            data=data,
            needs="fresh",
            affects=("session",),
        )

    def _film_box_data(self, create: bool) -> tuple[Elements, list[str]]:
        data, notes = _mutated(self.rng, FILM_BOX_VALUES, 0.4, self.rng.randint(1, 3))
        keywords = {tag for tag, _, _ in data}
        display = tag_for_keyword("ImageDisplayFormat")
        if create and display not in keywords and self.rng.random() < 0.8:
            data.append(elem("ImageDisplayFormat", "STANDARD\\1,2"))
        if self.rng.random() < 0.25:
            value = self.rng.choice(DISPLAY_FORMATS)
            data = [e for e in data if e[0] != display] + [elem("ImageDisplayFormat", value)]
            notes.append(f"ImageDisplayFormat={describe(value)}")
        if create and self.rng.random() < 0.9:
            seq, note = _reference(FILM_SESSION, Ref("session"), self.rng)
            data.append(elem("ReferencedFilmSessionSequence", seq))
            if note != "<session>":
                notes.append(f"ReferencedFilmSessionSequence={note}")
        if self.rng.random() < 0.1:
            seq, note = _reference(PRESENTATION_LUT, Ref("lut"), self.rng)
            data.append(elem("ReferencedPresentationLUTSequence", seq))
            notes.append(f"ReferencedPresentationLUTSequence={note}")
        return sorted_elements(data), notes

    def film_box_create(self) -> DimseCase:
        data, notes = self._film_box_data(create=True)
        target = Ref("new") if self.rng.random() < 0.8 else Ref("none")
        return self._case("Film Box", notes, N_CREATE, FILM_BOX, target, data=data, needs="session")

    def film_box_set(self) -> DimseCase:
        data, notes = self._film_box_data(create=False)
        return self._case("Film Box", notes, N_SET, FILM_BOX, Ref("film_box"), data=data)

    def image_box_set(self) -> DimseCase:
        rng = self.rng
        color = self.color
        data, notes = _mutated(rng, IMAGE_BOX_VALUES, 0.2, rng.randint(0, 2))
        position = rng.choice((1, 2, 3, 4))
        keyword = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
        roll = rng.random()
        if roll < 0.8:
            item, item_notes = image_item(rng, color=color)
            seq = Seq((item,), undefined_length=rng.random() < 0.3)
            if rng.random() < 0.05:
                seq = Seq((item, item))
                item_notes.append("two items")
            notes += item_notes
        elif roll < 0.88:
            seq = Seq(())
            notes.append("erase")
        else:
            seq = Seq((rng.randbytes(rng.choice((0, 1, 7, 8, 100))),))
            notes.append("garbage item")
        data.append(elem(keyword, seq))
        if rng.random() < 0.9:
            value: Any = position
            if rng.random() < 0.15:
                value, vr, kind = mutate_value(rng, "US", [position])
                data.append(elem("ImageBoxPosition", value, vr))
                notes.append(f"ImageBoxPosition={describe(value)}[{kind}]")
            else:
                data.append(elem("ImageBoxPosition", value))
        else:
            notes.append("-ImageBoxPosition")
        if rng.random() < 0.08:
            seq_ref, note = _reference(PRESENTATION_LUT, Ref("lut"), rng)
            data.append(elem("ReferencedPresentationLUTSequence", seq_ref))
            notes.append(f"ReferencedPresentationLUTSequence={note}")
        box = f"image_box:{position}" if rng.random() < 0.95 else "image_box:1"
        sop = COLOR_IMAGE_BOX if color else GRAY_IMAGE_BOX
        if rng.random() < 0.03:
            sop = GRAY_IMAGE_BOX if color else COLOR_IMAGE_BOX
            notes.append("other image box class")
        return self._case(
            "Color Image Box" if color else "Grayscale Image Box",
            notes,
            N_SET,
            sop,
            Ref(box),
            data=sorted_elements(data),
        )

    def annotation_set(self) -> DimseCase:
        rng = self.rng
        text, vr, kind = mutate_value(rng, "LO", ["FUZZ", "Patient ^ Name", "L", "R"])
        if rng.random() < 0.3:
            text, kind = rng.choice(INJECTIONS) * rng.randint(1, 4), "injection"
        data = [elem("TextString", text, vr)]
        notes = [f"TextString={describe(text)}[{kind}]"]
        position: Any = 1
        if rng.random() < 0.2:
            position, pos_vr, pos_kind = mutate_value(rng, "US", [1])
            data.append(elem("AnnotationPosition", position, pos_vr))
            notes.append(f"AnnotationPosition={describe(position)}[{pos_kind}]")
        else:
            data.append(elem("AnnotationPosition", position))
        return self._case(
            "Annotation Box",
            notes,
            N_SET,
            ANNOTATION_BOX,
            Ref("annotation_box"),
            data=sorted_elements(data),
            context=ANNOTATION_BOX,
        )

    def lut_create(self) -> DimseCase:
        rng = self.rng
        notes: list[str] = []
        data: Elements = []
        roll = rng.random()
        if roll < 0.3:
            shape, vr, kind = mutate_value(rng, "CS", ["IDENTITY", "LIN OD", "INVERSE"])
            data.append(elem("PresentationLUTShape", shape, vr))
            notes.append(f"PresentationLUTShape={describe(shape)}[{kind}]")
        if roll >= 0.2:
            entries = rng.choice((256, 4096, 2, 1, 0, 65535, 3))
            bits = rng.choice((8, 12, 16, 0, 7, 17))
            first = rng.choice((0, 0, 0, 1, 65535))
            descriptor: Any = [entries, first, bits]
            count = entries if entries else 65536
            if rng.random() < 0.25:
                count = rng.choice((0, 1, entries + 1, max(0, entries - 1)))
            top = (1 << max(1, min(bits, 16))) - 1
            values = [rng.randint(0, top) for _ in range(min(count, 32768))]
            lut_data: Any = values
            data_vr = rng.choice(("US", "OW"))
            if data_vr == "OW":
                lut_data = struct.pack(f"<{len(values)}H", *values)
            notes.append(f"LUTDescriptor={descriptor} LUTData[{len(values)}]/{data_vr}")
            if rng.random() < 0.3:
                descriptor, vr, kind = mutate_value(rng, "US", [entries])
                notes.append(f"LUTDescriptor={describe(descriptor)}[{kind}]")
            item = sorted_elements(
                [elem("LUTDescriptor", descriptor), elem("LUTData", lut_data, data_vr)]
            )
            data.append(elem("PresentationLUTSequence", Seq((item,))))
        return self._case(
            "Presentation LUT",
            notes,
            N_CREATE,
            PRESENTATION_LUT,
            Ref("new"),
            data=sorted_elements(data),
            context=PRESENTATION_LUT,
            affects=("lut",),
        )

    def get(self) -> DimseCase:
        rng = self.rng
        sop, target, context = rng.choice(
            (
                (PRINTER, PRINTER_INSTANCE, PRINTER),
                (PRINTER, rng.choice(ODD_UIDS), PRINTER),
                (PRINTER, PRINTER_INSTANCE, "meta"),
                (PRINTER_CONFIGURATION, "1.2.840.10008.5.1.1.17.376", PRINTER_CONFIGURATION),
                (PRINT_JOB, rng.choice(ODD_UIDS), PRINT_JOB),
                (FILM_BOX, Ref("film_box"), "meta"),
            )
        )
        tags = rng.choice(
            (
                (),
                (0x21100010,),
                (0x00000000,),
                (0xFFFFFFFF,),
                (0x7FE00010,),
                tuple(rng.getrandbits(32) for _ in range(rng.choice((1, 5, 300)))),
            )
        )
        notes = [f"instance={describe(target)}", f"{len(tags)} attribute ids"]
        return self._case(
            NAMES.get(sop, sop), notes, N_GET, sop, target, context=context, attribute_ids=tags
        )

    def action(self) -> DimseCase:
        rng = self.rng
        sop, target = rng.choice(
            (
                (FILM_BOX, Ref("film_box")),
                (FILM_SESSION, Ref("session")),
                (FILM_BOX, rng.choice(ODD_UIDS)),
                (PRINTER, PRINTER_INSTANCE),
            )
        )
        action_type = rng.choice((1, 1, 1, 0, 2, 65535))
        notes = [f"instance={describe(target)}", f"action {action_type}"]
        return self._case("print", notes, N_ACTION, sop, target, action_type=action_type)

    def delete(self) -> DimseCase:
        rng = self.rng
        sop, target, context = rng.choice(
            (
                (PRESENTATION_LUT, Ref("lut"), PRESENTATION_LUT),
                (PRESENTATION_LUT, rng.choice(ODD_UIDS), PRESENTATION_LUT),
                (FILM_BOX, Ref("film_box"), "meta"),
                (FILM_SESSION, Ref("session"), "meta"),
                (FILM_BOX, rng.choice(ODD_UIDS), "meta"),
                (PRINTER, PRINTER_INSTANCE, PRINTER),
                (GRAY_IMAGE_BOX, Ref("image_box:1"), "meta"),
            )
        )
        affects = {
            FILM_BOX: ("film_box",),
            FILM_SESSION: ("session", "film_box"),
            PRESENTATION_LUT: ("lut",),
        }.get(sop, ())
        return self._case(
            "delete",
            [f"{sop} {describe(target)}"],
            N_DELETE,
            sop,
            target,
            context=context,
            affects=affects,
        )

    def odd_target(self) -> DimseCase:
        """A well-formed N-SET naming an instance or class that is not what it should be."""
        rng = self.rng
        sop = rng.choice(
            (
                FILM_BOX,
                FILM_SESSION,
                GRAY_IMAGE_BOX,
                ANNOTATION_BOX,
                PRINTER,
                PRINT_JOB,
                "1.2.3.4",
                VERIFICATION,
            )
        )
        target: Ref | str = rng.choice(
            (Ref("film_box"), Ref("session"), Ref("image_box:1"), rng.choice(ODD_UIDS))
        )
        data = [elem("ImageBoxPosition", 1), elem("FilmSessionLabel", "X")]
        return self._case(
            "odd target",
            [f"{sop} {describe(target)}"],
            N_SET,
            sop,
            target,
            data=sorted_elements(data),
        )


def pinned_dimse_cases(start: int) -> list[DimseCase]:
    """Inputs kept whatever the seed: findings of earlier runs, and findings others fix.

    The huge display format comes last: until it is refused up front it can hold the
    server busy (and growing) for as long as the run lets it.
    """
    session_ref = Seq(
        (
            [
                elem("ReferencedSOPClassUID", FILM_SESSION),
                elem("ReferencedSOPInstanceUID", Ref("session")),
            ],
        )
    )
    pixels = sorted_elements(
        [
            elem("SamplesPerPixel", 1),
            elem("PhotometricInterpretation", "MONOCHROME2"),
            elem("Rows", 16),
            elem("Columns", 16),
            elem("BitsAllocated", 16),
            elem("BitsStored", 12),
            elem("HighBit", 11),
            elem("PixelRepresentation", 0),
            elem("PixelData", bytes(PIXEL_BUDGET), "OW"),
        ]
    )
    huge_claim = [
        e if e[0] not in (0x00280010, 0x00280011) else (e[0], "US", 65535) for e in pixels
    ]

    def image(data: Elements) -> Elements:
        return sorted_elements(
            [elem("ImageBoxPosition", 1), elem("BasicGrayscaleImageSequence", Seq((data,)))]
        )

    pinned: list[tuple[str, int, str, Ref | str, Elements, dict[str, Any]]] = [
        (
            "Pixel Data longer than Rows x Columns",
            N_SET,
            GRAY_IMAGE_BOX,
            Ref("image_box:1"),
            image(pixels),
            {},
        ),
        (
            "Rows x Columns 65535 x 65535 with 64 KB of Pixel Data",
            N_SET,
            GRAY_IMAGE_BOX,
            Ref("image_box:1"),
            image(huge_claim),
            {},
        ),
        (
            "NumberOfCopies of 400 digits",
            N_SET,
            FILM_SESSION,
            Ref("session"),
            [elem("NumberOfCopies", "7" * 400)],
            {},
        ),
        (
            "BorderDensity '²' (isdigit, not int)",
            N_SET,
            FILM_BOX,
            Ref("film_box"),
            [elem("BorderDensity", "²")],
            {},
        ),
        (
            "EmptyImageDensity '¹²'",
            N_CREATE,
            FILM_BOX,
            Ref("new"),
            sorted_elements(
                [
                    elem("ImageDisplayFormat", "STANDARD\\1,1"),
                    elem("EmptyImageDensity", "¹²"),
                    elem("ReferencedFilmSessionSequence", session_ref),
                ]
            ),
            {"needs": "session"},
        ),
        (
            "MinDensity of 3 bytes on a strict printer",
            N_SET,
            FILM_BOX,
            Ref("film_box"),
            [elem("MinDensity", b"\x01\x02\x03")],
            {"printer": "STRICT"},
        ),
        (
            "Illumination of 1 byte on a strict printer",
            N_SET,
            FILM_SESSION,
            Ref("session"),
            [elem("Illumination", b"\x01")],
            {"printer": "STRICT"},
        ),
        (
            "FilmSessionLabel of VR 'XX' on a strict printer",
            N_SET,
            FILM_SESSION,
            Ref("session"),
            [elem("FilmSessionLabel", "X", "XX")],
            {"printer": "STRICT", "explicit": True},
        ),
        (
            "an SOP class nobody knows (1.2.3.4)",
            N_SET,
            "1.2.3.4",
            Ref("session"),
            [elem("FilmSessionLabel", "X")],
            {},
        ),
        (
            "ImageDisplayFormat STANDARD\\65535,65535",
            N_CREATE,
            FILM_BOX,
            Ref("new"),
            sorted_elements(
                [
                    elem("ImageDisplayFormat", "STANDARD\\65535,65535"),
                    elem("ReferencedFilmSessionSequence", session_ref),
                ]
            ),
            {"needs": "session"},
        ),
    ]
    return [
        DimseCase(
            start + offset,
            f"{OPERATIONS[command]} [pinned]: {label}",
            command,
            sop_class,
            target,
            data=data,
            **options,
        )
        for offset, (label, command, sop_class, target, data, options) in enumerate(pinned)
    ]


# PDUs ------------------------------------------------------------------------------------------

AE_TITLES = (
    "PRINTSERVER",
    "FUZZ",
    "STRICT",
    "NOBODY",
    "",
    " " * 16,
    "A" * 16,
    "\x00" * 16,
    "PRINTSERVER\\X",
    "ÿÿÿ",
)
ALL_CONTEXTS = (
    GRAY_META,
    COLOR_META,
    VERIFICATION,
    PRESENTATION_LUT,
    ANNOTATION_BOX,
    PRINTER,
    PRINT_JOB,
    PRINTER_CONFIGURATION,
    "1.2.3.4",
    "1.2.840.10008.5.1.4.1.1.2",
)


@dataclass(frozen=True)
class PduCase:
    """Bytes for the server: on a new connection, or after an A-ASSOCIATE-AC.

    ``keeps_framing`` is true when the bytes are whole PDUs ending a DIMSE message, so the
    connection can go on (a C-ECHO then tells whether the association survived); otherwise
    the connection is closed after them.
    """

    index: int
    label: str
    stage: str  # "connect" or "associated"
    payload: bytes
    keeps_framing: bool = False


def _flip(rng: random.Random, data: bytes, count: int) -> bytes:
    mutable = bytearray(data)
    for _ in range(count):
        position = rng.randrange(len(mutable))
        mutable[position] = rng.choice(
            (0x00, 0xFF, 0x7F, 0x80, mutable[position] ^ 0xFF, rng.randrange(256))
        )
    return bytes(mutable)


def _with_length(data: bytes, length: int) -> bytes:
    return data[:2] + struct.pack(">L", length & 0xFFFFFFFF) + data[6:]


def command_set(
    command: int,
    sop_class: str,
    message_id: int,
    *,
    dataset: bool = False,
    instance: str | None = None,
    extra: Elements | None = None,
) -> bytes:
    """An encoded command set (Implicit VR Little Endian, with its group length)."""
    elements: Elements = [
        (0x00000002 if command in (N_CREATE, C_ECHO) else 0x00000003, "UI", sop_class),
        (0x00000100, "US", command),
        (0x00000110, "US", message_id),
        (0x00000800, "US", 0x0000 if dataset else 0x0101),
    ]
    if instance is not None:
        tag = 0x00001000 if command == N_CREATE else 0x00001001
        elements.append((tag, "UI", instance))
    elements += extra or []
    body = encode(sorted_elements(elements), explicit=False, refs=str)
    return struct.pack("<HHLL", 0, 0, 4, len(body)) + body


def pdv(context_id: int, control: int, fragment: bytes, length: int | None = None) -> bytes:
    size = len(fragment) + 2 if length is None else length
    return struct.pack(">LBB", size & 0xFFFFFFFF, context_id & 0xFF, control & 0xFF) + fragment


def p_data_pdu(*pdvs: bytes) -> bytes:
    body = b"".join(pdvs)
    return pdu_header(0x04, len(body)) + body


class PduCases:
    """Draws broken PDUs: mutated A-ASSOCIATE-RQs, bad headers, garbage, broken P-DATA."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.index = 0

    def draw(self) -> PduCase:
        self.index += 1
        makers: list[tuple[int, Callable[[], PduCase]]] = [
            (30, self.associate_mutation),
            (6, self.header_lengths),
            (6, self.wrong_type),
            (5, self.garbage),
            (20, self.framed_p_data),
            (14, self.broken_p_data),
            (5, self.state_violation),
        ]
        return weighted(self.rng, makers)()

    def _associate(self) -> tuple[bytes, str]:
        rng = self.rng
        contexts = tuple(rng.sample(ALL_CONTEXTS, rng.randint(1, 4)))
        max_pdu = rng.choice((0, 1, 16384, 4096, 2**32 - 1, 65536))
        data = bytearray(associate_rq(contexts=contexts, max_pdu=max_pdu))
        called = rng.choice(AE_TITLES[:3]) if rng.random() < 0.8 else rng.choice(AE_TITLES)
        calling = rng.choice(("FUZZER", "A", "X" * 16, "", "\\\\"))
        # the AE title fields of PS3.8 Table 9-11, written raw: pynetdicom checks its own
        data[10:26] = called.encode("latin-1")[:16].ljust(16, b" ")
        data[26:42] = calling.encode("latin-1")[:16].ljust(16, b" ")
        return bytes(data), f"called {called!r}, {len(contexts)} contexts, max PDU {max_pdu}"

    def associate_mutation(self) -> PduCase:
        rng = self.rng
        data, what = self._associate()
        kind = rng.choice(("flip", "flip", "truncate", "insert", "item-length", "valid"))
        if kind == "flip":
            count = rng.choice((1, 2, 4, 8))
            data = _flip(rng, data[:6], 0) + _flip(rng, data[6:], count)
        elif kind == "truncate":
            data = data[: rng.randrange(1, len(data))]
        elif kind == "insert":
            at = rng.randrange(6, len(data))
            data = data[:at] + rng.randbytes(rng.choice((1, 2, 4, 100))) + data[at:]
            if rng.random() < 0.5:
                data = _with_length(data, len(data) - 6)
        elif kind == "item-length":
            at = rng.randrange(8, len(data) - 1)
            value = rng.choice((0, 1, 0xFFFF, 0x7FFF, rng.randrange(65536)))
            data = data[:at] + struct.pack(">H", value) + data[at + 2 :]
        return PduCase(self.index, f"A-ASSOCIATE-RQ {kind}: {what}", "connect", data)

    def header_lengths(self) -> PduCase:
        rng = self.rng
        data, what = self._associate()
        length = rng.choice(
            (
                0,
                1,
                5,
                len(data) - 7,
                len(data) - 5,
                len(data) + 1000,
                0x7FFFFFFF,
                0xFFFFFFFF,
                0xFFFFFFFF,
            )
        )
        tail = rng.randbytes(rng.choice((0, 10, 4096, 60000))) if length > len(data) else b""
        label = f"A-ASSOCIATE-RQ claiming {length} bytes (+{len(tail)} more): {what}"
        return PduCase(self.index, label, "connect", _with_length(data, length) + tail)

    def wrong_type(self) -> PduCase:
        rng = self.rng
        pdu_type = rng.choice((0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x10, 0x81, 0xFF))
        body = rng.randbytes(rng.choice((0, 1, 4, 10, 68, 300)))
        if pdu_type in (0x05, 0x06, 0x07) and rng.random() < 0.5:
            body = b"\x00" * 4
        return PduCase(
            self.index,
            f"PDU type 0x{pdu_type:02X} with {len(body)} bytes first",
            "connect",
            pdu_header(pdu_type, len(body)) + body,
        )

    def garbage(self) -> PduCase:
        rng = self.rng
        size = rng.choice((1, 5, 6, 7, 64, 1000, 16384))
        fill = rng.choice(("random", "zero", "ff", "text"))
        if fill == "random":
            data = rng.randbytes(size)
        elif fill == "zero":
            data = bytes(size)
        elif fill == "ff":
            data = b"\xff" * size
        else:
            data = (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (size // 26 + 1))[:size]
        return PduCase(self.index, f"{size} bytes of {fill} garbage", "connect", data)

    def _valid_request(self) -> tuple[bytes, bytes | None, str]:
        """A well-formed command (and data set) a fuzzed message starts from."""
        rng = self.rng
        message_id = rng.randrange(1, 1000)
        kind = rng.choice(("echo", "session", "get", "delete"))
        if kind == "echo":
            return command_set(C_ECHO, VERIFICATION, message_id), None, "C-ECHO"
        if kind == "get":
            return (
                command_set(N_GET, PRINTER, message_id, instance=PRINTER_INSTANCE),
                None,
                "N-GET Printer",
            )
        if kind == "delete":
            return (
                command_set(N_DELETE, FILM_SESSION, message_id, instance="1.2.3"),
                None,
                "N-DELETE Film Session",
            )
        data = encode(
            [elem("NumberOfCopies", "1"), elem("FilmSessionLabel", "P")], explicit=False, refs=str
        )
        return (
            command_set(N_CREATE, FILM_SESSION, message_id, dataset=True),
            data,
            "N-CREATE Film Session",
        )

    def framed_p_data(self) -> PduCase:
        """Whole P-DATA-TF PDUs ending a message: the association may survive them."""
        rng = self.rng
        command, data, what = self._valid_request()
        context = 1 if what != "C-ECHO" else 3
        kind = rng.choice(
            (
                "garbage-command",
                "flipped-command",
                "garbage-data",
                "flipped-data",
                "context",
                "command-field",
                "no-command-field",
                "fragments",
                "group-length",
                "long-uid",
                "element-length",
            )
        )
        if kind == "garbage-command":
            command = rng.randbytes(rng.choice((0, 1, 7, 8, 12, 100)))
            data = None
        elif kind == "flipped-command":
            command = _flip(rng, command, rng.choice((1, 2, 4)))
        elif kind == "garbage-data":
            command, data, what = (
                command_set(N_CREATE, FILM_SESSION, 7, dataset=True),
                rng.randbytes(rng.choice((1, 8, 9, 100))),
                "N-CREATE",
            )
            context = 1
        elif kind == "flipped-data":
            command, data, _ = (
                command_set(N_CREATE, FILM_SESSION, 7, dataset=True),
                encode(
                    [elem("NumberOfCopies", "1"), elem("FilmSessionLabel", "P" * 20)],
                    explicit=False,
                    refs=str,
                ),
                "",
            )
            data = _flip(rng, data, rng.choice((1, 2, 4)))
            context, what = 1, "N-CREATE Film Session"
        elif kind == "context":
            context = rng.choice((0, 2, 4, 99, 255))
        elif kind == "command-field":
            field_value = rng.choice((0x0000, 0x0001, 0x0FFF, 0x8030, 0x8120, 0xFFFF, 0x0020))
            command = command_set(field_value, VERIFICATION, 5)
            what = f"CommandField 0x{field_value:04X}"
        elif kind == "no-command-field":
            body = encode(
                [
                    (0x00000002, "UI", VERIFICATION),
                    (0x00000110, "US", 9),
                    (0x00000800, "US", 0x0101),
                ],
                explicit=False,
                refs=str,
            )
            command = struct.pack("<HHLL", 0, 0, 4, len(body)) + body
        elif kind == "group-length":
            command = command[:8] + struct.pack("<L", rng.choice((0, 1, 0xFFFFFFFF))) + command[12:]
        elif kind == "long-uid":
            command = command_set(N_GET, PRINTER, 3, instance="1." * 40 + "1")
            what = "N-GET with a 81-character UID"
        elif kind == "element-length":
            at = 12 + 4  # the length of the first element after the group length
            command = (
                command[:at]
                + struct.pack("<L", rng.choice((0xFFFF, 0xFFFFFFFF, 3)))
                + command[at + 4 :]
            )
        pdus = []
        if kind == "fragments":
            pdus = [
                p_data_pdu(pdv(context, 1, command[i : i + 3]))
                for i in range(0, len(command) - 3, 3)
            ]
            pdus.append(p_data_pdu(pdv(context, 3, command[len(pdus) * 3 :])))
        else:
            pdus.append(p_data_pdu(pdv(context, 3, command)))
        if data is not None:
            pdus.append(p_data_pdu(pdv(context, 2, data)))
        return PduCase(
            self.index, f"P-DATA {kind}: {what}", "associated", b"".join(pdus), keeps_framing=True
        )

    def broken_p_data(self) -> PduCase:
        """P-DATA-TF whose framing is broken: the connection ends after it."""
        rng = self.rng
        command, data, what = self._valid_request()
        kind = rng.choice(
            (
                "pdv-length",
                "pdv-short",
                "no-last-command",
                "no-last-data",
                "data-first",
                "empty-pdu",
                "claims-4GB",
                "inflated",
                "deflated",
                "truncated",
                "oversized",
            )
        )
        if kind == "pdv-length":
            payload = p_data_pdu(
                pdv(1, 3, command, rng.choice((0, 1, 0xFFFFFFFF, len(command) + 50)))
            )
        elif kind == "pdv-short":
            payload = pdu_header(0x04, 3) + b"\x00\x00\x00"
        elif kind == "no-last-command":
            payload = p_data_pdu(pdv(1, 1, command))
        elif kind == "no-last-data":
            payload = p_data_pdu(pdv(1, 3, command_set(N_CREATE, FILM_SESSION, 4, dataset=True)))
            payload += p_data_pdu(pdv(1, 0, data or b"\x10\x00\x10\x00\x02\x00\x00\x001 "))
        elif kind == "data-first":
            payload = p_data_pdu(pdv(1, 2, data or b"\x00" * 8))
        elif kind == "empty-pdu":
            payload = pdu_header(0x04, 0)
        elif kind == "claims-4GB":
            payload = (
                pdu_header(0x04, 0xFFFFFFFF)
                + pdv(1, 3, command)
                + rng.randbytes(rng.choice((0, 1000, 60000)))
            )
        elif kind == "inflated":
            pdu = p_data_pdu(pdv(1, 3, command))
            payload = _with_length(pdu, len(pdu) - 6 + rng.choice((1, 2, 100, 65536)))
        elif kind == "deflated":
            pdu = p_data_pdu(pdv(1, 3, command))
            payload = _with_length(pdu, max(0, len(pdu) - 6 - rng.choice((1, 2, 5, 20))))
        elif kind == "truncated":
            pdu = p_data_pdu(pdv(1, 3, command))
            payload = pdu[: rng.randrange(1, len(pdu))]
        else:
            size = rng.choice((1 << 20, 3 << 19))
            payload = p_data_pdu(pdv(1, 2, rng.randbytes(size)))
            what = f"a data fragment of {size} bytes with no command"
        return PduCase(self.index, f"P-DATA {kind}: {what}", "associated", payload)

    def state_violation(self) -> PduCase:
        """A PDU that is well formed but wrong after the association is up."""
        rng = self.rng
        kind = rng.choice(
            ("associate-rq", "associate-ac", "associate-rj", "release-rp", "abort", "unknown")
        )
        if kind == "associate-rq":
            payload, _ = self._associate()
        elif kind == "associate-ac":
            payload = pdu_header(0x02, 4) + b"\x00\x01\x00\x00"
        elif kind == "associate-rj":
            payload = pdu_header(0x03, 4) + b"\x00\x01\x01\x01"
        elif kind == "release-rp":
            payload = pdu_header(0x06, 4) + b"\x00" * 4
        elif kind == "abort":
            payload = pdu_header(0x07, 4) + bytes(
                [0, 0, rng.choice((0, 2, 7)), rng.choice((0, 1, 99))]
            )
        else:
            payload = pdu_header(rng.choice((0x08, 0x7F, 0xFF)), 4) + b"\x00" * 4
        return PduCase(self.index, f"{kind} inside an association", "associated", payload)


def pinned_pdu_cases(start: int) -> list[PduCase]:
    """PDU inputs kept whatever the seed (findings being fixed, or fixed before)."""
    rq = associate_rq()
    return [
        PduCase(
            start,
            "[pinned] A-ASSOCIATE-RQ header claiming 4 GB, then 64 KB",
            "connect",
            _with_length(rq, 0xFFFFFFFF) + bytes(65536),
        ),
        PduCase(
            start + 1,
            "[pinned] P-DATA header claiming 4 GB, then 64 KB",
            "associated",
            pdu_header(0x04, 0xFFFFFFFF) + bytes(65536),
        ),
        PduCase(
            start + 2,
            "[pinned] P-DATA of 4 MB (beyond any sensible Maximum Length)",
            "associated",
            p_data_pdu(pdv(1, 2, bytes(4 << 20))),
        ),
    ]
