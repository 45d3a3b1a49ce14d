"""Reading the configuration: TOML text or file → a validated, completed :class:`Config`
(relative paths resolved against the file's directory, the built-in printer added when
none is declared, the site's film sizes and layouts given to every printer)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from printserver.config.errors import describe
from printserver.config.layouts import custom_layouts
from printserver.config.model import Config
from printserver.config.printer import PrinterConfig
from printserver.config.sections import ConfigError


def parse_config(text: str, *, base: Path | None = None) -> Config:
    """Validate TOML text; relative paths resolve against ``base``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
    if base is not None:
        config = _resolve_paths(config, base)
    return _complete(config)


def _complete(config: Config) -> Config:
    config = config.with_default_printer()
    return config.with_site_tables(custom_layouts(config.server.layouts))


def _resolve_paths(config: Config, base: Path) -> Config:
    spool = config.spool.model_copy(update={"directory": base / config.spool.directory})
    server = config.server
    if server.tls is not None:
        tls = server.tls
        ca = base / tls.ca_certificates if tls.ca_certificates else None
        server = server.model_copy(
            update={
                "tls": tls.model_copy(
                    update={
                        "certificate": base / tls.certificate,
                        "private_key": base / tls.private_key,
                        "ca_certificates": ca,
                    }
                )
            }
        )
    if server.layouts is not None:
        server = server.model_copy(update={"layouts": base / server.layouts})
    printers = tuple(
        p.model_copy(update={"directory": base / p.directory}) if p.directory else p
        for p in config.printers
    )
    printers = tuple(
        p.model_copy(update={"icc_profile": base / p.icc_profile}) if p.icc_profile else p
        for p in printers
    )
    printers = tuple(_resolve_dicom(p, base) for p in printers)
    web = config.web
    if web.certificate is not None and web.private_key is not None:
        web = web.model_copy(
            update={"certificate": base / web.certificate, "private_key": base / web.private_key}
        )
    return config.model_copy(
        update={"spool": spool, "printers": printers, "server": server, "web": web}
    )


def load_config(path: Path | None) -> Config:
    """Read the configuration file, or the built-in default when ``path`` is None.

    Relative paths in a file resolve against the file's directory; the built-in
    default's ``spool`` resolves against the working directory.
    """
    if path is None:
        return _complete(Config())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_config(text, base=path.resolve().parent)


def _resolve_dicom(printer: PrinterConfig, base: Path) -> PrinterConfig:
    """The TLS files of a DICOM printer, relative to the configuration file."""
    dicom = printer.dicom
    if dicom is None:
        return printer
    files = ("certificate", "private_key", "ca_certificates")
    update = {name: base / value for name in files if (value := getattr(dicom, name)) is not None}
    return printer.model_copy(update={"dicom": dicom.model_copy(update=update)})
