"""Response data sets: the effective values a client gets back from N-CREATE and N-ACTION.

Film Session and Film Box N-CREATE always answer with their attribute list
(some SCUs fail without one; PS3.4 Table H.4-6), including every default applied.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from printserver.model.film_box import FilmBox
from printserver.model.film_session import FilmSession
from printserver.model.hierarchy import PrintHierarchy
from printserver.model.presentation_lut import PresentationLutInstance
from printserver.model.sop_classes import ANNOTATION_BOX, FILM_SESSION, PRESENTATION_LUT, PRINT_JOB
from printserver.order.attributes import FILM_BOX_ATTRIBUTES

_RESOLVED_APART = frozenset(
    (
        "illumination",
        "reflected_ambient_light",
        "annotation_display_format_id",
        "presentation_lut_uid",
    )
)
"""Film box fields answered below, not as stored: the viewing light of the medium, and the
annotation format and LUT only when there are such (references, not values)."""

REFERENCED_PRINT_JOB_SEQUENCE = 0x21000500
"""Referenced Print Job Sequence of the N-ACTION reply (PS3.4 H.4.1.2.4.1, H.4.2.2.4.1)."""


def reference(class_uid: str, instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    return item


def film_session(session: FilmSession) -> Dataset:
    reply = Dataset()
    reply.NumberOfCopies = str(session.number_of_copies)
    reply.PrintPriority = session.print_priority
    reply.MediumType = session.medium_type
    reply.FilmDestination = session.film_destination
    if session.film_session_label:
        reply.FilmSessionLabel = session.film_session_label
    if session.owner_id:
        reply.OwnerID = session.owner_id
    return reply


def film_box(box: FilmBox, hierarchy: PrintHierarchy) -> Dataset:
    assert hierarchy.session is not None
    reply = Dataset()
    for attribute in FILM_BOX_ATTRIBUTES:  # as the box holds them, every default applied
        if attribute.field and attribute.field not in _RESOLVED_APART:
            setattr(reply, attribute.keyword, getattr(box, attribute.field))
    viewing = box.viewing(hierarchy.session.medium_type)  # what the film is rendered with
    reply.Illumination = viewing.illumination
    reply.ReflectedAmbientLight = viewing.reflected_ambient_light
    reply.ReferencedFilmSessionSequence = [reference(FILM_SESSION, hierarchy.session.uid)]
    reply.ReferencedImageBoxSequence = [
        reference(image.sop_class_uid, image.uid) for image in box.image_boxes
    ]
    if box.presentation_lut is not None:
        reply.ReferencedPresentationLUTSequence = [
            reference(PRESENTATION_LUT, box.presentation_lut.uid)
        ]
    if box.annotation_boxes:
        reply.AnnotationDisplayFormatID = box.annotation_display_format_id
        reply.ReferencedBasicAnnotationBoxSequence = [
            reference(ANNOTATION_BOX, annotation.uid) for annotation in box.annotation_boxes
        ]
    return reply


def presentation_lut(lut: PresentationLutInstance) -> Dataset:
    reply = Dataset()
    if lut.lut.table is None:
        reply.PresentationLUTShape = lut.lut.shape
    return reply


def print_job_reference(print_job_uid: str) -> Dataset:
    """The N-ACTION reply when Print Job was negotiated: exactly one item (fo-dicom#1523)."""
    reply = Dataset()
    reply.add_new(REFERENCED_PRINT_JOB_SEQUENCE, "SQ", [reference(PRINT_JOB, print_job_uid)])
    return reply
