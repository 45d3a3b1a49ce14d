"""The configuration file: a TOML document validated with pydantic.

Everything has a default except what identifies a printer (its called AE title
and its destination).  With no file at all the server runs on a built-in
default: AE ``PRINTSERVER`` on 127.0.0.1:11112 with one printer that writes its
PostScript into ``<spool>/output``, so a machine without CUPS can still print to
files.
"""

from __future__ import annotations

from printserver.config.film_size import FILM_SIZES, FilmSize
from printserver.config.layouts import (
    BUILTIN_LAYOUTS,
    builtin_layouts,
    custom_layouts,
    load_layouts,
)
from printserver.config.loader import load_config, parse_config
from printserver.config.model import Config
from printserver.config.printer import (
    DEFAULT_ANNOTATION_FORMATS,
    MEDIUM_TYPES,
    AnnotationBoxConfig,
    AnnotationFormatConfig,
    DicomPrinterConfig,
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
    ServerConfig,
    SpoolConfig,
    TlsConfig,
    WebConfig,
    is_loopback,
)

__all__ = [
    "BUILTIN_LAYOUTS",
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
    "DicomPrinterConfig",
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
