"""The density model against the standard's numbers (PS3.14 Annex B)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from printserver.render.density import STEPS_PER_P, drive_table, model_drive, to_drive
from printserver.render.gsdf import jnd_index, luminance, p_value_densities
from printserver.render.lut import to_p_values
from printserver.render.sheet import CharacteristicCurve, PresentationLut, SheetImage, ToneScale

TABLE_B = np.loadtxt(Path(__file__).parent / "data" / "gsdf_table_b.txt")
JND, LUMINANCE = TABLE_B[:, 0], TABLE_B[:, 1]
FILM = ToneScale(0.20, 3.00, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.00))


def _table_jnd(seen: np.ndarray) -> np.ndarray:
    """JND index of a luminance, by interpolating the standard's own table in log L."""
    return np.interp(np.log10(seen), np.log10(LUMINANCE), JND)


def test_luminance_matches_the_standards_table() -> None:
    computed = luminance(JND)
    assert np.max(np.abs(computed / LUMINANCE - 1)) < 1e-3  # the table has 5 digits
    # and spot values worked out from PS3.14 7.3
    for j, expected in ((1, 0.049982), (100, 1.8508), (500, 119.13), (1023, 3993.3)):
        assert luminance(j) == pytest.approx(expected, rel=2e-5)
    assert jnd_index(12.0) == pytest.approx(233.291, abs=1e-3)
    assert jnd_index(1271.915) == pytest.approx(847.213, abs=1e-3)


@pytest.mark.parametrize(
    ("l0", "la", "dmin", "dmax", "p_max", "points"),
    [
        (
            2000,
            10,
            0.20,
            3.00,
            255,
            {
                0: 3.000,
                1: 2.936,
                32: 2.104,
                64: 1.699,
                128: 1.122,
                192: 0.642,
                254: 0.207,
                255: 0.200,
            },
        ),
        (2000, 10, 0.20, 3.00, 4095, {0: 3.000, 2048: 1.126, 4095: 0.200}),
        (
            150,
            0,
            0.10,
            2.00,
            255,
            {
                0: 2.000,
                1: 1.986,
                32: 1.605,
                64: 1.301,
                128: 0.825,
                192: 0.438,
                254: 0.105,
                255: 0.100,
            },
        ),
        (150, 0, 0.10, 2.00, 4095, {2048: 0.828}),
    ],
)
def test_hardcopy_vectors(
    l0: float, la: float, dmin: float, dmax: float, p_max: int, points: dict[int, float]
) -> None:
    p = np.array(list(points), dtype=np.float64)
    densities = p_value_densities(
        p, p_max, min_density=dmin, max_density=dmax, illumination=l0, reflected_ambient_light=la
    )
    assert np.allclose(densities, list(points.values()), atol=0.002)


def test_every_p_value_is_within_half_a_jnd_of_the_standards_table() -> None:
    """P → density → luminance seen → JND (from Table B): equal P steps are equal JND steps."""
    p = np.arange(4096, dtype=np.float64)
    densities = p_value_densities(
        p, 4095, min_density=0.20, max_density=3.00, illumination=2000, reflected_ambient_light=10
    )
    seen = 10 + 2000 * 10.0**-densities
    j = _table_jnd(seen)
    j_min, j_max = _table_jnd(np.array([10 + 2000 * 10**-3.0, 10 + 2000 * 10**-0.2]))
    expected = j_min + p * (j_max - j_min) / 4095
    assert np.max(np.abs(j - expected)) < 0.5


def test_lin_od_is_linear_in_density() -> None:
    tone = ToneScale(
        0.50, 2.50, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20), linear_od=True
    )
    p = np.arange(4096, dtype=np.float64)
    drive = model_drive(tone, p)
    density = 3.20 - drive / 4095 * 3.00  # the ideal printer curve, read backwards
    assert np.allclose(np.diff(density), -2.0 / 4095, atol=1e-9)
    assert density[0] == pytest.approx(2.50) and density[-1] == pytest.approx(0.50)


@pytest.mark.parametrize("shape", ["IDENTITY", "LIN OD", "INVERSE", "TABLE"])
def test_every_lut_shape_is_monotonic(shape: str) -> None:
    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    table = np.rint((np.arange(4096) / 4095) ** 0.5 * 65535).astype(np.uint16)
    lut = PresentationLut(shape, table if shape == "TABLE" else None, 16)
    tone = ToneScale(0.20, 3.00, 2000.0, 10.0, FILM.curve, linear_od=shape == "LIN OD")
    drive = to_drive(to_p_values(SheetImage(ramp, 12, presentation_lut=lut)), tone).ravel()
    steps = np.diff(drive.astype(int))
    assert (steps <= 0).all() if shape == "INVERSE" else (steps >= 0).all()
    assert drive.min() == 0 and drive.max() == 4095


def test_a_measured_curve_is_inverted() -> None:
    """A printer with a toe and a shoulder: the drive chosen prints the density asked for."""
    drives = np.linspace(0, 4095, 21)
    measured = 0.12 + 3.1 / (1 + np.exp((drives - 1800) / 600))  # an S-shaped response
    curve = CharacteristicCurve(tuple(drives), tuple(measured))
    tone = ToneScale(0.20, 3.00, 2000.0, 10.0, curve)
    p = np.arange(0, 4096, 5, dtype=np.float64)
    wanted = p_value_densities(
        p, 4095, min_density=0.20, max_density=3.00, illumination=2000, reflected_ambient_light=10
    )
    printed = np.interp(model_drive(tone, p), drives, measured)  # what the printer does
    assert np.max(np.abs(printed - wanted)) < 0.005


def test_twelve_bits_survive_to_the_drive_values() -> None:
    """Every P-value is rounded once, at the end: thousands of levels, as ideal quantisation."""
    p = np.arange(4096, dtype=np.float32)
    drive = to_drive(p.copy(), FILM)
    ideal = np.rint(model_drive(FILM, p.astype(np.float64)))
    assert np.array_equal(drive, ideal)
    assert len(np.unique(drive)) == len(np.unique(ideal)) > 2500
    through_8_bits = np.rint(model_drive(FILM, np.rint(p / 4095 * 255) / 255 * 4095))
    assert len(np.unique(through_8_bits)) <= 256
    # P-values between integers (after resampling) keep their place: 1/16 steps
    half = to_drive(np.array([1000.5], dtype=np.float32), FILM)[0]
    assert half == np.rint(model_drive(FILM, [1000.5])[0])
    assert len(drive_table(FILM)) == 4095 * STEPS_PER_P + 1
