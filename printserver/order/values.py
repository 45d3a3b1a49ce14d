"""Typed values read out of request data sets, tolerating what real clients send.

Code strings are stripped and upper-cased (clients pad them with spaces, and
some send lower case); empty values count as absent; a
value pydicom cannot decode is reported as an invalid value, not a crash.
Every string is held to its VR by the request's :class:`StringCheck` (PS3.5
6.2): refused on a strict printer, cleaned with a warning on a lenient one.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset

from printserver.model.errors import InvalidValue, MissingAttribute
from printserver.order.vr_strings import StringCheck

Number = TypeVar("Number", int, float)
_RANGES: dict[str, tuple[int, int]] = {
    "US": (0, 0xFFFF),
    "SS": (-0x8000, 0x7FFF),
    "UL": (0, 0xFFFFFFFF),
    "IS": (-(2**31), 2**31 - 1),
}
"""Value ranges of the integer VRs (PS3.5 Table 6.2-1): a value read with a wrong VR, such
as an Explicit VR UL 70000 for a US attribute, could not be encoded into the reply."""


def raw_value(ds: Dataset, keyword: str) -> Any:
    try:
        value = ds.get(keyword)
    except Exception as exc:  # pydicom decodes lazily; garbage surfaces here
        raise InvalidValue(f"{keyword} cannot be decoded: {exc}") from None
    if value is None or value == "":
        return None
    return value


def code(ds: Dataset, keyword: str, check: StringCheck) -> str | None:
    """A CS value, stripped and upper-cased."""
    value = raw_value(ds, keyword)
    return None if value is None else check.string(keyword, value) or None


def text(ds: Dataset, keyword: str, check: StringCheck) -> str | None:
    """An LO/ST/SH (or UI) value without its padding."""
    value = raw_value(ds, keyword)
    return None if value is None else check.string(keyword, value)


def _number(
    ds: Dataset, keyword: str, kind: type[Number], check: StringCheck | None = None
) -> Number | None:
    value = raw_value(ds, keyword)
    if value is None:
        return None
    if check is not None:
        check.number(keyword, value)
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an IS of 400 digits
        raise InvalidValue(f"{keyword} {value!r} is not a number") from None
    low, high = _RANGES.get(dictionary_VR(keyword), (None, None))
    if low is not None and high is not None and not low <= number <= high:
        raise InvalidValue(f"{keyword} {number} is outside its VR's range {low}..{high}")
    return number


def integer(ds: Dataset, keyword: str, check: StringCheck | None = None) -> int | None:
    """A US/IS value; ``check`` holds an IS to its VR."""
    return _number(ds, keyword, int, check)


def decimal(ds: Dataset, keyword: str, check: StringCheck) -> float | None:
    """A DS value, such as Requested Image Size in mm."""
    return _number(ds, keyword, float, check)


def required_integer(ds: Dataset, keyword: str) -> int:
    value = integer(ds, keyword)
    if value is None:
        raise MissingAttribute(f"{keyword} is required")
    return value


def referenced_uid(ds: Dataset, keyword: str, check: StringCheck) -> str | None:
    """The Referenced SOP Instance UID of the first item of a reference sequence."""
    sequence = raw_value(ds, keyword)
    if not sequence:
        return None
    return text(sequence[0], "ReferencedSOPInstanceUID", check)
