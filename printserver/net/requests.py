"""What an N-CREATE, N-SET or N-DELETE does to an association's print hierarchy.

Shared by the live DIMSE handlers and by the replay that renders a spooled job
again from the objects its client sent (``net/transcript.py``): both read the
data sets the same way, so a re-rendered film is the film the client asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from printserver.model.errors import Notice
from printserver.model.hierarchy import PrintHierarchy
from printserver.net import attributes, replies, status
from printserver.net.status import DimseFailure
from printserver.net.uids import (
    ANNOTATION_BOX,
    COLOR_IMAGE_BOX,
    COLOR_PRINT_META,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    PRESENTATION_LUT,
)


@dataclass(frozen=True)
class Created:
    """The outcome of an N-CREATE: the instance, the reply data set and any warnings."""

    uid: str
    reply: Dataset
    notices: list[Notice]


def n_create(hierarchy: PrintHierarchy, class_uid: str, uid: str | None, ds: Dataset, *,
             context: str, big_endian: bool) -> Created:
    """Create a Film Session, Film Box or Presentation LUT (PS3.4 H.4.1-H.4.2, H.4.9)."""
    strict = hierarchy.printer.strict
    if class_uid == FILM_SESSION:
        if strict:
            attributes.check_known(ds, attributes.FILM_SESSION_KEYWORDS, "Film Session")
        session, notices = hierarchy.create_film_session(
            uid, attributes.film_session_request(ds))
        return Created(session.uid, replies.film_session(session), notices)
    if class_uid == FILM_BOX:
        if strict:
            attributes.check_known(ds, attributes.FILM_BOX_KEYWORDS, "Film Box")
        film_box, notices = hierarchy.create_film_box(
            uid, attributes.film_box_request(ds),
            attributes.referenced_uid(ds, "ReferencedFilmSessionSequence"),
            color=context == COLOR_PRINT_META)
        return Created(film_box.uid, replies.film_box(film_box, hierarchy), notices)
    if class_uid == PRESENTATION_LUT:
        if strict:
            attributes.check_known(ds, attributes.PRESENTATION_LUT_KEYWORDS, "Presentation LUT")
        lut = hierarchy.create_presentation_lut(
            uid, attributes.presentation_lut_request(ds, big_endian=big_endian))
        return Created(lut.uid, replies.presentation_lut(lut), [])
    raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-CREATE of {class_uid}")


def n_set(hierarchy: PrintHierarchy, class_uid: str, uid: str, ds: Dataset, *,
          big_endian: bool) -> list[Notice]:
    """Set a Film Session, Film Box, Image Box or Annotation Box (PS3.4 H.4.1-H.4.5)."""
    strict = hierarchy.printer.strict
    if class_uid in (GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX):
        color = class_uid == COLOR_IMAGE_BOX
        if strict:
            known = (attributes.COLOR_IMAGE_BOX_KEYWORDS if color
                     else attributes.GRAYSCALE_IMAGE_BOX_KEYWORDS)
            attributes.check_known(ds, known, "Image Box")
        request = attributes.image_box_request(ds, color=color, big_endian=big_endian)
        return hierarchy.set_image_box(uid, class_uid, request)
    if class_uid == FILM_BOX:
        if strict:
            attributes.check_known(ds, attributes.FILM_BOX_KEYWORDS, "Film Box")
        return hierarchy.set_film_box(uid, attributes.film_box_request(ds))
    if class_uid == FILM_SESSION:
        if strict:
            attributes.check_known(ds, attributes.FILM_SESSION_KEYWORDS, "Film Session")
        return hierarchy.set_film_session(uid, attributes.film_session_request(ds))
    if class_uid == ANNOTATION_BOX:
        if strict:
            attributes.check_known(ds, attributes.ANNOTATION_BOX_KEYWORDS, "Annotation Box")
        hierarchy.set_annotation_box(uid, *attributes.annotation(ds))
        return []
    raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-SET of {class_uid}")


def n_delete(hierarchy: PrintHierarchy, class_uid: str, uid: str) -> None:
    """Delete a Film Box, Film Session or Presentation LUT (PS3.4 H.4.1.2.3, H.4.2.2.3)."""
    if class_uid == FILM_BOX:
        hierarchy.delete_film_box(uid)
    elif class_uid == FILM_SESSION:
        hierarchy.delete_film_session(uid)
    elif class_uid == PRESENTATION_LUT:
        hierarchy.delete_presentation_lut(uid)
    else:
        raise DimseFailure(status.UNRECOGNISED_OPERATION, f"N-DELETE of {class_uid}")
