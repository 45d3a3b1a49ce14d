"""The configuration file: a TOML document validated with pydantic.

Everything has a default except what identifies a printer (its called AE title
and its destination).  With no file at all the server runs on a built-in
default: AE ``PRINTSERVER`` on 127.0.0.1:11112 with one printer that writes its
PostScript into ``<spool>/output``, so a machine without CUPS can still print to
files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError, model_validator

from printserver.config.printer import (
    DEFAULT_ANNOTATION_FORMATS,
    MEDIUM_TYPES,
    AnnotationBoxConfig,
    AnnotationFormatConfig,
    PrinterConfig,
)
from printserver.config.sections import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    AETitle,
    ConfigError,
    CupsConfig,
    Section,
    ServerConfig,
    SpoolConfig,
    TlsConfig,
)

__all__ = [
    "DEFAULT_AE_TITLE", "DEFAULT_ANNOTATION_FORMATS", "DEFAULT_PORT", "MEDIUM_TYPES", "AETitle",
    "AnnotationBoxConfig", "AnnotationFormatConfig", "Config", "ConfigError", "CupsConfig",
    "PrinterConfig", "ServerConfig", "SpoolConfig", "TlsConfig", "load_config", "parse_config",
]


class Config(Section):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    spool: SpoolConfig = SpoolConfig()
    cups: CupsConfig = CupsConfig()
    printers: tuple[PrinterConfig, ...] = ()

    @model_validator(mode="after")
    def _unique_printers(self) -> Config:
        seen: set[str] = set()
        for printer in self.printers:
            if printer.ae_title in seen:
                raise ValueError(f"printer AE title {printer.ae_title!r} is declared twice")
            seen.add(printer.ae_title)
        return self

    def with_default_printer(self) -> Config:
        """Add the built-in directory printer when the file declares none."""
        if self.printers:
            return self
        printer = PrinterConfig(
            ae_title=self.server.ae_title, directory=self.spool.directory / "output"
        )
        return self.model_copy(update={"printers": (printer,)})

    def printer_for(self, called_ae: str) -> PrinterConfig | None:
        """The logical printer a called AE title selects.

        The server's own AE title selects the first printer, so a modality set up
        with only the server's title still prints.
        """
        called_ae = called_ae.strip()
        for printer in self.printers:
            if printer.ae_title == called_ae:
                return printer
        if called_ae == self.server.ae_title and self.printers:
            return self.printers[0]
        return None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}"


def parse_config(text: str, *, base: Path | None = None) -> Config:
    """Validate TOML text; relative paths resolve against ``base``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    if base is not None:
        config = _resolve_paths(config, base)
    return config.with_default_printer()


def _resolve_paths(config: Config, base: Path) -> Config:
    spool = config.spool.model_copy(update={"directory": base / config.spool.directory})
    server = config.server
    if server.tls is not None:
        tls = server.tls
        ca = base / tls.ca_certificates if tls.ca_certificates else None
        server = server.model_copy(update={"tls": tls.model_copy(update={
            "certificate": base / tls.certificate,
            "private_key": base / tls.private_key,
            "ca_certificates": ca,
        })})
    printers = tuple(
        p.model_copy(update={"directory": base / p.directory}) if p.directory else p
        for p in config.printers
    )
    return config.model_copy(update={"spool": spool, "printers": printers, "server": server})


def load_config(path: Path | None) -> Config:
    """Read the configuration file, or the built-in default when ``path`` is None.

    Relative paths in a file resolve against the file's directory; the built-in
    default's ``spool`` resolves against the working directory.
    """
    if path is None:
        return Config().with_default_printer()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_config(text, base=path.resolve().parent)
