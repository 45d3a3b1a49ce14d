"""`printserver calibrate`: the step wedge prints its drive values exactly, through CUPS too,
and the curve built from measured densities makes the film come out at the densities the
GSDF model asks for."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pynetdicom import sop_class

from printserver.calibration import wedge_drives, wedge_sheet
from printserver.config import load_config, parse_config
from printserver.model.printer import Printer
from printserver.render.gsdf import p_value_densities
from tests.ghostscript import render_gray16
from tests.print_client import PrintClient, box_uids, output_files
from tests.server_harness import REPO, config_text, start_in_process

pytestmark = pytest.mark.integration
DPI = 320


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "printserver", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def test_wedge_prints_each_drive_value_exactly(tmp_path: Path) -> None:
    result = _cli("calibrate", "wedge", "--steps", "11", "-o", str(tmp_path / "w.ps"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = render_gray16(tmp_path / "w.ps", DPI)[0]
    sheet = wedge_sheet(Printer.of(load_config(None).printers[0]), 11)
    for box, drive in zip(sheet.boxes, wedge_drives(11), strict=True):
        x0, y0, x1, y1 = sheet.page.cell_rect(box)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        patch = page[cy - 100 : cy + 100, cx - 100 : cx + 100]
        assert patch.min() == patch.max() == drive
    assert np.count_nonzero(page[-round(14 * DPI / 25.4) :] == 0) > 500  # the label, in black


def test_wedge_goes_to_the_cups_queue(cups_queue: Any, tmp_path: Path) -> None:
    config = tmp_path / "printserver.toml"
    config.write_text(
        config_text(
            tmp_path / "spool",
            0,
            '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n',
            f'[cups]\nserver = "{cups_queue.server}"\n',
        )
    )
    result = _cli("calibrate", "wedge", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sent to FILM" in result.stdout
    (document,) = cups_queue.sink.wait_for(1, timeout=60)
    assert document.read_bytes().startswith(b"%!PS-Adobe-3.0")


def _s_curve(drives: np.ndarray) -> np.ndarray:
    """A printer with a toe and a shoulder, as a densitometer would read it."""
    return 0.15 + 3.05 / (1 + np.exp((drives - 1900) / 650))


def test_measured_curve_makes_the_film_hit_the_gsdf_densities(tmp_path: Path) -> None:
    drives = np.array(wedge_drives(21), dtype=float)
    readings = tmp_path / "readings.csv"
    readings.write_text(
        "step,density\n" + "".join(f"{i + 1},{d:.3f}\n" for i, d in enumerate(_s_curve(drives)))
    )
    result = _cli("calibrate", "curve", "--csv", str(readings), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = tomllib.loads(result.stdout)
    assert len(lines["characteristic_curve"]) == 21 and "calibrated" in lines
    output = tmp_path / "output"
    printer = f'[[printers]]\nae_title = "PRINTSERVER"\ndirectory = "{output}"\n' + result.stdout
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printer)))
    try:
        assert running.config.printers[0].calibrated is not None
        client = PrintClient(running.port)
        _, session = client.session()
        _, box, reply = client.film_box(
            session, "STANDARD\\4,1", FilmSizeID="8INX10IN", MinDensity=30, MaxDensity=290
        )
        levels = (0, 1000, 2500, 4095)
        for position, (uid, level) in enumerate(zip(box_uids(reply), levels, strict=True), 1):
            assert client.gray(uid, position, np.full((8, 8), level, np.uint16)).Status == 0
        assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
        client.release()
        page = render_gray16(output_files(output, 1)[0], DPI)[0]
    finally:
        running.server.stop()
    measured = np.array(lines["characteristic_curve"])
    wanted = p_value_densities(
        np.array(levels, dtype=float),
        4095,
        min_density=0.30,
        max_density=2.90,
        illumination=2000,
        reflected_ambient_light=10,
    )
    y = page.shape[0] // 2
    for index, density in enumerate(wanted):
        x = int((4 / 25.4 * DPI) + (index + 0.5) * (page.shape[1] - 2 * 4 / 25.4 * DPI) / 4)
        drive = float(page[y, x])
        printed = float(np.interp(drive, measured[:, 0], measured[:, 1]))
        assert abs(printed - density) < 0.01, (index, printed, density)


def test_curve_errors_are_clear(tmp_path: Path) -> None:
    result = _cli("calibrate", "curve", "0.2", "0.5", "1.0", "--steps", "3", cwd=tmp_path)
    assert result.returncode == 2 and "do not fall" in result.stderr  # measured backwards
    result = _cli("calibrate", "curve", "3.0", "1.0", cwd=tmp_path)
    assert result.returncode == 2 and "2 densities for a wedge of 21 steps" in result.stderr
