"""What an N-SET may make the server hold, decided before an image's pixels are read.

An Image Box N-SET (PS3.4 H.4.3.1.2.1, H.4.4.1.2.1) is sized from its image
item's Rows × Columns × Samples per Pixel × Bits Allocated alone:

* one image over ``max_image_bytes`` is refused with C605 (insufficient memory
  in printer to store the image);
* so is one that would make the association hold more than
  ``max_association_image_bytes`` at once (the image it replaces not counted);
* Pixel Data longer than the image (PS3.5 8.1.1: exactly the pixels, plus one
  padding byte when that is odd) is refused with 0x0106 by a strict printer.
  A lenient printer prints the image and answers 0x0116: the excess is cut
  from the received data set before anything keeps it, so it reaches neither
  the print model nor the spooled job.  The padding byte is no excess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydicom.dataset import Dataset

from printserver.model.errors import ImageTooLarge, InvalidValue, Notice
from printserver.model.hierarchy import PrintHierarchy
from printserver.model.sop_classes import COLOR_IMAGE_BOX, GRAYSCALE_IMAGE_BOX
from printserver.order import requests, values
from printserver.order.received import ReceivedDataSet


def _first_item(ds: Dataset, keyword: str) -> Dataset | None:
    try:
        sequence: Any = ds.get(keyword)
    except Exception:  # garbage is for the attribute readers to report
        return None
    return sequence[0] if sequence else None


def image_size(item: Dataset, *, color: bool) -> int | None:
    """Bytes of the image an item describes; None when it cannot tell (the decoder will)."""
    rows, columns = values.integer(item, "Rows"), values.integer(item, "Columns")
    bits = values.integer(item, "BitsAllocated")
    samples = values.integer(item, "SamplesPerPixel") or (3 if color else 1)
    if not rows or not columns or not bits or min(rows, columns, bits, samples) < 0:
        return None
    return (rows * columns * samples * bits + 7) // 8


def admit(
    hierarchy: PrintHierarchy, uid: str, received: ReceivedDataSet, *, color: bool
) -> tuple[ReceivedDataSet, list[Notice]]:
    """The data set to keep for an Image Box N-SET, and the warning when excess was cut."""
    keyword = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    item = _first_item(received.dataset, keyword)
    size = image_size(item, color=color) if item is not None else None
    if size is None:
        return received, []
    limit = hierarchy.limits.max_image_bytes
    if size > limit:
        raise ImageTooLarge(f"image of {size} bytes is over the limit of {limit}")
    hierarchy.check_image_bytes(uid, size)
    padded = size + size % 2
    values = received.pixels(keyword)
    excess = sum(
        value.length - (padded if value.item == 0 else 0)
        for value in values
        if value.item != 0 or value.length > padded
    )
    if not excess:
        return received, []
    if hierarchy.printer.settings.strict:
        raise InvalidValue(f"Pixel Data holds {excess} bytes more than the image")
    first = next((value.length for value in values if value.item == 0), 0)
    return received.trimmed(keyword, min(first, padded)), [Notice.PIXEL_DATA_TRUNCATED]


def n_set(
    hierarchy: PrintHierarchy,
    class_uid: str,
    uid: str,
    received: ReceivedDataSet,
    keep: Callable[[ReceivedDataSet], ReceivedDataSet] = lambda kept: kept,
) -> tuple[list[Notice], ReceivedDataSet]:
    """An N-SET as received (PS3.4 H.4.1-H.4.5): an image is admitted, then read in place.

    ``keep`` stores an admitted image's data set (e.g. spills it to disk) before the
    print model takes its pixels.  Returns the warnings and the data set to remember for
    the spooled job.
    """
    notices: list[Notice] = []
    pixel_data = None
    if class_uid in (GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX):
        color = class_uid == COLOR_IMAGE_BOX
        received, notices = admit(hierarchy, uid, received, color=color)
        received = keep(received)
        pixel_data = received.pixel_data(
            "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
        )
    try:
        more = requests.n_set(
            hierarchy,
            class_uid,
            uid,
            received.dataset,
            big_endian=not received.little_endian,
            pixel_data=pixel_data,
        )
    except BaseException:
        received.discard()  # a refused image leaves nothing behind (a spilled copy included)
        raise
    return notices + [notice for notice in more if notice not in notices], received
