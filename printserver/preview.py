"""Pictures of spooled films for operators: the job's own PostScript, read back
(``postscript/reader.py``), as a PNG or JPEG thumbnail or a PDF at film size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from printserver.postscript.reader import iter_pages, page_sizes

THUMBNAIL_PX = 1200
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".pdf": "PDF"}
"""File name suffix → what is written: the name says what the file holds."""


class UnknownPictureType(ValueError):
    """A file name whose suffix names no picture type we write."""


def picture_format(output: str | Path) -> str:
    """The format a preview file of this name is written in (PNG, JPEG or PDF)."""
    suffix = Path(output).suffix.lower()
    if suffix not in PICTURE_FORMATS:
        known = ", ".join(PICTURE_FORMATS)
        raise UnknownPictureType(f"{suffix or 'no suffix'} is not a picture type; use {known}")
    return PICTURE_FORMATS[suffix]


def _thumbnail(page: npt.NDArray[np.uint8]) -> Image.Image:
    picture = Image.fromarray(page)
    picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return picture


def write_preview(document: Path, output: str | Path) -> Path:
    """A PNG or JPEG thumbnail of the first film, or a PDF of every film at its physical
    size, by the suffix of ``output``."""
    target = Path(output)
    kind = picture_format(target)
    pages = iter_pages(document)  # decoded one at a time: a thumbnail decodes only the first
    if kind != "PDF":
        _thumbnail(next(pages)).save(target, format=kind)
        return target
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    sizes = page_sizes(document)
    pdf = canvas.Canvas(str(target))
    for index, page in enumerate(pages):
        width_pt, height_pt = (
            sizes[index]
            if index < len(sizes)
            else (page.shape[1] * 72 / 320, page.shape[0] * 72 / 320)
        )
        pdf.setPageSize((width_pt, height_pt))
        pdf.drawImage(ImageReader(_thumbnail(page)), 0, 0, width_pt, height_pt)
        pdf.showPage()
    pdf.save()
    return target
