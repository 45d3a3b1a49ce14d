"""Basic Annotation Box (PS3.4 H.4.5): a text string at a position the printer defines."""

from __future__ import annotations

from dataclasses import dataclass

from printserver.model.errors import InvalidValue

TEXT_MAX = 64  # Text String (2030,0020) is LO


@dataclass
class AnnotationBox:
    """Created with its film box from the Annotation Display Format ID; the SCU N-SETs it."""

    uid: str
    position: int
    text: str = ""

    def apply(self, position: int, text: str | None) -> None:
        """N-SET: the position must be this box's; absent or empty text erases."""
        if position != self.position:
            raise InvalidValue(
                f"Annotation Position {position} is not this box's position {self.position}"
            )
        text = (text or "").strip()
        if len(text) > TEXT_MAX:
            raise InvalidValue(f"Text String is {len(text)} characters; at most {TEXT_MAX}")
        self.text = text
