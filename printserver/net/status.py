"""The DIMSE status codes this SCP answers, and the Error Comments that go with them.

One table maps the print model's errors and notices onto PS3.7 C general codes
and the PS3.4 Annex H print codes; handlers never pick numbers themselves.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from printserver.model import errors

SUCCESS = 0x0000
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
PROCESSING_FAILURE = 0x0110
NO_SUCH_SOP_INSTANCE = 0x0112
NO_SUCH_ACTION = 0x0123
UNRECOGNISED_OPERATION = 0x0211
MISSING_ATTRIBUTE = 0x0120
INVALID_ATTRIBUTE_VALUE = 0x0106
QUEUE_FULL_FILM_SESSION = 0xC601
QUEUE_FULL_FILM_BOX = 0xC602

_ERRORS: tuple[tuple[type[errors.PrintModelError], int], ...] = (
    (errors.NoSuchInstance, NO_SUCH_SOP_INSTANCE),
    (errors.DuplicateInstance, 0x0111),
    (errors.InvalidObjectInstance, 0x0117),
    (errors.MissingAttribute, MISSING_ATTRIBUTE),
    (errors.InvalidValue, INVALID_ATTRIBUTE_VALUE),
    (errors.NoFilmBox, 0xC600),
    (errors.ImageTooLarge, 0xC605),
    (errors.SpoolFull, QUEUE_FULL_FILM_BOX),
)

_NOTICES: dict[errors.Notice, int] = {
    errors.Notice.VALUE_REPLACED: ATTRIBUTE_VALUE_OUT_OF_RANGE,
    errors.Notice.EMPTY_FILM_BOX: 0xB603,
    errors.Notice.EMPTY_FILM_SESSION: 0xB602,
    errors.Notice.MEMORY_ALLOCATION: 0xB600,
}

ERROR_COMMENT_LENGTH = 64  # Error Comment (0000,0902) is LO


class DimseFailure(Exception):
    """A request refused by the network layer itself (bad data set, wrong operation)."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status


def status_dataset(status: int, comment: str = "") -> Dataset:
    """A status with an Error Comment, which pynetdicom copies into the response command."""
    result = Dataset()
    result.Status = status
    if comment:
        if len(comment) > ERROR_COMMENT_LENGTH:
            comment = comment[: ERROR_COMMENT_LENGTH - 3] + "..."
        result.ErrorComment = comment
    return result


def for_error(error: errors.PrintModelError) -> int:
    for kind, status in _ERRORS:
        if isinstance(error, kind):
            return status
    return PROCESSING_FAILURE


def for_notices(notices: list[errors.Notice]) -> int:
    """The warning to report when a request succeeded with adjustments (first one wins)."""
    return _NOTICES[notices[0]] if notices else SUCCESS
