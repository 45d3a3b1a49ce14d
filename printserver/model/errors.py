"""What can go wrong, or be adjusted, in the print model.

The model raises these with a sentence for the operator and the client; the
network layer alone turns them into DIMSE status codes (``net/status.py``).
"""

from __future__ import annotations

from enum import Enum


class PrintModelError(Exception):
    """A request the print model refuses; the message becomes the Error Comment."""


class NoSuchInstance(PrintModelError):
    """The SOP instance named by the request does not exist in this association."""


class DuplicateInstance(PrintModelError):
    """The instance exists already (a second Film Session, a reused UID)."""


class InvalidObjectInstance(PrintModelError):
    """The request does not fit the current state (a Film Box without a Film Session)."""


class MissingAttribute(PrintModelError):
    """A mandatory attribute is absent."""


class InvalidValue(PrintModelError):
    """An attribute has a value the printer cannot use."""


class NoSuchAttribute(PrintModelError):
    """An attribute this SOP class does not support (strict printers only, 0x0105)."""


class ClassInstanceConflict(PrintModelError):
    """The request names the wrong SOP class for the instance (0x0119)."""


class InUse(PrintModelError):
    """The instance cannot go while others reference it (a Presentation LUT, 0x0110)."""


class ImageDoesNotFit(PrintModelError):
    """The image is larger than its box and the SCU said FAIL (C603)."""


class NoFilmBox(PrintModelError):
    """A Film Session was printed that holds no Film Box (PS3.4 H.4.1.2.4: C600)."""


class ImageTooLarge(PrintModelError):
    """An image exceeds what this printer accepts in one box, or what one association may
    hold (C605, PS3.4 H.4.3.1.2.1: insufficient memory in printer to store the image)."""


class ResourceLimitation(PrintModelError):
    """More Film Boxes or pages than one peer may ask for (0x0213, PS3.7 C.5)."""


class UnrecognisedOperation(PrintModelError):
    """An operation the SOP class does not have, e.g. N-SET of a Presentation LUT (0x0211)."""


class SpoolFull(PrintModelError):
    """The print queue cannot take the job (C601 / C602)."""


class Notice(Enum):
    """Warnings: the request succeeded with an adjustment."""

    VALUE_REPLACED = "a value was not supported; the default was used"
    EMPTY_FILM_BOX = "the film box holds no image; an empty film was printed"
    EMPTY_FILM_SESSION = "a film box of the session holds no image"
    MEMORY_ALLOCATION = "Memory Allocation is not supported"
    DENSITY_CLAMPED = "a density was outside the printer's range; its own limit was used"
    DEMAGNIFIED = "the image was larger than its box and was demagnified"
    CROPPED = "the image was larger than its box and was cropped"
    DECIMATED = "the image was larger than its box and was decimated"
    PIXEL_DATA_TRUNCATED = "Pixel Data was longer than the image; the excess was dropped"
    COPIES_CLAMPED = "Number of Copies was over the limit; the limit was printed"
