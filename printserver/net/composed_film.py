"""The data sets of a film we composed for a DICOM imager (``mode = "composed"``).

Each page goes out as the one image of a ``STANDARD\\1,1`` film box: 12-bit P-values in
16 bits (Basic Grayscale Image, PS3.4 H.4.3.1) or 8-bit RGB (Basic Color Image, PS3.4
H.4.4.1).  The modality's film session and film box attributes go with it, but for those
that do not hold for our page (:data:`NOT_COMPOSED`).  The association that sends them is
``net/imager.py``'s.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from printserver.model.sop_classes import COLOR_IMAGE_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX
from printserver.net.replies import reference
from printserver.postscript.reader import Page

LAYOUT = "STANDARD\\1,1"

NOT_COMPOSED = (
    "ReferencedPresentationLUTSequence",
    "AnnotationDisplayFormatID",
    "ReferencedImageBoxSequence",
    "ReferencedBasicAnnotationBoxSequence",
)
"""Film box attributes of the modality that do not hold for our page: its annotations are
drawn on it, and its P-values take the imager's default Presentation LUT, IDENTITY."""


def film_session(modality: Dataset, copies: int) -> Dataset:
    """The modality's film session for ``copies``, without a session-level LUT (pre-CP-173)."""
    session = Dataset()
    session.update(modality)
    session.pop("ReferencedPresentationLUTSequence", None)
    session.NumberOfCopies = copies
    return session


def film_box(modality: Dataset, session_uid: str) -> Dataset:
    """The modality's film box, in :data:`LAYOUT`, under the session ``session_uid``."""
    box = Dataset()
    box.update(modality)
    for keyword in NOT_COMPOSED:
        box.pop(keyword, None)
    box.ImageDisplayFormat = LAYOUT
    box.ReferencedFilmSessionSequence = [reference(FILM_SESSION, session_uid)]
    return box


def image_box(page: Page) -> tuple[str, Dataset]:
    """The N-SET of image box 1 that carries ``page``, and its SOP class."""
    image = Dataset()
    image.ImageBoxPosition = 1
    if page.ndim == 3:
        image.BasicColorImageSequence = [_image(page, 8, "RGB")]
        return COLOR_IMAGE_BOX, image
    image.BasicGrayscaleImageSequence = [_image(page, 12, "MONOCHROME2")]
    return GRAYSCALE_IMAGE_BOX, image


def _image(page: Page, bits: int, photometric: str) -> Dataset:
    item = Dataset()
    item.SamplesPerPixel = 3 if page.ndim == 3 else 1
    item.PhotometricInterpretation = photometric
    if page.ndim == 3:
        item.PlanarConfiguration = 0
    item.Rows, item.Columns = page.shape[:2]
    item.BitsAllocated = 8 if bits == 8 else 16
    item.BitsStored = bits
    item.HighBit = bits - 1
    item.PixelRepresentation = 0
    data = np.ascontiguousarray(page, dtype=np.uint8 if bits == 8 else "<u2").tobytes()
    item.add_new(0x7FE00010, "OB" if bits == 8 else "OW", data)
    return item
