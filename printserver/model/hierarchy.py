"""The film session hierarchy of one association (PS3.4 H.2.1, digest §1.1).

At most one Film Session per association; it owns Film Boxes in creation order,
and each Film Box owns the Image Boxes its display format implies.  The whole
hierarchy lives only as long as the association: release or abort drops it,
so nothing of one client's films can leak into the next association.  Printing
takes a snapshot (:class:`PrintJob`) that is independent of later changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.uid import generate_uid

from printserver.config import PrinterConfig
from printserver.model.errors import (
    DuplicateInstance,
    InvalidObjectInstance,
    NoFilmBox,
    NoSuchInstance,
    Notice,
)
from printserver.model.film_box import FilmBox, FilmBoxRequest, create_film_box
from printserver.model.film_session import FilmSession, FilmSessionRequest
from printserver.model.image_box import ImageBox
from printserver.render.sheet import FilmSheet


@dataclass(frozen=True)
class PrintJob:
    """A snapshot of what one N-ACTION asked to print (PS3.4 H.4.1.2.4, H.4.2.2.4)."""

    printer: str
    calling_ae: str
    film_session_uid: str
    film_box_uids: tuple[str, ...]
    sheets: tuple[FilmSheet, ...]
    copies: int
    priority: str
    label: str
    media: str


class PrintHierarchy:
    """Film session, film boxes and image boxes created on one association."""

    def __init__(self, printer: PrinterConfig, calling_ae: str) -> None:
        self.printer = printer
        self.calling_ae = calling_ae
        self.session: FilmSession | None = None

    # Film Session -----------------------------------------------------------

    def create_film_session(
        self, uid: str | None, request: FilmSessionRequest
    ) -> tuple[FilmSession, list[Notice]]:
        """N-CREATE; a second session on one association is refused (0x0111)."""
        if self.session is not None:
            raise DuplicateInstance(
                f"a Film Session ({self.session.uid}) already exists on this association"
            )
        self.session, notices = FilmSession.create(uid or generate_uid(), request, self.printer)
        return self.session, notices

    def film_session(self, uid: str) -> FilmSession:
        if self.session is None or self.session.uid != uid:
            raise NoSuchInstance(f"no Film Session {uid} on this association")
        return self.session

    def delete_film_session(self, uid: str) -> None:
        """N-DELETE: drops the whole hierarchy; spooled jobs are not affected."""
        self.film_session(uid)
        self.session = None

    # Film Box ---------------------------------------------------------------

    def create_film_box(
        self, uid: str | None, request: FilmBoxRequest, referenced_session: str | None
    ) -> tuple[FilmBox, list[Notice]]:
        """N-CREATE: needs the association's Film Session (0x0117 otherwise)."""
        if self.session is None:
            raise InvalidObjectInstance("no Film Session exists; create one before a Film Box")
        if referenced_session and referenced_session != self.session.uid:
            raise InvalidObjectInstance(
                f"Referenced Film Session {referenced_session} is not this association's "
                f"Film Session {self.session.uid}"
            )
        if uid and self._find_film_box(uid) is not None:
            raise DuplicateInstance(f"Film Box {uid} already exists")
        film_box, notices = create_film_box(request, self.printer, uid)
        self.session.film_boxes.append(film_box)
        return film_box, notices

    def _find_film_box(self, uid: str) -> FilmBox | None:
        if self.session is None:
            return None
        return next((box for box in self.session.film_boxes if box.uid == uid), None)

    def film_box(self, uid: str) -> FilmBox:
        film_box = self._find_film_box(uid)
        if film_box is None:
            raise NoSuchInstance(f"no Film Box {uid} on this association")
        return film_box

    def delete_film_box(self, uid: str) -> None:
        film_box = self.film_box(uid)
        assert self.session is not None
        self.session.film_boxes.remove(film_box)

    # Image Box --------------------------------------------------------------

    def image_box(self, uid: str) -> ImageBox:
        """Find an image box of any film box of the session (lenient, digest §9 item 7)."""
        if self.session is not None:
            for film_box in reversed(self.session.film_boxes):
                box = film_box.image_box(uid)
                if box is not None:
                    return box
        raise NoSuchInstance(f"no Image Box {uid} on this association")

    # Printing ---------------------------------------------------------------

    def print_film_box(self, uid: str) -> tuple[PrintJob, list[Notice]]:
        """N-ACTION on a Film Box: one film, B603 when it holds no image."""
        film_box = self.film_box(uid)
        notices = [] if film_box.has_images else [Notice.EMPTY_FILM_BOX]
        return self._job([film_box]), notices

    def print_film_session(self, uid: str) -> tuple[PrintJob, list[Notice]]:
        """N-ACTION on the Film Session: every film box in creation order (C600 if none)."""
        session = self.film_session(uid)
        if not session.film_boxes:
            raise NoFilmBox("the Film Session holds no Film Box to print")
        empty = any(not box.has_images for box in session.film_boxes)
        return self._job(session.film_boxes), [Notice.EMPTY_FILM_SESSION] if empty else []

    def _job(self, film_boxes: list[FilmBox]) -> PrintJob:
        session = self.session
        assert session is not None
        return PrintJob(
            printer=self.printer.ae_title,
            calling_ae=self.calling_ae,
            film_session_uid=session.uid,
            film_box_uids=tuple(box.uid for box in film_boxes),
            sheets=tuple(box.sheet(self.printer) for box in film_boxes),
            copies=session.number_of_copies,
            priority=session.print_priority,
            label=session.film_session_label,
            media=self.printer.media_for(film_boxes[0].film_size_id),
        )
