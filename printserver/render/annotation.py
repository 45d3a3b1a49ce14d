"""Annotation boxes (PS3.4 H.4.5): text strings drawn in the film's annotation band.

Text is rasterised with Pillow's built-in scalable font at film scale (the
capital height is the format's ``text_mm``) and laid onto the page as solid
ink in the colour that contrasts with the border, so it reads on black film
and on white paper alike.  Each string is clipped to its own box.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from printserver.render.sheet import SheetAnnotation

Ink = int | npt.NDArray[np.uint8]
"""A page value: a gray drive value or RGB level (all channels), or one value per channel."""

CAP_HEIGHT = 0.72
"""Capital height of the built-in font as a fraction of its size."""


def text_mask(
    text: str, width: int, height: int, size_px: int, align: str
) -> npt.NDArray[np.bool_]:
    """Where the ink of ``text`` falls in a ``width × height`` box, vertically centred."""
    canvas = Image.new("L", (max(1, width), max(1, height)), 0)
    if text:
        font = ImageFont.load_default(size=max(6, size_px))
        draw = ImageDraw.Draw(canvas)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(1, size_px // 4)
        if align == "center":
            x = (width - (right - left)) // 2 - left
        elif align == "right":
            x = width - pad - right
        else:
            x = pad - left
        y = (height - (bottom - top)) // 2 - top
        draw.text((x, y), text, fill=255, font=font)
    return np.asarray(canvas) >= 128


def draw_annotation(
    page: npt.NDArray[np.uint16] | npt.NDArray[np.uint8],
    band: tuple[int, int, int, int],
    annotation: SheetAnnotation,
    dpi: int,
    ink: Ink,
) -> None:
    """Draw every annotation text of a film box into its band, in place."""
    x0, y0, x1, y1 = band
    size_px = round(annotation.text_mm * dpi / 25.4 / CAP_HEIGHT)
    for box, align, text in zip(annotation.boxes, annotation.aligns, annotation.texts, strict=True):
        left = x0 + round(box.x * (x1 - x0))
        top = y0 + round(box.y * (y1 - y0))
        right = x0 + round((box.x + box.width) * (x1 - x0))
        bottom = y0 + round((box.y + box.height) * (y1 - y0))
        if not text or right <= left or bottom <= top:
            continue
        mask = text_mask(text, right - left, bottom - top, size_px, align)
        page[top:bottom, left:right][mask] = ink
