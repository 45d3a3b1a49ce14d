"""Request values checked against what a logical printer supports (PS3.4 H.4).

For U/M attributes the SCP applies a default when a value is absent; when a
value is not supported, a lenient printer uses its default and warns (0x0116),
a strict one refuses (0x0106).  Densities outside the printer's range are
clamped with warning B605 (PS3.4 H.4.2.1.2).  One :class:`Choices` collects the
warnings of one request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from printserver.model.errors import InvalidValue, Notice

D = TypeVar("D", str, str | None)


class Choices:
    """Validates the values of one request; ``notices`` holds the warnings."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.notices: list[Notice] = []

    def note(self, notice: Notice) -> None:
        if notice not in self.notices:
            self.notices.append(notice)

    def unsupported(self, name: str, value: object, supported: Iterable[str]) -> None:
        """Refuse (strict) or warn (lenient) about an unsupported value."""
        if self.strict:
            listed = ", ".join(supported) or "none"
            raise InvalidValue(f"{name} {value!r} is not supported (supported: {listed})")
        self.note(Notice.VALUE_REPLACED)

    def choose(self, name: str, value: str | None, allowed: Iterable[str], default: D) -> str | D:
        """An enumerated or defined-term value, or the default."""
        allowed = tuple(allowed)
        if not value:
            return default
        if value in allowed:
            return value
        self.unsupported(name, value, allowed)
        return default

    def density(self, name: str, value: int | None, low: int, high: int, default: int) -> int:
        """Min/Max Density in hundredths of OD; 0 means "not specified" (PS3.3 C.13.3)."""
        if not value:
            return default
        if value < low or value > high:
            self.note(Notice.DENSITY_CLAMPED)
            return min(max(value, low), high)
        return value

    def density_term(self, name: str, value: str | None, default: str, low: int, high: int) -> str:
        """Border/Empty Image Density: BLACK, WHITE or hundredths of OD (PS3.3 C.13.3)."""
        if not value:
            return default
        if value in ("BLACK", "WHITE"):
            return value
        if value.isascii() and value.isdecimal():  # not "²", which isdigit() would pass
            return str(self.density(name, int(value), low, high, int(value)))
        self.unsupported(name, value, ("BLACK", "WHITE", f"{low}..{high}"))
        return default
