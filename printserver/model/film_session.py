"""Basic Film Session (PS3.4 H.4.1): the settings shared by every film of one print."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from printserver.model.choices import Choices
from printserver.model.errors import InvalidValue, Notice
from printserver.model.film_box import FilmBox
from printserver.model.presentation_lut import PresentationLutInstance
from printserver.model.printer import Printer

PRIORITIES = ("HIGH", "MED", "LOW")
_BIN = re.compile(r"^BIN_[1-9][0-9]*$")


@dataclass(frozen=True)
class FilmSessionRequest:
    """The Film Session attributes of an N-CREATE or N-SET, read from the data set."""

    number_of_copies: int | None = None
    print_priority: str | None = None
    medium_type: str | None = None
    film_destination: str | None = None
    film_session_label: str | None = None
    memory_allocation: int | None = None
    owner_id: str | None = None
    # pre-CP-173 clients put these on the session; they become film box defaults
    presentation_lut_uid: str | None = None
    illumination: int | None = None
    reflected_ambient_light: int | None = None


@dataclass
class FilmSession:
    """One film session per association, owning its film boxes in creation order."""

    uid: str
    printer: Printer
    number_of_copies: int = 1
    print_priority: str = "MED"
    medium_type: str = "BLUE FILM"
    film_destination: str = "PROCESSOR"
    film_session_label: str = ""
    owner_id: str = ""
    presentation_lut: PresentationLutInstance | None = None
    illumination: int | None = None
    reflected_ambient_light: int | None = None
    film_boxes: list[FilmBox] = field(default_factory=list)

    def apply(
        self,
        request: FilmSessionRequest,
        choices: Choices,
        lut: PresentationLutInstance | None = None,
        *,
        max_copies: int = 99,
    ) -> None:
        """Take the values of an N-CREATE or N-SET (PS3.4 H.4.1.1.2, H.4.1.2.1).

        Number of Copies above ``max_copies`` prints ``max_copies`` with 0x0116 on a
        lenient printer and is refused on a strict one; below 1 it is always refused.
        """
        printer = self.printer
        copies = request.number_of_copies
        if copies is not None and copies < 1:
            raise InvalidValue(f"Number of Copies {copies} is below 1")
        if copies is not None and copies > max_copies:
            if choices.strict:
                raise InvalidValue(f"Number of Copies {copies} is over the limit of {max_copies}")
            choices.note(Notice.COPIES_CLAMPED)
            copies = max_copies
        priority = choices.choose(
            "Print Priority", request.print_priority, PRIORITIES, self.print_priority
        )
        medium = choices.choose(
            "Medium Type", request.medium_type, printer.settings.medium_types, self.medium_type
        )
        destination = self.film_destination
        if request.film_destination:
            if request.film_destination in printer.settings.film_destinations or (
                _BIN.match(request.film_destination)
                and "BIN_i" in printer.settings.film_destinations
            ):
                destination = request.film_destination
            else:
                choices.unsupported(
                    "Film Destination", request.film_destination, printer.settings.film_destinations
                )
        self.number_of_copies = copies if copies is not None else self.number_of_copies
        self.print_priority, self.medium_type, self.film_destination = (
            priority,
            medium,
            destination,
        )
        if request.film_session_label is not None:
            self.film_session_label = request.film_session_label
        if request.owner_id is not None:
            self.owner_id = request.owner_id
        if request.memory_allocation:
            choices.note(Notice.MEMORY_ALLOCATION)
        if lut is not None:
            self.presentation_lut = lut
        self.illumination = request.illumination or self.illumination
        if request.reflected_ambient_light is not None:
            self.reflected_ambient_light = request.reflected_ambient_light

    @classmethod
    def create(
        cls,
        uid: str,
        request: FilmSessionRequest,
        printer: Printer,
        choices: Choices,
        lut: PresentationLutInstance | None = None,
        *,
        max_copies: int = 99,
    ) -> FilmSession:
        session = cls(
            uid=uid,
            printer=printer,
            medium_type=printer.settings.default_medium,
            film_destination=printer.settings.default_destination,
        )
        session.apply(request, choices, lut, max_copies=max_copies)
        return session
