"""Basic Film Session (PS3.4 H.4.1): the settings shared by every film of one print."""

from __future__ import annotations

from dataclasses import dataclass, field

from printserver.config import PrinterConfig
from printserver.model.errors import InvalidValue, Notice
from printserver.model.film_box import FilmBox

PRIORITIES = ("HIGH", "MED", "LOW")
MEDIUM_TYPES = ("PAPER", "CLEAR FILM", "BLUE FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM")
MAX_COPIES = 99


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


@dataclass
class FilmSession:
    """One film session per association, owning its film boxes in creation order."""

    uid: str
    number_of_copies: int = 1
    print_priority: str = "MED"
    medium_type: str = "BLUE FILM"
    film_destination: str = "PROCESSOR"
    film_session_label: str = ""
    owner_id: str = ""
    film_boxes: list[FilmBox] = field(default_factory=list)

    def apply(self, request: FilmSessionRequest) -> list[Notice]:
        """Take the values of an N-CREATE or N-SET; unsupported ones keep the current value."""
        notices: list[Notice] = []
        if request.number_of_copies is not None:
            if not 1 <= request.number_of_copies <= MAX_COPIES:
                raise InvalidValue(
                    f"Number of Copies {request.number_of_copies} is outside 1..{MAX_COPIES}"
                )
            self.number_of_copies = request.number_of_copies
        if request.print_priority:
            if request.print_priority in PRIORITIES:
                self.print_priority = request.print_priority
            else:
                notices.append(Notice.VALUE_REPLACED)
        if request.medium_type:
            if request.medium_type in MEDIUM_TYPES:
                self.medium_type = request.medium_type
            else:
                notices.append(Notice.VALUE_REPLACED)
        if request.film_destination:
            self.film_destination = request.film_destination
        if request.film_session_label is not None:
            self.film_session_label = request.film_session_label
        if request.owner_id is not None:
            self.owner_id = request.owner_id
        if request.memory_allocation:
            notices.append(Notice.MEMORY_ALLOCATION)
        return notices

    @classmethod
    def create(
        cls, uid: str, request: FilmSessionRequest, printer: PrinterConfig
    ) -> tuple[FilmSession, list[Notice]]:
        session = cls(uid=uid, medium_type=printer.default_medium)
        return session, session.apply(request)
