"""Pure functions of the print model and renderer: checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from printserver.config import PrinterConfig
from printserver.model.choices import Choices
from printserver.model.errors import InvalidValue, MissingAttribute, Notice
from printserver.model.presentation_lut import PresentationLutRequest, create_presentation_lut
from printserver.model.printer import Printer, printer_status
from printserver.render.annotation import text_mask
from printserver.render.compose import plan_fit
from printserver.render.lut import to_p_values
from printserver.render.pixels import PixelDataError, decode_color
from printserver.render.sheet import PresentationLut, SheetImage
from printserver.sinks.base import DestinationStatus

PRINTER = Printer.of(PrinterConfig(ae_title="P", directory="out"))


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        (None, ("NORMAL", "NORMAL")),
        (DestinationStatus(True, True), ("NORMAL", "NORMAL")),
        (DestinationStatus(False, False, "x", reachable=False), ("WARNING", "PRINTER DOWN")),
        (DestinationStatus(False, True, reasons=("paused",)), ("WARNING", "PRINTER OFFLINE")),
        (DestinationStatus(False, True), ("WARNING", "CHECK PRINTER")),
        (DestinationStatus(True, False), ("WARNING", "PRINTER OFFLINE")),
        (DestinationStatus(True, True, reasons=("media-low-report",)), ("WARNING", "SUPPLY LOW")),
        (
            DestinationStatus(True, True, reasons=("media-empty-error",)),
            ("WARNING", "SUPPLY EMPTY"),
        ),
        (DestinationStatus(True, True, reasons=("toner-low-warning",)), ("WARNING", "SUPPLY LOW")),
        (DestinationStatus(False, True, reasons=("media-jam-error",)), ("WARNING", "FILM JAM")),
        (DestinationStatus(False, True, reasons=("fuser-error",)), ("WARNING", "CHECK PRINTER")),
    ],
)
def test_printer_status_from_the_destination(
    destination: DestinationStatus | None, expected: tuple[str, str]
) -> None:
    status = printer_status(destination)
    assert (status.status, status.info) == expected
    assert len(status.info) <= 16  # CS


def test_a_spool_that_takes_no_films_is_a_failure() -> None:
    status = printer_status(DestinationStatus(True, True), spool_accepting=False)
    assert (status.status, status.info) == ("FAILURE", "PRINT BUFF FULL")


def test_choices_lenient_and_strict() -> None:
    lenient = Choices(strict=False)
    assert lenient.choose("Trim", "MAYBE", ("YES", "NO"), "NO") == "NO"
    assert lenient.notices == [Notice.VALUE_REPLACED]
    assert lenient.density("Max Density", 999, 20, 320, 320) == 320
    assert lenient.density("Max Density", 0, 20, 320, 300) == 300  # 0 = not specified
    assert lenient.density_term("Border Density", "150", "BLACK", 20, 320) == "150"
    assert lenient.density_term("Border Density", "5", "BLACK", 20, 320) == "20"
    assert Notice.DENSITY_CLAMPED in lenient.notices
    with pytest.raises(InvalidValue, match="supported: YES, NO"):
        Choices(strict=True).choose("Trim", "MAYBE", ("YES", "NO"), "NO")


def _lut(**fields: object) -> PresentationLutRequest:
    return PresentationLutRequest(**fields)  # type: ignore[arg-type]


def test_presentation_lut_rules() -> None:
    table = np.arange(256, dtype=np.uint16) * 16
    made = create_presentation_lut(
        "1", _lut(has_sequence=True, descriptor=(256, 0, 12), data=table), strict=True
    )
    assert made.entries == 256 and made.lut.table_bits == 12
    odd = _lut(has_sequence=True, descriptor=(1000, 0, 12), data=np.zeros(1000, np.uint16))
    assert create_presentation_lut("2", odd, strict=False).entries == 1000
    with pytest.raises(InvalidValue, match="256 or 4096"):
        create_presentation_lut("3", odd, strict=True)
    with pytest.raises(MissingAttribute):
        create_presentation_lut("4", _lut(), strict=False)
    full = _lut(has_sequence=True, descriptor=(0, 0, 16), data=np.zeros(65536, np.uint16))
    assert create_presentation_lut("5", full, strict=False).entries == 65536  # 0 means 2^16


def test_lut_application_keeps_12_bits() -> None:
    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    identity = to_p_values(SheetImage(ramp, 12))
    assert np.array_equal(identity, ramp.astype(np.float32))
    inverse = to_p_values(SheetImage(ramp, 12, presentation_lut=PresentationLut("INVERSE")))
    assert np.array_equal(inverse, 4095 - ramp.astype(np.float32))
    # a 16-bit square-law table: the output of entry v is (v/4095)^2 * 65535
    table = np.rint((np.arange(4096) / 4095) ** 2 * 65535).astype(np.uint16)
    squared = to_p_values(
        SheetImage(ramp, 12, presentation_lut=PresentationLut("TABLE", table, 16))
    )
    expected = table.astype(np.float64) * 4095 / 65535
    assert np.abs(squared.ravel() - expected).max() < 1e-3
    assert len(np.unique(np.rint(squared))) > 3000  # no 8-bit step anywhere
    # a 256-entry table on 12-bit data is interpolated between its entries
    coarse = np.arange(256, dtype=np.uint16) * 257
    mapped = to_p_values(
        SheetImage(ramp, 12, presentation_lut=PresentationLut("TABLE", coarse, 16))
    )
    assert np.abs(mapped.ravel() - np.arange(4096)).max() < 0.01


def test_monochrome1_inverts_before_the_lut() -> None:
    values = np.array([[0, 4095]], dtype=np.uint16)
    table = np.zeros(4096, np.uint16)
    table[4095] = 65535  # only the brightest input prints white
    image = SheetImage(
        values, 12, invert=True, presentation_lut=PresentationLut("TABLE", table, 16)
    )
    assert to_p_values(image).tolist() == [[4095.0, 0.0]]


@pytest.mark.parametrize(
    ("kwargs", "outcome", "size"),
    [
        ({}, "fits", (500, 500)),
        ({"requested_width_mm": 25.4}, "fits", (320, 320)),
        ({"requested_width_mm": 254.0}, "demagnified", (500, 500)),
        ({"requested_width_mm": 254.0, "decimate_crop": "DECIMATE"}, "decimated", (500, 500)),
        ({"requested_width_mm": 254.0, "decimate_crop": "CROP"}, "cropped", (3200, 3200)),
        ({"requested_width_mm": 254.0, "decimate_crop": "FAIL"}, "too_large", (3200, 3200)),
        ({"magnification": "NONE"}, "fits", (100, 100)),
    ],
)
def test_plan_fit(kwargs: dict[str, object], outcome: str, size: tuple[int, int]) -> None:
    image = SheetImage(np.zeros((100, 100), np.uint16), 12, **kwargs)  # type: ignore[arg-type]
    fit = plan_fit(image, 500, 600, 320)
    assert (fit.outcome, (fit.height, fit.width)) == (outcome, size)


def test_magnification_none_larger_than_the_box_is_demagnified() -> None:
    image = SheetImage(np.zeros((10, 1000), np.uint16), 12, magnification="NONE")
    fit = plan_fit(image, 500, 600, 320)
    assert (fit.outcome, fit.width, fit.height) == ("demagnified", 500, 5)


def test_decode_color_both_planar_configurations() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    interleaved = decode_color(rgb.tobytes(), rows=2, columns=3, planar_configuration=0)
    by_plane = decode_color(
        rgb.transpose(2, 0, 1).tobytes(), rows=2, columns=3, planar_configuration=1
    )
    assert np.array_equal(interleaved, rgb) and np.array_equal(by_plane, rgb)
    with pytest.raises(PixelDataError, match="needs 18"):
        decode_color(b"\0" * 10, rows=2, columns=3, planar_configuration=0)


def test_annotation_text_is_drawn_inside_its_box() -> None:
    mask = text_mask("ACCESSION 42", 600, 60, 40, "left")
    assert mask.shape == (60, 600) and 500 < mask.sum() < 600 * 60 // 2
    columns = np.flatnonzero(mask.any(axis=0))
    assert columns[0] < 30 and columns[-1] < 400  # left aligned
    right = text_mask("ACCESSION 42", 600, 60, 40, "right")
    assert np.flatnonzero(right.any(axis=0))[-1] > 570
    assert not text_mask("", 600, 60, 40, "left").any()


def test_smoothing_types_order_the_overshoot_of_cubic() -> None:
    from printserver.render.kernels import kernel_for
    from printserver.render.resample import resample

    step = np.zeros((1, 20), np.uint16)
    step[:, 10:] = 1000
    overshoot = {}
    for smoothing in ("SMOOTH", "NONE", "SHARP"):
        kernel = kernel_for("CUBIC", smoothing)
        overshoot[smoothing] = float(resample(step, 1, 80, kernel).max()) - 1000
        flat = np.full((5, 7), 1234, np.uint16)
        assert (resample(flat, 13, 17, kernel) == 1234).all()  # weights sum to exactly 1
    assert 0 < overshoot["SMOOTH"] < overshoot["NONE"] < overshoot["SHARP"]
    assert kernel_for("BILINEAR", "SHARP") == "BILINEAR"  # smoothing only refines CUBIC
    assert kernel_for("NONE") == "CUBIC"
