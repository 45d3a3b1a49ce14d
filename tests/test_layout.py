"""Image Display Format parsing (PS3.3 C.13.3), position numbering (C.13.5.1), CUSTOM layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from printserver.cli import main
from printserver.config import ConfigError, builtin_layouts, load_config
from printserver.model.errors import InvalidValue
from printserver.model.layout import parse_display_format
from printserver.model.printer import Printer
from printserver.render.geometry import Box


def test_standard_is_row_major_from_top_left() -> None:
    boxes = parse_display_format("STANDARD\\3,2")
    assert len(boxes) == 6
    assert boxes[0] == Box(0.0, 0.0, 1 / 3, 0.5)
    assert boxes[2] == Box(2 / 3, 0.0, 1 / 3, 0.5)
    assert boxes[3] == Box(0.0, 0.5, 1 / 3, 0.5)


def test_row_and_col_formats() -> None:
    row = parse_display_format("ROW\\2,1")
    assert [(b.x, b.y, b.width) for b in row] == [(0, 0, 0.5), (0.5, 0, 0.5), (0, 0.5, 1.0)]
    col = parse_display_format("COL\\1,2")  # column-major numbering
    assert [(b.x, b.y, b.height) for b in col] == [(0, 0, 1.0), (0.5, 0, 0.5), (0.5, 0.5, 0.5)]


@pytest.mark.parametrize("text", [" standard\\2,2 ", "STANDARD\\\\2,2", "STANDARD\x012,2"])
def test_tolerates_what_clients_send(text: str) -> None:
    assert len(parse_display_format(text)) == 4


@pytest.mark.parametrize("text", ["", "STANDARD", "STANDARD\\0,2", "BOGUS\\1,1", "STANDARD\\20,20"])
def test_rejects_what_cannot_be_laid_out(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_display_format(text, max_boxes=100)


# CUSTOM\i layouts (PS3.3 C.13.3): built in from the package printserver.layouts (the
# repository's layouts/), added to or overridden number by number by [server] layouts.

HALVES = (
    "[[boxes]]\nx = 0.0\ny = 0.0\nwidth = 0.5\nheight = 1.0\n"
    "[[boxes]]\nx = 0.5\ny = 0.0\nwidth = 0.5\nheight = 1.0\n"
)


def _site_config(tmp_path: Path, layouts: str) -> Path:
    path = tmp_path / "printserver.toml"
    path.write_text(f'[server]\nlayouts = "{layouts}"\n[spool]\ndirectory = "spool"\n')
    return path


def test_builtin_layouts_come_from_the_installed_package() -> None:
    names = {entry.name for entry in builtin_layouts().iterdir()}
    assert {"1.toml", "2.toml", "3.toml"} <= names
    printer = Printer.of(load_config(None).printers[0])
    assert len(parse_display_format("CUSTOM\\1", custom=printer.layouts)) == 3


def test_a_site_layout_adds_to_and_overrides_the_builtin_ones(tmp_path: Path) -> None:
    site = tmp_path / "site-layouts"
    site.mkdir()
    (site / "9.toml").write_text(HALVES)
    (site / "1.toml").write_text(HALVES)
    (site / "README.md").write_text("notes, not a layout\n")
    printer = Printer.of(load_config(_site_config(tmp_path, "site-layouts")).printers[0])
    assert {1, 2, 3, 9} <= set(printer.layouts)
    assert len(parse_display_format("CUSTOM\\9", custom=printer.layouts)) == 2
    assert len(parse_display_format("CUSTOM\\1", custom=printer.layouts)) == 2  # the site's, not 3


def test_a_missing_layouts_directory_stops_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _site_config(tmp_path, "nowhere")
    with pytest.raises(ConfigError, match=r"^server\.layouts: no such directory: .*nowhere$"):
        load_config(path)
    assert main(["config", "check", str(path)]) == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "server.layouts: no such directory" in lines[0]
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match=r"^server\.layouts: not a directory: "):
        load_config(_site_config(tmp_path, "a-file"))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("4.toml", "[[boxes]\nx = 0.0\n", r"4\.toml: not valid TOML"),
        ("4.toml", "[[boxes]]\nx = 0.0\n", r"4\.toml: boxes\.0\.y: is required"),
        ("four.toml", HALVES, r"four\.toml: a layout file is named by its number"),
        ("0.toml", HALVES, r"0\.toml: a layout file is named by its number from 1"),
        ("01.toml", HALVES, r"1\.toml: layout 1 is declared by two files"),
    ],
)
def test_a_bad_site_layout_file_is_a_config_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    site = tmp_path / "site-layouts"
    site.mkdir()
    (site / "1.toml").write_text(HALVES)
    (site / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(_site_config(tmp_path, "site-layouts"))
