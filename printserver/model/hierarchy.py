"""The film session hierarchy of one association (PS3.4 H.2.1, Figure H.2-1).

At most one Film Session per association; it owns Film Boxes in creation order,
and each Film Box owns the Image and Annotation Boxes it implies.  Presentation
LUTs live beside the session until deleted.  The whole hierarchy lives only as
long as the association: release or abort drops it, so nothing of one client's
films can leak into the next association.  Printing takes a snapshot
(:class:`PrintJob`) that is independent of later changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydicom.uid import generate_uid

from printserver.config import LimitsConfig
from printserver.model.annotation_box import AnnotationBox
from printserver.model.choices import Choices
from printserver.model.errors import (
    ClassInstanceConflict,
    DuplicateInstance,
    ImageDoesNotFit,
    ImageTooLarge,
    InUse,
    InvalidObjectInstance,
    InvalidValue,
    MissingAttribute,
    NoFilmBox,
    NoSuchInstance,
    Notice,
    ResourceLimitation,
)
from printserver.model.film_box import FilmBox, FilmBoxRequest, create_film_box
from printserver.model.film_session import FilmSession, FilmSessionRequest
from printserver.model.image_box import ImageBox, ImageBoxRequest
from printserver.model.presentation_lut import (
    PresentationLutInstance,
    PresentationLutRequest,
    create_presentation_lut,
)
from printserver.model.printer import Printer
from printserver.render.sheet import FilmSheet

DEFAULT_LIMITS = LimitsConfig()


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
    medium_type: str = ""
    destination: str = ""
    film_size: str = ""


class PrintHierarchy:
    """Film session, film boxes, image/annotation boxes and LUTs of one association.

    ``limits`` bound what one peer can make the server hold or render: film boxes
    per session, pages per job, copies, and image bytes held at once.
    """

    def __init__(
        self,
        printer: Printer,
        calling_ae: str,
        *,
        annotations: bool = False,
        limits: LimitsConfig = DEFAULT_LIMITS,
    ) -> None:
        self.printer = printer
        self.calling_ae = calling_ae
        self.annotations = annotations
        self.limits = limits
        self.session: FilmSession | None = None
        self.luts: dict[str, PresentationLutInstance] = {}

    def choices(self) -> Choices:
        return Choices(self.printer.settings.strict)

    # Presentation LUT -----------------------------------------------------------

    def create_presentation_lut(
        self, uid: str | None, request: PresentationLutRequest
    ) -> PresentationLutInstance:
        uid = uid or generate_uid()
        if uid in self.luts:
            raise DuplicateInstance(f"duplicate Presentation LUT UID {uid}")
        lut = self.luts[uid] = create_presentation_lut(
            uid, request, strict=self.printer.settings.strict
        )
        return lut

    def lut(self, uid: str | None) -> PresentationLutInstance | None:
        """Resolve a Referenced Presentation LUT Sequence (PS3.4 H.4.2.1.2.1)."""
        if not uid:
            return None
        try:
            return self.luts[uid]
        except KeyError:
            raise InvalidValue(f"unknown Referenced Presentation LUT {uid}") from None

    def delete_presentation_lut(self, uid: str) -> None:
        """N-DELETE; refused while a film session, film box or image box uses it."""
        lut = self.luts.get(uid)
        if lut is None:
            raise NoSuchInstance(f"no such Presentation LUT: {uid}")
        if self._lut_in_use(lut):
            raise InUse(f"Presentation LUT still referenced by a box: {uid}")
        del self.luts[uid]

    def _lut_in_use(self, lut: PresentationLutInstance) -> bool:
        session = self.session
        if session is None:
            return False
        users = [session.presentation_lut]
        for film_box in session.film_boxes:
            users.append(film_box.presentation_lut)
            users.extend(box.presentation_lut for box in film_box.image_boxes)
        return any(user is lut for user in users)

    # Film Session -----------------------------------------------------------

    def create_film_session(
        self, uid: str | None, request: FilmSessionRequest
    ) -> tuple[FilmSession, list[Notice]]:
        """N-CREATE; a second session on one association is refused (0x0111)."""
        if self.session is not None:
            raise DuplicateInstance("a Film Session already exists on this association")
        choices = self.choices()
        self.session = FilmSession.create(
            uid or generate_uid(),
            request,
            self.printer,
            choices,
            self.lut(request.presentation_lut_uid),
            max_copies=self.limits.max_copies,
        )
        return self.session, choices.notices

    def set_film_session(self, uid: str, request: FilmSessionRequest) -> list[Notice]:
        choices = self.choices()
        self.film_session(uid).apply(
            request,
            choices,
            self.lut(request.presentation_lut_uid),
            max_copies=self.limits.max_copies,
        )
        return choices.notices

    def film_session(self, uid: str) -> FilmSession:
        if self.session is None or self.session.uid != uid:
            raise NoSuchInstance(f"no such Film Session: {uid}")
        return self.session

    def delete_film_session(self, uid: str) -> None:
        """N-DELETE: drops the whole hierarchy; spooled jobs are not affected."""
        self.film_session(uid)
        self.session = None

    # Film Box ---------------------------------------------------------------

    def create_film_box(
        self,
        uid: str | None,
        request: FilmBoxRequest,
        referenced_session: str | None,
        *,
        color: bool = False,
    ) -> tuple[FilmBox, list[Notice]]:
        """N-CREATE: needs the association's Film Session (0x0117 otherwise); one beyond
        ``max_film_boxes_per_session`` is refused (0x0213, PS3.7 C.5)."""
        session = self.session
        if session is None:
            raise InvalidObjectInstance("no Film Session exists; create one before a Film Box")
        most = self.limits.max_film_boxes_per_session
        if len(session.film_boxes) >= most:
            raise ResourceLimitation(f"the Film Session holds {most} Film Boxes, the limit")
        if referenced_session is None and self.printer.settings.strict:
            raise MissingAttribute("Referenced Film Session Sequence is required")
        if referenced_session and referenced_session != session.uid:
            raise InvalidObjectInstance(
                f"not this association's Film Session: {referenced_session}"
            )
        if uid and self._find_film_box(uid) is not None:
            raise DuplicateInstance(f"duplicate Film Box UID {uid}")
        choices = self.choices()
        lut = self.lut(request.presentation_lut_uid) or session.presentation_lut
        film_box = create_film_box(
            request,
            self.printer,
            uid,
            choices=choices,
            color=color,
            annotations=self.annotations,
            lut=lut,
            illumination=session.illumination,
            reflected_ambient_light=session.reflected_ambient_light,
        )
        session.film_boxes.append(film_box)
        return film_box, choices.notices

    def set_film_box(self, uid: str, request: FilmBoxRequest) -> list[Notice]:
        """N-SET (PS3.4 H.4.2.1.2.2): strict printers allow it on the last film box only."""
        film_box = self._settable(self.film_box(uid))
        choices = self.choices()
        film_box.apply(request, choices, self.lut(request.presentation_lut_uid))
        return choices.notices

    def _settable(self, film_box: FilmBox) -> FilmBox:
        assert self.session is not None
        if self.printer.settings.strict and film_box is not self.session.film_boxes[-1]:
            raise NoSuchInstance(f"not the current Film Box: {film_box.uid}")
        return film_box

    def _find_film_box(self, uid: str) -> FilmBox | None:
        if self.session is None:
            return None
        return next((box for box in self.session.film_boxes if box.uid == uid), None)

    def film_box(self, uid: str) -> FilmBox:
        film_box = self._find_film_box(uid)
        if film_box is None:
            raise NoSuchInstance(f"no such Film Box: {uid}")
        return film_box

    def current_film_box(self) -> FilmBox | None:
        """The last film box created: what a print without a SOP instance means."""
        if self.session is None or not self.session.film_boxes:
            return None
        return self.session.film_boxes[-1]

    def delete_film_box(self, uid: str) -> None:
        film_box = self.film_box(uid)
        assert self.session is not None
        self.session.film_boxes.remove(film_box)

    # Image and Annotation Boxes ---------------------------------------------------

    def _owner(self, uid: str, kind: str) -> tuple[FilmBox, ImageBox | AnnotationBox]:
        if self.session is not None:
            for film_box in reversed(self.session.film_boxes):
                box = film_box.image_box(uid) if kind == "image" else film_box.annotation_box(uid)
                if box is not None:
                    return self._settable(film_box), box
        noun = "Image Box" if kind == "image" else "Annotation Box"
        raise NoSuchInstance(f"no such {noun}: {uid}")

    def held_image_bytes(self, *, besides: str = "") -> int:
        """Pixel bytes of every image the session holds, but the one of image box ``besides``."""
        session = self.session
        return sum(
            box.image.pixels.nbytes
            for film_box in (session.film_boxes if session is not None else ())
            for box in film_box.image_boxes
            if box.image is not None and box.uid != besides
        )

    def check_image_bytes(self, uid: str, size: int) -> None:
        """Refuse (C605) an image the association cannot hold beside the others; the image
        it replaces no longer counts.  Asked before the pixels are decoded."""
        self._owner(uid, "image")
        limit = self.limits.max_association_image_bytes
        total = self.held_image_bytes(besides=uid) + size
        if total > limit:
            raise ImageTooLarge(f"images would take {total} bytes; at most {limit} at once")

    def set_image_box(self, uid: str, class_uid: str, request: ImageBoxRequest) -> list[Notice]:
        """N-SET (PS3.4 H.4.3.1.2.1): validate everything, then store; warn how it fits."""
        film_box, box = self._owner(uid, "image")
        assert isinstance(box, ImageBox)
        if class_uid != box.sop_class_uid:
            kind = "colour" if box.color else "grayscale"
            raise ClassInstanceConflict(f"wrong SOP class: this is a {kind} Image Box")
        if request.position != box.position:
            raise InvalidValue(
                f"Image Box Position {request.position} is not this box's {box.position}"
            )
        if request.image is not None:
            self.check_image_bytes(uid, request.image.pixels.nbytes)
        choices = self.choices()
        before = replace(box)
        box.apply(request, self.printer, choices, self.lut(request.presentation_lut_uid))
        try:
            notice = film_box.fit_notice(box)
        except ImageDoesNotFit:
            vars(box).update(vars(before))  # a refused image leaves the box as it was
            raise
        if notice is not None:
            choices.note(notice)
        return choices.notices

    def set_annotation_box(self, uid: str, position: int, text: str | None) -> None:
        _, box = self._owner(uid, "annotation")
        assert isinstance(box, AnnotationBox)
        box.apply(position, text)

    # Printing ---------------------------------------------------------------

    def print_film_box(self, uid: str) -> tuple[PrintJob, list[Notice]]:
        """N-ACTION on a Film Box: one film, B603 when it holds no image."""
        film_box = self.film_box(uid)
        notices = [] if film_box.has_images else [Notice.EMPTY_FILM_BOX]
        return self._job([film_box]), notices + self._fit_notices([film_box])

    def print_film_session(self, uid: str) -> tuple[PrintJob, list[Notice]]:
        """N-ACTION on the Film Session: every film box in creation order (C600 if none);
        more films than ``max_pages_per_job`` are refused before any is rendered (0x0213)."""
        session = self.film_session(uid)
        if not session.film_boxes:
            raise NoFilmBox("the Film Session holds no Film Box to print")
        pages, most = len(session.film_boxes), self.limits.max_pages_per_job
        if pages > most:
            raise ResourceLimitation(f"{pages} films in one job; at most {most}")
        empty = any(not box.has_images for box in session.film_boxes)
        notices = [Notice.EMPTY_FILM_SESSION] if empty else []
        return self._job(session.film_boxes), notices + self._fit_notices(session.film_boxes)

    @staticmethod
    def _fit_notices(film_boxes: list[FilmBox]) -> list[Notice]:
        notices: list[Notice] = []
        for film_box in film_boxes:
            notices += [notice for notice in film_box.fit_notices() if notice not in notices]
        return notices

    def _job(self, film_boxes: list[FilmBox]) -> PrintJob:
        session = self.session
        assert session is not None
        return PrintJob(
            printer=self.printer.ae_title,
            calling_ae=self.calling_ae,
            film_session_uid=session.uid,
            film_box_uids=tuple(box.uid for box in film_boxes),
            sheets=tuple(box.sheet(medium=session.medium_type) for box in film_boxes),
            copies=session.number_of_copies,
            priority=session.print_priority,
            label=session.film_session_label,
            media=self.printer.media_for(film_boxes[0].film_size_id),
            medium_type=session.medium_type,
            destination=session.film_destination,
            film_size=film_boxes[0].film_size_id,
        )
