"""The DIMSE status codes this SCP answers, and the Error Comments that go with them.

One table maps the print model's errors and notices onto PS3.7 C general codes
and the PS3.4 Annex H print codes; handlers never pick numbers themselves.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from printserver.model import errors

SUCCESS = 0x0000
NO_SUCH_ATTRIBUTE = 0x0105
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
CLASS_INSTANCE_CONFLICT = 0x0119
PROCESSING_FAILURE = 0x0110
NO_SUCH_SOP_INSTANCE = 0x0112
NO_SUCH_ACTION = 0x0123
UNRECOGNISED_OPERATION = 0x0211
RESOURCE_LIMITATION = 0x0213
IMAGE_TOO_LARGE = 0xC605
MISSING_ATTRIBUTE = 0x0120
INVALID_ATTRIBUTE_VALUE = 0x0106
QUEUE_FULL_FILM_SESSION = 0xC601
QUEUE_FULL_FILM_BOX = 0xC602

_ERRORS: tuple[tuple[type[errors.PrintModelError], int], ...] = (
    (errors.NoSuchInstance, NO_SUCH_SOP_INSTANCE),
    (errors.NoSuchAttribute, NO_SUCH_ATTRIBUTE),
    (errors.ClassInstanceConflict, CLASS_INSTANCE_CONFLICT),
    (errors.InUse, PROCESSING_FAILURE),
    (errors.ImageDoesNotFit, 0xC603),
    (errors.DuplicateInstance, 0x0111),
    (errors.InvalidObjectInstance, 0x0117),
    (errors.MissingAttribute, MISSING_ATTRIBUTE),
    (errors.InvalidValue, INVALID_ATTRIBUTE_VALUE),
    (errors.NoFilmBox, 0xC600),
    (errors.ImageTooLarge, 0xC605),
    (errors.ResourceLimitation, RESOURCE_LIMITATION),
    (errors.SpoolFull, QUEUE_FULL_FILM_BOX),
    (errors.UnrecognisedOperation, UNRECOGNISED_OPERATION),
)

_NOTICES: dict[errors.Notice, int] = {
    errors.Notice.VALUE_REPLACED: ATTRIBUTE_VALUE_OUT_OF_RANGE,
    errors.Notice.EMPTY_FILM_BOX: 0xB603,
    errors.Notice.EMPTY_FILM_SESSION: 0xB602,
    errors.Notice.MEMORY_ALLOCATION: 0xB600,
    errors.Notice.DENSITY_CLAMPED: 0xB605,
    errors.Notice.DEMAGNIFIED: 0xB604,
    errors.Notice.CROPPED: 0xB609,
    errors.Notice.DECIMATED: 0xB60A,
    errors.Notice.PIXEL_DATA_TRUNCATED: ATTRIBUTE_VALUE_OUT_OF_RANGE,
    errors.Notice.COPIES_CLAMPED: ATTRIBUTE_VALUE_OUT_OF_RANGE,
}

FAILURES: dict[int, str] = {
    0x0105: "No such attribute (strict printers: an attribute the SOP class does not define)",
    0x0106: "Invalid attribute value (also: an Image Display Format over the box limit; "
    "strict printers: Pixel Data longer than the image, Number of Copies over the "
    "limit)",
    0x0110: "Processing failure (also: Presentation LUT still referenced; internal error)",
    0x0111: "Duplicate SOP instance (a second Film Session, a reused UID)",
    0x0112: "No such SOP instance",
    0x0117: "Invalid object instance (Film Box without Film Session)",
    0x0118: "No such SOP class (a request naming a SOP class this SCP does not serve)",
    0x0119: "Class-instance conflict (colour N-SET on a grayscale box and vice versa)",
    0x0120: "Missing attribute",
    0x0123: "No such action (Action Type ID other than 1)",
    0x0211: "Unrecognised operation (e.g. N-GET of a Film Box)",
    0x0213: "Resource limitation (a data set larger than the server receives; a Film Box "
    "beyond max_film_boxes_per_session; a Film Session N-ACTION of more films than "
    "max_pages_per_job)",
    0xC600: "Film Session holds no Film Box",
    0xC601: "Print queue full (Film Session N-ACTION)",
    0xC602: "Print queue full (Film Box N-ACTION)",
    0xC603: "Image larger than its box and Requested Decimate/Crop Behavior FAIL",
    0xC605: "Image too large: more pixels than the printer's max_image_pixels, more bytes "
    "than max_image_bytes, or more than max_association_image_bytes held at once",
}
"""Every failure status this SCP answers, as the conformance statement lists them."""

ERROR_COMMENT_LENGTH = 64  # Error Comment (0000,0902) is LO


class DimseFailure(Exception):
    """A request refused by the network layer itself (bad data set, wrong operation)."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status


def status_dataset(status: int, comment: str = "") -> Dataset:
    """A status with an Error Comment, which pynetdicom copies into the response command.

    Error Comment is one LO value (PS3.5 6.2) of a command set, which has no
    Specific Character Set: a backslash would split it, so a value quoted in it
    (``STANDARD\\2,2``) shows a slash instead, and anything outside printable
    ASCII (a client's control characters among them) shows as ``?``.
    """
    result = Dataset()
    result.Status = status
    comment = "".join(
        "/" if char == "\\" else char if " " <= char <= "~" else "?" for char in comment
    )
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


def warnings() -> dict[int, str]:
    """Every warning status this SCP answers, with what it means here (one code may have
    several meanings, e.g. 0x0116)."""
    table: dict[int, str] = {}
    for notice, code in _NOTICES.items():
        table[code] = f"{table[code]}. Also: {notice.value}" if code in table else notice.value
    return table


def for_notices(notices: list[errors.Notice]) -> int:
    """The warning to report when a request succeeded with adjustments (first one wins)."""
    return _NOTICES[notices[0]] if notices else SUCCESS
