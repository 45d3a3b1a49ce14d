"""Golden films: printed through the server, read back with Ghostscript, and checked against
expectations computed here from the standard's own GSDF table, not from the renderer.

Also the precision proof (every one of 4096 P-values reaches the PostScript with one rounding)
and bit-exactness of Ghostscript's rendering against the renderer's raster for colour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import sop_class

from printserver.render.compose import render_sheet
from printserver.render.density import model_drive
from printserver.render.geometry import Box, PageGeometry
from printserver.render.sheet import CharacteristicCurve, FilmSheet, SheetImage, ToneScale
from tests.ghostscript import render_gray16, render_rgb8
from tests.print_client import PrintClient, box_uids, color_item, output_files
from tests.server_harness import InProcessServer, directory_config, start_in_process

pytestmark = pytest.mark.integration
DPI = 320
TABLE_B = np.loadtxt(Path(__file__).parent / "data" / "gsdf_table_b.txt")
PRINTER_DMIN, PRINTER_DMAX = 0.20, 3.20  # the built-in printer's ideal curve


def _expected_density(p: float, dmin: float, dmax: float, l0: float, la: float) -> float:
    """PS3.14 hardcopy model computed from Table B by interpolation in log luminance."""
    log_l, jnd = np.log10(TABLE_B[:, 1]), TABLE_B[:, 0]

    def j_of(seen: float) -> float:
        return float(np.interp(np.log10(seen), log_l, jnd))

    j_lo, j_hi = j_of(la + l0 * 10**-dmax), j_of(la + l0 * 10**-dmin)
    seen = 10 ** float(np.interp(j_lo + p / 4095 * (j_hi - j_lo), jnd, log_l))
    return float(-np.log10((seen - la) / l0))


def _drive(density: float) -> float:
    """The ideal printer: density linear in drive between 3.20 (drive 0) and 0.20 (4095)."""
    return (PRINTER_DMAX - density) / (PRINTER_DMAX - PRINTER_DMIN) * 4095


def _lut(client: PrintClient, shape: str) -> Dataset:
    ds = Dataset()
    ds.PresentationLUTShape = shape
    _, uid = client.lut(ds)
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class.PresentationLUT
    item.ReferencedSOPInstanceUID = uid
    return item


def _centres(page: np.ndarray, columns: int, rows: int) -> list[float]:
    """Mean of a patch at the centre of each STANDARD\\C,R cell (4 mm margin, no band)."""
    margin = 4 / 25.4 * DPI
    cell_w = (page.shape[1] - 2 * margin) / columns
    cell_h = (page.shape[0] - 2 * margin) / rows
    values = []
    for row in range(rows):
        for column in range(columns):
            x = int(margin + (column + 0.5) * cell_w)
            y = int(margin + (row + 0.5) * cell_h)
            values.append(float(page[y - 8 : y + 8, x - 8 : x + 8].mean()))
    return values


FLAT = (0, 1000, 2500, 4095)


@pytest.mark.parametrize(
    ("name", "session", "film_box", "reverse", "lut", "densities"),
    [
        ("film identity", {}, {}, (), None, (0.20, 3.20, 2000, 10)),
        ("film reverse", {}, {}, (2, 3), "IDENTITY", (0.20, 3.20, 2000, 10)),
        (
            "film narrow range",
            {},
            {
                "MinDensity": 50,
                "MaxDensity": 250,
                "Illumination": 3000,
                "ReflectedAmbientLight": 40,
            },
            (),
            None,
            (0.50, 2.50, 3000, 40),
        ),
        ("paper", {"MediumType": "PAPER"}, {"MaxDensity": 200}, (), None, (0.20, 2.00, 150, 0)),
        ("lin od", {}, {"MinDensity": 50, "MaxDensity": 250}, (), "LIN OD", None),
    ],
)
def test_golden_film(
    server: InProcessServer,
    tmp_path: Path,
    name: str,
    session: dict,
    film_box: dict,
    reverse: tuple[int, ...],
    lut: str | None,
    densities: tuple[float, float, float, float] | None,
) -> None:
    client = PrintClient(server.port)
    attrs = dict(film_box)
    if lut:
        attrs["ReferencedPresentationLUTSequence"] = [_lut(client, lut)]
    _, session_uid = client.session(**session)
    status, box, reply = client.film_box(
        session_uid, "STANDARD\\2,2", FilmSizeID="8INX10IN", **attrs
    )
    assert status == 0, hex(status)
    for position, (uid, level) in enumerate(zip(box_uids(reply), FLAT, strict=True), 1):
        extra = {"Polarity": "REVERSE"} if position in reverse else {}
        assert client.gray(uid, position, np.full((40, 30), level, np.uint16), **extra).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()
    page = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    measured = _centres(page, 2, 2)
    for position, (level, value) in enumerate(zip(FLAT, measured, strict=True), 1):
        p = 4095 - level if position in reverse else level
        if densities is None:  # LIN OD: linear between Max (P 0) and Min Density
            density = 2.50 - p / 4095 * 2.00
        else:
            dmin, dmax, l0, la = densities
            density = _expected_density(p, dmin, dmax, l0, la)
        assert abs(value - _drive(density)) <= 2, (name, position, value, _drive(density))
    assert page[:4, :].max() == 0  # BLACK border: the printer's Dmax


def test_border_and_empty_densities(server: InProcessServer, tmp_path: Path) -> None:
    client = PrintClient(server.port)
    _, session = client.session()
    _, box, _ = client.film_box(
        session,
        "STANDARD\\2,1",
        FilmSizeID="8INX10IN",
        BorderDensity="150",
        EmptyImageDensity="WHITE",
    )
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0xB603
    client.release()
    page = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    assert abs(int(page[5, 5]) - _drive(1.50)) <= 1
    assert page[page.shape[0] // 2, page.shape[1] // 4] == 4095


def test_every_p_value_reaches_the_postscript_rounded_once(
    server: InProcessServer, tmp_path: Path
) -> None:
    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    client = PrintClient(server.port)
    _, session = client.session()
    _, box, reply = client.film_box(session, FilmSizeID="8INX10IN", MagnificationType="NONE")
    assert client.gray(box_uids(reply)[0], 1, ramp).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()
    page = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    top, left = page.shape[0] // 2 - 32, page.shape[1] // 2 - 32
    printed = page[top : top + 64, left : left + 64].astype(int)
    tone = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
    model = np.rint(model_drive(tone, ramp.astype(float))).astype(int)
    assert np.abs(printed - model).max() <= 1
    levels = len(np.unique(printed))
    assert levels == len(np.unique(model)) and levels > 2500, levels
    eight_bit = np.rint(model_drive(tone, np.rint(ramp / 4095 * 255) / 255 * 4095))
    assert len(np.unique(eight_bit)) <= 256 < levels


def test_ghostscript_renders_a_colour_film_bit_for_bit(tmp_path: Path) -> None:
    from printserver.postscript import PageSpec, write_postscript

    rng = np.random.default_rng(7)
    images = {
        i + 1: SheetImage(
            rng.integers(0, 256, (90, 70, 3), dtype=np.uint8), 8, magnification=kernel
        )
        for i, kernel in enumerate(("REPLICATE", "BILINEAR", "CUBIC", "NONE"))
    }
    boxes = tuple(Box(c / 2, r / 2, 0.5, 0.5) for r in range(2) for c in range(2))
    sheet = FilmSheet(
        page=PageGeometry(101.6, 127.0, dpi=DPI),
        boxes=boxes,
        images=images,
        border=2000,
        empty=4095,
        color=True,
        trim=True,
    )
    raster = render_sheet(sheet)
    path = tmp_path / "colour.ps"
    with open(path, "wb") as out:
        write_postscript(
            out,
            [PageSpec(sheet.width_px, sheet.height_px, DPI, "Custom", lambda: raster, color=True)],
            title="colour",
        )
    (page,) = render_rgb8(path, DPI)
    assert page.shape == raster.shape
    assert np.array_equal(page, raster), f"{np.count_nonzero(page != raster)} samples differ"
    assert len(np.unique(raster.reshape(-1, 3), axis=0)) > 1000


def test_colour_film_through_the_server(server: InProcessServer, tmp_path: Path) -> None:
    """Colour pixels are printed as sent: the centre of the box holds the image's values."""
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 120, 30
    client = PrintClient(server.port, color=True)
    _, session = client.session()
    _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
    assert client.set_image(box_uids(reply)[0], 1, color_item(rgb)).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()
    page = render_rgb8(output_files(tmp_path / "output", 1)[0], DPI)[0]
    assert tuple(page[page.shape[0] // 2, page.shape[1] // 2]) == (200, 120, 30)


def test_lin_od_dcmtk_reading_puts_max_density_at_the_highest_value(tmp_path: Path) -> None:
    """lin_od = "dcmtk": density grows with the stored value, whatever the polarity."""
    running = start_in_process(directory_config(tmp_path, 'lin_od = "dcmtk"'))
    try:
        client = PrintClient(running.port)
        lut = _lut(client, "LIN OD")
        _, session = client.session()
        _, box, reply = client.film_box(
            session,
            "STANDARD\\2,2",
            FilmSizeID="8INX10IN",
            MinDensity=50,
            MaxDensity=250,
            ReferencedPresentationLUTSequence=[lut],
        )
        for position, (uid, level) in enumerate(zip(box_uids(reply), FLAT, strict=True), 1):
            assert client.gray(uid, position, np.full((40, 30), level, np.uint16)).Status == 0
        assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
        client.release()
        page = render_gray16(output_files(tmp_path / "output", 1)[0], DPI)[0]
    finally:
        running.server.stop()
    for level, value in zip(FLAT, _centres(page, 2, 2), strict=True):
        density = 0.50 + level / 4095 * 2.00
        assert abs(value - _drive(density)) <= 2, (level, value, _drive(density))
