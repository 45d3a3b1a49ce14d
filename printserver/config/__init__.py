"""The configuration file: a TOML document validated with pydantic.

Everything has a default except what identifies a printer (its called AE title
and its destination).  With no file at all the server runs on a built-in
default: AE ``PRINTSERVER`` on 127.0.0.1:11112 with one printer that writes its
PostScript into ``<spool>/output``, so a machine without CUPS can still print to
files.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from printserver.config.film_size import FILM_SIZES, FilmSize
from printserver.config.printer import (
    DEFAULT_ANNOTATION_FORMATS,
    MEDIUM_TYPES,
    AnnotationBoxConfig,
    AnnotationFormatConfig,
    FilmSizeConfig,
    LayoutConfig,
    PrinterConfig,
)
from printserver.config.sections import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    AETitle,
    ConfigError,
    CupsConfig,
    LimitsConfig,
    MetricsConfig,
    Section,
    ServerConfig,
    SpoolConfig,
    TlsConfig,
    WebConfig,
    is_loopback,
)

BUILTIN_LAYOUTS = "printserver.layouts"
"""The package the repository's top-level ``layouts/`` is installed as (see pyproject.toml).

Read through importlib.resources, so a server installed from a wheel finds the layouts inside
its own package and an editable install finds them in the checkout.
"""

__all__ = [
    "DEFAULT_AE_TITLE",
    "DEFAULT_ANNOTATION_FORMATS",
    "DEFAULT_PORT",
    "FILM_SIZES",
    "MEDIUM_TYPES",
    "AETitle",
    "AnnotationBoxConfig",
    "AnnotationFormatConfig",
    "Config",
    "ConfigError",
    "CupsConfig",
    "FilmSize",
    "FilmSizeConfig",
    "LayoutConfig",
    "LimitsConfig",
    "MetricsConfig",
    "PrinterConfig",
    "ServerConfig",
    "SpoolConfig",
    "TlsConfig",
    "WebConfig",
    "builtin_layouts",
    "custom_layouts",
    "is_loopback",
    "load_config",
    "load_layouts",
    "parse_config",
]


class Config(Section):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    limits: LimitsConfig = LimitsConfig()
    spool: SpoolConfig = SpoolConfig()
    cups: CupsConfig = CupsConfig()
    web: WebConfig = WebConfig()
    metrics: MetricsConfig = MetricsConfig()
    printers: tuple[PrinterConfig, ...] = ()
    film_sizes: dict[str, FilmSizeConfig] = Field(
        default_factory=dict, description="film sizes beyond the DICOM defined terms"
    )

    @model_validator(mode="after")
    def _unique_printers(self) -> Config:
        seen: set[str] = set()
        for printer in self.printers:
            if printer.ae_title in seen:
                raise ValueError(f"printer AE title {printer.ae_title!r} is declared twice")
            seen.add(printer.ae_title)
        return self

    def with_site_tables(self, layouts: dict[int, LayoutConfig]) -> Config:
        """Give every printer the file's custom film sizes and the CUSTOM layouts."""
        printers = []
        for index, printer in enumerate(self.printers):
            completed = printer.model_copy(
                update={
                    "custom_film_sizes": {**self.film_sizes, **printer.custom_film_sizes},
                    "custom_layouts": {**layouts, **printer.custom_layouts},
                }
            )
            try:
                completed.check_film_sizes()
            except ValueError as exc:
                raise ConfigError(f"printers.{index}.film_sizes: {exc}") from None
            printers.append(completed)
        return self.model_copy(update={"printers": tuple(printers)})

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


_PLAIN: dict[str, str] = {
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be below {lt}",
    "greater_than": "must be above {gt}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} character(s)",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_pattern_mismatch": "has characters that are not allowed here",
    "string_type": "must be text in quotes",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "literal_error": "must be {expected}",
    "tuple_type": 'must be a list in brackets, e.g. ["A", "B"]',
    "list_type": 'must be a list in brackets, e.g. ["A", "B"]',
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "path_type": "must be a file or directory name in quotes",
    "datetime_type": "must be a date and time, e.g. 2026-11-22T19:40:00",
    "datetime_parsing": "must be a date and time, e.g. 2026-11-22T19:40:00",
}
"""pydantic's error types in the words of the configuration file (TOML's, not Python's)."""
MAX_REPORTED = 10


def _plain(error: ErrorDetails) -> str:
    """One problem: the dotted key, what is wrong in the file's terms, and what was given."""
    where = ".".join(str(part) for part in error["loc"] if "[" not in str(part))
    template = _PLAIN.get(error["type"])
    ctx = {key: str(value).replace("'", '"') for key, value in error.get("ctx", {}).items()}
    message = template.format(**ctx) if template else error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if template and error["type"] not in ("missing", "extra_forbidden") and _short(given):
        message += f" (not {json.dumps(given)})"
    return f"{where or '(top level)'}: {message}"


def _short(value: object) -> bool:
    """A value small and plain enough to quote back in the message."""
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 40


def _describe(error: ValidationError) -> str:
    """Every problem of a file on one line, a key once (a union reports a key per member)."""
    problems: dict[str, str] = {}
    for detail in error.errors():
        line = _plain(detail)
        problems.setdefault(line.partition(": ")[0], line)
    shown = list(problems.values())[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


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
    return _complete(config)


def _complete(config: Config) -> Config:
    config = config.with_default_printer()
    return config.with_site_tables(custom_layouts(config.server.layouts))


def builtin_layouts() -> Traversable:
    """The shipped layouts directory; missing only from a broken install, which must not serve."""
    try:
        return resources.files(BUILTIN_LAYOUTS)
    except ModuleNotFoundError:
        raise ConfigError(
            f"the built-in layouts (package {BUILTIN_LAYOUTS}) are not installed; "
            "reinstall printserver"
        ) from None


def custom_layouts(site: Path | None) -> dict[int, LayoutConfig]:
    """The CUSTOM\\i layouts (PS3.3 C.13.3): built-in, then the site's ``[server] layouts``.

    A site file replaces the built-in layout of the same number and adds the others.  A
    configured directory that is missing is an error: without it every film asking for one
    of the site's layouts would be refused while the server looks healthy.
    """
    layouts = load_layouts(builtin_layouts())
    if site is not None:
        if not site.is_dir():
            reason = "not a directory" if site.exists() else "no such directory"
            raise ConfigError(f"server.layouts: {reason}: {site}")
        layouts.update(load_layouts(site))
    return layouts


def load_layouts(directory: Traversable) -> dict[int, LayoutConfig]:
    """Every ``<i>.toml`` of a layouts directory: the CUSTOM\\i Image Display Formats.

    Checked at start-up: a bad file stops the server with a line naming it.  Other files
    (README.md, ``__init__.py``) are not layouts and are left alone.
    """
    try:
        entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot read the layouts: {exc.strerror}") from None
    layouts: dict[int, LayoutConfig] = {}
    for path in entries:
        stem, dot, suffix = path.name.rpartition(".")
        if not dot or suffix != "toml":
            continue
        if not (stem.isascii() and stem.isdigit()) or int(stem) == 0:
            raise ConfigError(f"{path}: a layout file is named by its number from 1, e.g. 1.toml")
        if int(stem) in layouts:
            raise ConfigError(f"{path}: layout {int(stem)} is declared by two files")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            layouts[int(stem)] = LayoutConfig.model_validate(raw)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except ValidationError as exc:
            raise ConfigError(f"{path}: {_describe(exc)}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return layouts


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
