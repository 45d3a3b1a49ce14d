"""Strings of a request checked against their Value Representation (PS3.5 6.2).

Every string the server reads from a request data set passes here first, with
the VR the data dictionary gives its attribute (not the VR the peer sent, which
explicit VR lets it choose).  The limits are those of PS3.5 Table 6.2-1:

* coded values — CS, DS, IS, UI — have a repertoire and a length in bytes;
* text meant for people — SH, LO, ST — has a length in characters and no
  control characters except, in ST, CR, LF and FF.  ESC, which the table
  also allows, only introduces an ISO 2022 code extension (PS3.5 6.1); the
  decoding by Specific Character Set consumes those, so an ESC still present in
  the decoded text is not one and counts as a control character.  SH and LO
  have no backslash: it separates values (PS3.5 6.4), and these attributes
  take one.

A strict printer refuses a value that breaks these rules with 0x0106 and an
Error Comment naming the attribute and the rule.  A lenient one (the default)
prints the film: text for people is cleaned — each control character becomes a
space, values sent as several are joined again with backslashes, the result is
cut to the maximum length — and the request answers 0x0116.  Coded values are
not cleaned: a CS value outside the repertoire is unsupported like any unknown
term (the model's default, 0x0116), and a UID that is not printable ASCII of at
most 64 characters is refused in both modes, as an identifier cannot be mended.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR

from printserver.model.errors import InvalidValue, Notice

LOG = logging.getLogger(__name__)
PADDING = " \x00"


@dataclass(frozen=True)
class VrRule:
    """What PS3.5 Table 6.2-1 allows in one VR."""

    max_length: int
    repertoire: str  # in words, for the conformance statement
    pattern: re.Pattern[str] | None = None  # the whole value, for coded VRs
    controls: str = ""  # control characters allowed in text VRs
    lenient: str = "cleaned, 0x0116"  # what a lenient printer does, in words

    @property
    def text(self) -> bool:
        """Text meant for people, which a lenient printer may clean."""
        return self.pattern is None


RULES: dict[str, VrRule] = {
    "CS": VrRule(
        16,
        "upper-case letters, digits, space, underscore",
        re.compile(r"[A-Z0-9 _]*"),
        lenient="unsupported value: default, 0x0116",
    ),
    "DS": VrRule(
        16,
        "a decimal number",
        re.compile(r" *[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)? *"),
        lenient="any number",
    ),
    "IS": VrRule(12, "an integer", re.compile(r" *[+-]?[0-9]+ *"), lenient="any integer"),
    "UI": VrRule(
        64,
        "digits and dots, no leading zeros",
        re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*"),
        lenient="printable ASCII, else 0x0106",
    ),
    "SH": VrRule(16, "no backslash, no control characters"),
    "LO": VrRule(64, "no backslash, no control characters"),
    "ST": VrRule(1024, "no control characters but CR, LF, FF", controls="\r\n\f"),
}
"""PS3.5 Table 6.2-1, for the VRs of the attributes the server reads.  (Calling AE
titles are held to the AE rules by the network edge when the association is requested.)"""


def _values(value: object) -> list[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return [str(value)]
    return [str(part) for part in value]


def _forbidden(text: str, rule: VrRule) -> str | None:
    """The first character ``rule`` does not allow in text, or None."""
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in rule.controls:
            return char
    return None


class StringCheck:
    """Checks the strings of one request against their VR; ``notices`` holds the warnings."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.notices: list[Notice] = []

    def _refuse_or_note(self, keyword: str, problem: str) -> None:
        if self.strict:
            raise InvalidValue(f"{keyword}: {problem}")
        LOG.warning("%s: %s; cleaned", keyword, problem)
        if Notice.VALUE_REPLACED not in self.notices:
            self.notices.append(Notice.VALUE_REPLACED)

    def string(self, keyword: str, value: object) -> str:
        """A single-valued string attribute, checked (and, when lenient, cleaned).

        Padding (spaces, and the NULs some clients send) is not part of a value.
        Code strings are upper-cased: some clients send lower case; a lenient
        printer also takes any white space around them for padding.
        """
        vr = dictionary_VR(keyword)
        rule = RULES.get(vr)
        parts = _values(value)
        text = "\\".join(parts).strip(PADDING)
        if vr == "CS":
            text = (text if self.strict else text.strip()).upper()
        if rule is None:
            return text
        if len(parts) > 1:
            self._refuse_or_note(keyword, f"{len(parts)} values where one is allowed")
        if rule.text:
            return self._text(keyword, vr, rule, text)
        if len(text) > rule.max_length or not (rule.pattern and rule.pattern.fullmatch(text)):
            problem = _coded_problem(vr, rule, text)
            if self.strict or (vr == "UI" and not _printable_ascii(text, rule.max_length)):
                raise InvalidValue(f"{keyword}: {problem}")
        return text

    def _text(self, keyword: str, vr: str, rule: VrRule, text: str) -> str:
        bad = _forbidden(text, rule)
        if bad is not None:
            self._refuse_or_note(keyword, f"control character 0x{ord(bad):02X} in {vr}")
            text = "".join(
                " " if unicodedata.category(c) == "Cc" and c not in rule.controls else c
                for c in text
            ).strip(PADDING)
        if len(text) > rule.max_length:
            self._refuse_or_note(keyword, f"{len(text)} characters, {vr} allows {rule.max_length}")
            text = text[: rule.max_length].rstrip(PADDING)
        return text

    def number(self, keyword: str, value: object) -> None:
        """An IS or DS value as the client wrote it: strict printers hold it to its VR."""
        vr = dictionary_VR(keyword)
        rule = RULES.get(vr)
        if rule is None or rule.pattern is None or not self.strict:
            return
        written = str(getattr(value, "original_string", None) or value)
        if len(written) > rule.max_length or not rule.pattern.fullmatch(written):
            raise InvalidValue(f"{keyword}: {_coded_problem(vr, rule, written)}")


def _printable_ascii(text: str, max_length: int) -> bool:
    return len(text) <= max_length and all(
        0x20 < ord(char) < 0x7F and char != "\\" for char in text
    )


def _coded_problem(vr: str, rule: VrRule, text: str) -> str:
    """Why a coded value is wrong, without echoing it: the Error Comment is itself an LO."""
    if len(text) > rule.max_length:
        return f"{len(text)} characters, {vr} allows {rule.max_length}"
    odd = next((char for char in text if not 0x20 <= ord(char) < 0x7F or char == "\\"), None)
    where = f" (character 0x{ord(odd):02X})" if odd is not None else ""
    return f"not a valid {vr}{where}"
