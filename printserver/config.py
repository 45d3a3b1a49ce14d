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
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from printserver.model.film_size import FILM_SIZES

DEFAULT_AE_TITLE = "PRINTSERVER"
DEFAULT_PORT = 11112

AETitle = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[\x20-\x5b\x5d-\x7e]+$")]
"""AE titles are 1-16 characters of the default repertoire without backslash (PS3.5 6.2)."""


class ConfigError(Exception):
    """A configuration problem, worded as one line naming the key and the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    """The DICOM listener."""

    ae_title: AETitle = DEFAULT_AE_TITLE
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    max_associations: int = Field(10, ge=1, le=1000)
    max_pdu_size: int = Field(0, ge=0)
    network_timeout: float = Field(60.0, gt=0)
    dimse_timeout: float = Field(30.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("ae_title")
    @classmethod
    def _strip_ae(cls, value: str) -> str:
        return value.strip()


class SpoolConfig(_Section):
    """Where jobs live and how the worker retries them."""

    directory: Path = Path("spool")
    retry_initial: float = Field(2.0, gt=0, le=5.0, description="first retry delay, seconds")
    retry_max: float = Field(60.0, gt=0, description="longest retry delay, seconds")
    poll_interval: float = Field(0.5, gt=0, le=10.0, description="how often CUPS jobs are followed")


class CupsConfig(_Section):
    """How to reach CUPS; empty server means the standard lookup (CUPS_SERVER, client.conf)."""

    server: str | None = None


class PrinterConfig(_Section):
    """One logical printer, selected by the called AE title."""

    ae_title: AETitle
    cups_queue: str | None = None
    directory: Path | None = None
    name: str | None = Field(None, max_length=64, description="Printer Name reported to SCUs")
    film_sizes: tuple[str, ...] = tuple(FILM_SIZES)
    default_film_size: str = "14INX17IN"
    default_orientation: Literal["PORTRAIT", "LANDSCAPE"] = "PORTRAIT"
    default_magnification: Literal["REPLICATE", "BILINEAR", "CUBIC", "NONE"] = "CUBIC"
    default_medium: str = "BLUE FILM"
    dpi: int = Field(320, ge=50, le=1200)
    bits: Literal[8, 12] = 12
    margin_mm: float = Field(4.0, ge=0, le=50)
    spacing_mm: float = Field(3.0, ge=0, le=50)
    border_density: str = "BLACK"
    empty_image_density: str = "BLACK"
    min_density: int = Field(20, ge=0, le=400)
    max_density: int = Field(320, ge=1, le=500)
    max_image_boxes: int = Field(100, ge=1, le=400)
    media: dict[str, str] = Field(default_factory=dict, description="Film Size ID -> CUPS media")

    @field_validator("ae_title")
    @classmethod
    def _strip_ae(cls, value: str) -> str:
        return value.strip()

    @field_validator("film_sizes")
    @classmethod
    def _known_sizes(cls, sizes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [size for size in sizes if size not in FILM_SIZES]
        if unknown:
            raise ValueError(f"unknown film size {unknown[0]!r}; known: {', '.join(FILM_SIZES)}")
        if not sizes:
            raise ValueError("at least one film size is needed")
        return sizes

    @field_validator("border_density", "empty_image_density")
    @classmethod
    def _density_term(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in ("BLACK", "WHITE") and not value.isdigit():
            raise ValueError("must be BLACK, WHITE or a density in hundredths of OD")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PrinterConfig:
        if (self.cups_queue is None) == (self.directory is None):
            raise ValueError("give exactly one destination: cups_queue or directory")
        if self.default_film_size not in self.film_sizes:
            raise ValueError(f"default_film_size {self.default_film_size!r} is not in film_sizes")
        if self.min_density >= self.max_density:
            raise ValueError("min_density must be below max_density")
        return self

    @property
    def printer_name(self) -> str:
        return self.name or self.ae_title

    def media_for(self, film_size: str) -> str:
        """CUPS media name sent with a job of this film size."""
        return self.media.get(film_size) or FILM_SIZES[film_size].cups_media


class Config(_Section):
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
    printers = tuple(
        p.model_copy(update={"directory": base / p.directory}) if p.directory else p
        for p in config.printers
    )
    return config.model_copy(update={"spool": spool, "printers": printers})


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
