"""A pynetdicom print SCU for tests: the message flow of PS3.17 BB over loopback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, sop_class
from pynetdicom.association import Association

from tests.requestor import guard_reactor

GRAY_META = sop_class.BasicGrayscalePrintManagementMeta


@dataclass
class FilmResult:
    """Statuses the SCP answered, in order, and what the Film Box N-CREATE returned."""

    statuses: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    image_box_uids: list[str] = field(default_factory=list)
    film_box: Dataset | None = None


def connect(port: int, called_ae: str, calling_ae: str = "TESTSCU") -> Association:
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(GRAY_META)
    ae.add_requested_context(sop_class.Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return guard_reactor(ae.associate("127.0.0.1", port, ae_title=called_ae))


def image_item(
    pixels: npt.NDArray[np.uint16], *, bits: int = 12, photometric: str = "MONOCHROME2"
) -> Dataset:
    """A Basic Grayscale Image Sequence item (8/8/7 or 16/12/11)."""
    item = Dataset()
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = photometric
    item.Rows, item.Columns = pixels.shape
    item.BitsAllocated = 8 if bits == 8 else 16
    item.BitsStored = bits
    item.HighBit = bits - 1
    item.PixelRepresentation = 0
    dtype = np.uint8 if bits == 8 else np.dtype("<u2")
    item.PixelData = pixels.astype(dtype).tobytes()
    return item


def _status(result: FilmResult, name: str, status: Dataset | None) -> int:
    code = int(status.Status) if status is not None and "Status" in status else -1
    result.statuses[name] = code
    if status is not None and "ErrorComment" in status:
        result.comments[name] = str(status.ErrorComment)
    return code


def print_film(
    assoc: Association,
    images: Sequence[npt.NDArray[np.uint16] | None],
    *,
    bits: int = 12,
    display_format: str = "STANDARD\\2,2",
    film_size: str = "14INX17IN",
    orientation: str = "PORTRAIT",
    photometric: str = "MONOCHROME2",
    label: str = "",
    delete: bool = True,
) -> FilmResult:
    """Film Session, Film Box, one N-SET per image, N-ACTION, N-DELETEs."""
    result = FilmResult()
    session_uid, film_box_uid = generate_uid(), generate_uid()
    session = Dataset()
    session.NumberOfCopies = "1"
    session.MediumType = "BLUE FILM"
    if label:
        session.FilmSessionLabel = label
    status, _ = assoc.send_n_create(
        session, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META, msg_id=1
    )
    if _status(result, "session", status) != 0:
        return result
    box = Dataset()
    box.ImageDisplayFormat = display_format
    box.FilmOrientation = orientation
    box.FilmSizeID = film_size
    box.MagnificationType = "CUBIC"
    reference = Dataset()
    reference.ReferencedSOPClassUID = sop_class.BasicFilmSession
    reference.ReferencedSOPInstanceUID = session_uid
    box.ReferencedFilmSessionSequence = [reference]
    status, reply = assoc.send_n_create(
        box, sop_class.BasicFilmBox, film_box_uid, meta_uid=GRAY_META, msg_id=2
    )
    if _status(result, "film_box", status) != 0 or reply is None:
        return result
    result.film_box = reply
    result.image_box_uids = [
        str(item.ReferencedSOPInstanceUID) for item in reply.ReferencedImageBoxSequence
    ]
    pairs = zip(result.image_box_uids, images, strict=False)
    for position, (uid, pixels) in enumerate(pairs, start=1):
        if pixels is None:
            continue
        modification = Dataset()
        modification.ImageBoxPosition = position
        modification.BasicGrayscaleImageSequence = [
            image_item(pixels, bits=bits, photometric=photometric)
        ]
        status, _ = assoc.send_n_set(
            modification,
            sop_class.BasicGrayscaleImageBox,
            uid,
            meta_uid=GRAY_META,
            msg_id=2 + position,
        )
        _status(result, f"image_box_{position}", status)
    status, _ = assoc.send_n_action(
        None, 1, sop_class.BasicFilmBox, film_box_uid, meta_uid=GRAY_META, msg_id=100
    )
    _status(result, "print", status)
    if delete:
        status = assoc.send_n_delete(
            sop_class.BasicFilmBox, film_box_uid, meta_uid=GRAY_META, msg_id=101
        )
        _status(result, "delete_film_box", status)
        status = assoc.send_n_delete(
            sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META, msg_id=102
        )
        _status(result, "delete_session", status)
    return result


def cell_images(rows: int = 256, cols: int = 200, bits: int = 12) -> list[npt.NDArray[np.uint16]]:
    """Four images telling their cells apart: distinct levels plus a diagonal ramp."""
    top = (1 << bits) - 1
    y, x = np.mgrid[0:rows, 0:cols]
    ramp = ((x + y) / (rows + cols) * top * 0.2).astype(np.int64)
    images = []
    for level in (0.1, 0.35, 0.6, 0.85):
        base = int(level * top * 0.8)
        images.append(np.clip(base + ramp, 0, top).astype(np.uint16))
    return images
