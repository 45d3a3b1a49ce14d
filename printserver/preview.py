"""Pictures of spooled films for operators: the job's own PostScript, read back
(``postscript/reader.py``), as a PNG thumbnail or a PDF at film size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from printserver.postscript.reader import page_sizes, read_pages

THUMBNAIL_PX = 1200


def _thumbnail(page: npt.NDArray[np.uint8]) -> Image.Image:
    picture = Image.fromarray(page)
    picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return picture


def write_preview(document: Path, output: str | Path) -> Path:
    """A PNG thumbnail of the first film, or a PDF of every film at its physical size."""
    target = Path(output)
    pages = read_pages(document)
    if target.suffix.lower() != ".pdf":
        _thumbnail(pages[0]).save(target, format="PNG")
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
