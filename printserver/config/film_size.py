"""Film Size ID defined terms (PS3.3 C.13.3) and their physical size.

The built-in catalogue that a site's ``[film_sizes.NAME]`` tables extend,
so it lives with the configuration: settings import nothing of the print model.

``17INX17IN`` is not a standard defined term; it is offered as a documented
extension because large-format film imagers use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FilmSize:
    """Portrait width and height in millimetres, and the CUPS media name to request."""

    width_mm: float
    height_mm: float
    cups_media: str


def _inches(width: float, height: float) -> FilmSize:
    name = f"Custom.{width:g}x{height:g}in"
    return FilmSize(width * 25.4, height * 25.4, name)


def _mm(width: float, height: float, media: str | None = None) -> FilmSize:
    return FilmSize(width, height, media or f"Custom.{width:g}x{height:g}mm")


FILM_SIZES: dict[str, FilmSize] = {
    "8INX10IN": _inches(8, 10),
    "8_5INX11IN": FilmSize(215.9, 279.4, "Letter"),
    "10INX12IN": _inches(10, 12),
    "10INX14IN": _mm(257, 364),  # the standard notes it corresponds to 25.7 x 36.4 cm
    "11INX14IN": _inches(11, 14),
    "11INX17IN": FilmSize(279.4, 431.8, "Tabloid"),
    "14INX14IN": _inches(14, 14),
    "14INX17IN": _inches(14, 17),
    "24CMX24CM": _mm(240, 240),
    "24CMX30CM": _mm(240, 300),
    "A4": _mm(210, 297, "A4"),
    "A3": _mm(297, 420, "A3"),
    "17INX17IN": _inches(17, 17),
}
