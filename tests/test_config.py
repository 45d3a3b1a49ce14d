"""Configuration: the minimal file, the built-in default, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from printserver.config import ConfigError, load_config, parse_config
from printserver.model.printer import Printer
from printserver.sinks.cups import CupsSink

MINIMAL = """
[server]
ae_title = "PRINTSERVER"
host = "127.0.0.1"
port = 11112

[spool]
directory = "spool"

[[printers]]
ae_title = "FILM"
cups_queue = "film"
"""


def test_minimal_file_maps_called_ae_to_cups_queue(tmp_path: Path) -> None:
    path = tmp_path / "printserver.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    printer = config.printer_for("FILM")
    assert printer is not None and printer.cups_queue == "film"
    assert config.spool.directory == tmp_path / "spool"
    assert config.printer_for("OTHER") is None
    assert config.printer_for("PRINTSERVER") is printer  # the server's own title: first printer


def test_builtin_default_is_a_directory_printer() -> None:
    config = load_config(None)
    assert (config.server.ae_title, config.server.host, config.server.port) == (
        "PRINTSERVER",
        "127.0.0.1",
        11112,
    )
    (printer,) = config.printers
    assert printer.ae_title == "PRINTSERVER"
    assert printer.cups_queue is None and printer.directory == Path("spool/output")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nport = 70000\n", "server.port: must be at most 65535 (not 70000)"),
        ("[server]\ncolour = 1\n", "server.colour: unknown key"),
        ('[[printers]]\nae_title = "FILM"\n', "printers.0: give exactly one destination"),
        (
            '[[printers]]\nae_title = "WAY_TOO_LONG_AE_TITLE"\ncups_queue = "q"\n',
            "printers.0.ae_title: must be at most 16 characters",
        ),
        (
            '[[printers]]\nae_title = "F"\ncups_queue = "q"\nfilm_sizes = ["9X9"]\n',
            "printers.0.film_sizes: unknown film size '9X9'",
        ),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_config_names_key_and_reason(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_config_check_command_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[printers]]\nae_title = "FILM"\ncups_queue = "film"\ndpi = 10\n')
    result = subprocess.run(
        [sys.executable, "-m", "printserver", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "printers.0.dpi" in lines[0], result.stderr
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL)
    result = subprocess.run(
        [sys.executable, "-m", "printserver", "config", "check", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "FILM -> cups:film@" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('default_smoothing = "BLURRY"', "default_smoothing"),
        ('medium_types = ["PAPER"]', "default_medium"),
        ("[printers.annotation_formats.TOP]\nboxes = []", "annotation_formats.TOP.boxes"),
        ("[printers.annotation_formats.TOP]\nboxes = [{x = 0.5, width = 2.0}]", "width"),
        ('allowed_calling_aes = ["WAY_TOO_LONG_AE_TITLE"]', "allowed_calling_aes"),
    ],
)
def test_printer_capability_errors_name_the_key(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(MINIMAL + extra + "\n")


def test_tls_and_annotation_formats(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "[spool]",
        '[server.tls]\nport = 2762\ncertificate = "tls/cert.pem"\n'
        'private_key = "tls/key.pem"\n\n[spool]',
    )
    text += (
        '[printers.annotation_formats.TWO]\nband = "top"\n'
        'boxes = [{x = 0.0, width = 0.5}, {x = 0.5, width = 0.5, align = "right"}]\n'
    )
    path = tmp_path / "printserver.toml"
    path.write_text(text)
    config = load_config(path)
    assert config.server.tls is not None
    assert config.server.tls.certificate == tmp_path / "tls/cert.pem"
    formats = config.printers[0].annotation_formats
    assert list(formats) == ["TWO"] and formats["TWO"].band == "top"
    with pytest.raises(ConfigError, match="ca_certificates"):
        parse_config(text.replace("port = 2762", "port = 2762\nrequire_client_certificate = true"))


def test_custom_film_sizes_and_layouts(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "7.toml").write_text(
        "[[boxes]]\nx = 0.0\ny = 0.0\nwidth = 0.5\nheight = 1.0\n"
        "[[boxes]]\nx = 0.5\ny = 0.0\nwidth = 0.5\nheight = 1.0\n"
    )
    text = MINIMAL.replace("[spool]", 'layouts = "layouts"\n\n[spool]')
    text += (
        'film_sizes = ["A3PLUS", "14INX17IN"]\n'
        '[film_sizes.A3PLUS]\nwidth_mm = 329\nheight_mm = 483\ncups_media = "A3+"\n'
    )
    path = tmp_path / "printserver.toml"
    path.write_text(text)
    printer = Printer.of(load_config(path).printers[0])
    assert printer.film_size("A3PLUS").width_mm == 329 and printer.media_for("A3PLUS") == "A3+"
    assert sorted(printer.layouts) == [1, 2, 3, 7]  # the site adds to the built-ins
    (layouts / "8.toml").write_text(
        "[[boxes]]\nx = 0.0\ny = 0.0\nwidth = 0.6\nheight = 1.0\n"
        "[[boxes]]\nx = 0.5\ny = 0.0\nwidth = 0.5\nheight = 1.0\n"
    )
    with pytest.raises(ConfigError, match=r"8\.toml: .*boxes 1 and 2 overlap"):
        load_config(path)
    (layouts / "8.toml").unlink()
    with pytest.raises(ConfigError, match="unknown film size 'B4'"):
        parse_config(MINIMAL + 'film_sizes = ["B4"]\n')


def test_the_shipped_layouts_load() -> None:
    printer = load_config(None).printers[0]
    assert {1, 2, 3} <= set(printer.custom_layouts)


@pytest.mark.parametrize(
    ("server", "refused"),
    [
        ("cups.example.org", None),
        ("127.0.0.1:8631", None),
        ("[::1]:631", None),
        ("/run/cups/cups.sock", None),
        ("cups host", "must be host, host:port"),
        ("host:", "must be host, host:port"),
        ("127.0.0.1:70000", "port 70000 is out of range"),
        ("127.0.0.1:0", "port 0 is out of range"),
    ],
)
def test_cups_server_is_checked_as_the_sink_reads_it(server: str, refused: str | None) -> None:
    """The settings and the CUPS sink read the server name with one parser, so whatever the
    file check accepts, the server can connect to (70000 passed the check and then stopped
    ``serve``)."""
    text = f'[cups]\nserver = "{server}"\n'
    if refused is None:
        assert parse_config(text).cups.server == server
        assert CupsSink("P", "q", server).server == server
        return
    with pytest.raises(ConfigError, match=f"cups.server: {refused}"):
        parse_config(text)


DICOM_PRINTER = '[[printers]]\nae_title = "DRYSTAR"\n[printers.dicom]\nhost = "192.0.2.10"\n'


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("", r"printers\.0\.dicom\.called_ae: is required"),
        ('called_ae = "IMAGER"\nmode = "drawn"\n', r"printers\.0\.dicom\.mode: must be"),
        ('called_ae = "IMAGER"\ncertificate = "c.pem"\n', "both certificate and private_key"),
        (
            'called_ae = "IMAGER"\ncertificate = "c.pem"\nprivate_key = "k.pem"\n',
            "needs ca_certificates",
        ),
        ('called_ae = "IMAGER"\nport = 0\n', r"printers\.0\.dicom\.port: must be at least 1"),
    ],
)
def test_a_dicom_printer_is_checked_like_the_others(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(DICOM_PRINTER + extra)


def test_a_dicom_printer_has_one_destination_and_its_files_beside_the_config(
    tmp_path: Path,
) -> None:
    both = DICOM_PRINTER.replace("[printers.dicom]", 'cups_queue = "film"\n[printers.dicom]')
    with pytest.raises(ConfigError, match="exactly one destination"):
        parse_config(both + 'called_ae = "IMAGER"\n')
    nowhere = DICOM_PRINTER.replace('"192.0.2.10"', '""')
    with pytest.raises(ConfigError, match=r"printers\.0\.dicom\.host: must be at least 1"):
        parse_config(nowhere + 'called_ae = "IMAGER"\n')
    path = tmp_path / "printserver.toml"
    path.write_text(DICOM_PRINTER + 'called_ae = "IMAGER"\nca_certificates = "tls/ca.pem"\n')
    dicom = load_config(path).printers[0].dicom
    assert dicom is not None and dicom.port == 104 and dicom.mode == "as_sent"
    composed = DICOM_PRINTER.replace("[printers.dicom]", "bits = 8\n[printers.dicom]")
    with pytest.raises(ConfigError, match="composed DICOM printer sends 12-bit P-values"):
        parse_config(composed + 'called_ae = "IMAGER"\nmode = "composed"\n')
    sharp = DICOM_PRINTER.replace("[printers.dicom]", "dpi = 600\n[printers.dicom]")
    with pytest.raises(ConfigError, match="each page whole: dpi at most 320"):
        parse_config(sharp + 'called_ae = "IMAGER"\nmode = "composed"\n')
    assert dicom.ca_certificates == tmp_path / "tls" / "ca.pem" and dicom.uses_tls
