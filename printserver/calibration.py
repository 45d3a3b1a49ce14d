"""Printer calibration: a step-wedge film, and a characteristic curve from its densities.

The workflow of hardware film imagers (as PS3.14 7.3 assumes for hardcopy): print a wedge of evenly
spaced drive values, measure each patch with a densitometer, and store the
measured density per drive value as the printer's ``characteristic_curve``.
The renderer then inverts that curve, so the densities the GSDF model asks for
are the densities that come out.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from printserver.model.layout import parse_display_format
from printserver.model.printer import Printer
from printserver.render.geometry import Box
from printserver.render.sheet import DRIVE_MAX, FilmSheet, SheetAnnotation, SheetImage

WEDGE_LABEL_MM = 10.0
"""Height of the band under the wedge that says what it is."""
DEFAULT_STEPS = 21


class CalibrationError(ValueError):
    """Measurements that cannot make a curve; the message says which."""


def wedge_drives(steps: int = DEFAULT_STEPS) -> list[int]:
    """Drive values of the wedge's patches, from black (0) to white (4095)."""
    if not 2 <= steps <= 64:
        raise CalibrationError(f"a wedge has 2 to 64 steps, not {steps}")
    return [round(k * DRIVE_MAX / (steps - 1)) for k in range(steps)]


def wedge_sheet(
    printer: Printer, steps: int = DEFAULT_STEPS, when: datetime | None = None
) -> FilmSheet:
    """A film of flat patches at the wedge's drive values, numbered row by row.

    The patches bypass the density model (no tone scale): each prints exactly
    its drive value, which is what the densitometer readings are paired with.
    """
    drives = wedge_drives(steps)
    columns = math.ceil(math.sqrt(steps * 0.8))
    rows = math.ceil(steps / columns)
    boxes = parse_display_format(f"STANDARD\\{columns},{rows}")[:steps]
    images = {
        index + 1: SheetImage(np.full((4, 4), drive, np.uint16), 12, magnification="REPLICATE")
        for index, drive in enumerate(drives)
    }
    stamp = (when or datetime.now()).strftime("%Y-%m-%d %H:%M")
    label = (
        f"STEP WEDGE {printer.ae_title} {stamp}: {steps} steps row by row, drive 0 to {DRIVE_MAX}"
    )
    annotation = SheetAnnotation(
        text_mm=3.5,
        boxes=(Box(0.0, 0.0, 1.0, 1.0),),
        aligns=("left",),
        texts=(label,),
    )
    page = printer.page(printer.settings.default_film_size, "PORTRAIT")
    return FilmSheet(
        page=replace(page, band="bottom", band_mm=WEDGE_LABEL_MM),
        boxes=boxes,
        images=images,
        border=DRIVE_MAX // 2,
        empty=DRIVE_MAX,
        media_name=printer.settings.default_film_size,
        annotation=annotation,
        trim=True,
    )


def read_densities(text: str) -> list[float]:
    """Densities from CSV or plain text: one per line (or the last column), headers skipped."""
    values = []
    for row in csv.reader(io.StringIO(text.replace(";", ","))):
        cells = [cell.strip() for cell in row if cell.strip()]
        if not cells:
            continue
        try:
            values.append(float(cells[-1]))
        except ValueError:
            if values:
                raise CalibrationError(f"not a density: {cells[-1]!r}") from None
    return values


def hundredths(density: float, *, up: bool) -> int:
    """A density in hundredths of OD, rounded inwards (the range must be reachable).

    Readings have at most a few decimals: 0.14 * 100 is 14.000000000000002 in binary, whose
    ceiling 15 nobody meant, so the product is rounded to 1e-6 before ceil or floor.
    """
    value = round(density * 100, 6)
    return math.ceil(value) if up else math.floor(value)


@dataclass(frozen=True)
class Curve:
    """A measured characteristic curve and what was left out of it."""

    points: tuple[tuple[int, float], ...]
    dropped: tuple[int, ...]  # step numbers (1-based) whose density did not fall

    def toml(self, printer: str, when: datetime) -> str:
        """The lines to put into the printer's section of the configuration file."""
        pairs = ", ".join(f"[{drive}, {density:.3f}]" for drive, density in self.points)
        return (
            f"# characteristic curve of printer {printer}, measured {when:%Y-%m-%d %H:%M}\n"
            f"characteristic_curve = [{pairs}]\n"
            f"min_density = {hundredths(self.points[-1][1], up=True)}\n"
            f"max_density = {hundredths(self.points[0][1], up=False)}\n"
            f"calibrated = {when:%Y-%m-%dT%H:%M:%S}\n"
        )


def build_curve(densities: list[float], steps: int = DEFAULT_STEPS) -> Curve:
    """Pair measured densities with the wedge's drive values; keep a strictly falling curve.

    Saturated ends (a toe or shoulder where density stops changing) are dropped,
    since the same density cannot map back to two drive values.
    """
    drives = wedge_drives(steps)
    if len(densities) != steps:
        raise CalibrationError(f"{len(densities)} densities for a wedge of {steps} steps")
    if any(not 0 <= density <= 6 for density in densities):
        raise CalibrationError("densities must be optical densities between 0 and 6")
    points: list[tuple[int, float]] = []
    dropped: list[int] = []
    for step, (drive, density) in enumerate(zip(drives, densities, strict=True), start=1):
        if points and density >= points[-1][1]:
            dropped.append(step)
            continue
        points.append((drive, density))
    if len(points) < 2 or points[0][1] - points[-1][1] < 0.3:
        raise CalibrationError("the densities do not fall from black to white: check the order")
    return Curve(tuple(points), tuple(dropped))
