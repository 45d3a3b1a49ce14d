"""What an N-CREATE, N-SET or N-DELETE does to an association's print hierarchy.

Shared by the live DIMSE handlers and by the replay that renders a spooled job
again from the objects its client sent (``order/replay.py``): both read the
data sets the same way, so a re-rendered film is the film the client asked for.
Each request's strings are held to their VR first (``order/vr_strings.py``); the
warnings of that check come before the print model's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from printserver.model.errors import Notice, UnrecognisedOperation
from printserver.model.film_box import FilmBox
from printserver.model.film_session import FilmSession
from printserver.model.hierarchy import PrintHierarchy
from printserver.model.presentation_lut import PresentationLutInstance
from printserver.model.sop_classes import (
    ANNOTATION_BOX,
    COLOR_IMAGE_BOX,
    COLOR_PRINT_META,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    PRESENTATION_LUT,
)
from printserver.order import attributes, values
from printserver.order.vr_strings import StringCheck


@dataclass(frozen=True)
class Created:
    """The outcome of an N-CREATE: the new instance and any warnings."""

    uid: str
    instance: FilmSession | FilmBox | PresentationLutInstance
    notices: list[Notice]


def _merged(first: list[Notice], then: list[Notice]) -> list[Notice]:
    return first + [notice for notice in then if notice not in first]


def n_create(
    hierarchy: PrintHierarchy,
    class_uid: str,
    uid: str | None,
    ds: Dataset,
    *,
    context: str,
    big_endian: bool,
) -> Created:
    """Create a Film Session, Film Box or Presentation LUT (PS3.4 H.4.1-H.4.2, H.4.9)."""
    strict = hierarchy.printer.settings.strict
    check = StringCheck(strict)
    if class_uid == FILM_SESSION:
        if strict:
            attributes.check_known(ds, attributes.FILM_SESSION_KEYWORDS, "Film Session")
        session, notices = hierarchy.create_film_session(
            uid, attributes.film_session_request(ds, check)
        )
        return Created(session.uid, session, _merged(check.notices, notices))
    if class_uid == FILM_BOX:
        if strict:
            attributes.check_known(ds, attributes.FILM_BOX_KEYWORDS, "Film Box")
        film_box, notices = hierarchy.create_film_box(
            uid,
            attributes.film_box_request(ds, check),
            values.referenced_uid(ds, "ReferencedFilmSessionSequence", check),
            color=context == COLOR_PRINT_META,
        )
        return Created(film_box.uid, film_box, _merged(check.notices, notices))
    if class_uid == PRESENTATION_LUT:
        if strict:
            attributes.check_known(ds, attributes.PRESENTATION_LUT_KEYWORDS, "Presentation LUT")
        lut = hierarchy.create_presentation_lut(
            uid, attributes.presentation_lut_request(ds, check, big_endian=big_endian)
        )
        return Created(lut.uid, lut, check.notices)
    raise UnrecognisedOperation(f"N-CREATE of {class_uid}")


def n_set(
    hierarchy: PrintHierarchy,
    class_uid: str,
    uid: str,
    ds: Dataset,
    *,
    big_endian: bool,
    pixel_data: bytes | memoryview | None = None,
) -> list[Notice]:
    """Set a Film Session, Film Box, Image Box or Annotation Box (PS3.4 H.4.1-H.4.5).

    ``pixel_data``: an image's Pixel Data where it was received (``order/admission.py``).
    """
    strict = hierarchy.printer.settings.strict
    check = StringCheck(strict)
    if class_uid in (GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX):
        color = class_uid == COLOR_IMAGE_BOX
        if strict:
            known = (
                attributes.COLOR_IMAGE_BOX_KEYWORDS
                if color
                else attributes.GRAYSCALE_IMAGE_BOX_KEYWORDS
            )
            attributes.check_known(ds, known, "Image Box")
        request = attributes.image_box_request(
            ds, check, color=color, big_endian=big_endian, pixel_data=pixel_data
        )
        return _merged(check.notices, hierarchy.set_image_box(uid, class_uid, request))
    if class_uid == FILM_BOX:
        if strict:
            attributes.check_known(ds, attributes.FILM_BOX_KEYWORDS, "Film Box")
        request_box = attributes.film_box_request(ds, check)
        return _merged(check.notices, hierarchy.set_film_box(uid, request_box))
    if class_uid == FILM_SESSION:
        if strict:
            attributes.check_known(ds, attributes.FILM_SESSION_KEYWORDS, "Film Session")
        request_session = attributes.film_session_request(ds, check)
        return _merged(check.notices, hierarchy.set_film_session(uid, request_session))
    if class_uid == ANNOTATION_BOX:
        if strict:
            attributes.check_known(ds, attributes.ANNOTATION_BOX_KEYWORDS, "Annotation Box")
        hierarchy.set_annotation_box(uid, *attributes.annotation(ds, check))
        return check.notices
    raise UnrecognisedOperation(f"N-SET of {class_uid}")


def n_delete(hierarchy: PrintHierarchy, class_uid: str, uid: str) -> None:
    """Delete a Film Box, Film Session or Presentation LUT (PS3.4 H.4.1.2.3, H.4.2.2.3)."""
    if class_uid == FILM_BOX:
        hierarchy.delete_film_box(uid)
    elif class_uid == FILM_SESSION:
        hierarchy.delete_film_session(uid)
    elif class_uid == PRESENTATION_LUT:
        hierarchy.delete_presentation_lut(uid)
    else:
        raise UnrecognisedOperation(f"N-DELETE of {class_uid}")
