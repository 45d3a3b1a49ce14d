"""What every command shares: exit statuses, the one-line error, where the configuration
comes from, printers named on the command line, and files the operator asked for."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from printserver.config import Config, PrinterConfig
from printserver.config.sections import ae_title_value

EXIT_OK = 0
"""Done."""
EXIT_FAILED = 1
"""An operation was refused or failed (also: a file could not be read or written)."""
EXIT_USAGE = 2
"""Bad usage or bad input: an unknown option, job id, printer, suffix or value."""
EXIT_CONFIG = 3
"""The configuration is wrong (``config check`` says what)."""
EXIT_PIPE = 141
"""Standard output was closed early (``| head``): 128 + SIGPIPE, as the shell reports a
command killed by it, but without the traceback and without being killed."""

CONFIG_ENV = "PRINTSERVER_CONFIG"
SYSTEM_CONFIG = Path("/etc/printserver/printserver.toml")
"""Where the service's configuration lives (systemd/printserver.service)."""


class CliError(Exception):
    """A command cannot go on: ``str()`` is the line for the operator, ``code`` the status."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ConfigSource:
    """The file a command reads (None: the built-in default) and why that one."""

    path: Path | None
    origin: str

    def __str__(self) -> str:
        return f"{self.path} ({self.origin})" if self.path else "the built-in default"


def config_source(option: str | None, system: Path = SYSTEM_CONFIG) -> ConfigSource:
    """``--config``, then ``$PRINTSERVER_CONFIG``, then the service's file, then the built-in
    default: every command finds the configuration (and so the spool) the service uses."""
    if option:
        return ConfigSource(Path(option), "--config")
    if os.environ.get(CONFIG_ENV):
        return ConfigSource(Path(os.environ[CONFIG_ENV]), CONFIG_ENV)
    if system.is_file():
        return ConfigSource(system, "the service's file")
    return ConfigSource(None, "built-in default")


def printer_named(config: Config, name: str) -> PrinterConfig:
    """The printer an operator named: by AE title, compared as DICOM does (leading and
    trailing spaces do not count, case does); the server's own title names the first."""
    try:
        printer = config.printer_for(ae_title_value(name))
    except ValueError:
        printer = None
    if printer is None:
        known = ", ".join(p.ae_title for p in config.printers)
        raise CliError(f"unknown printer {name.strip()!r} (printers: {known})", EXIT_USAGE)
    return printer


def output_path(name: str) -> Path:
    """A file the operator asked for, checked before any work: its folder must exist and
    it must not be a folder itself (an I/O failure, status 1)."""
    path = Path(name)
    if name.endswith(os.sep) or path.is_dir():
        raise CliError(f"cannot write {name}: it is a directory; give a file name")
    folder = path.parent
    if not folder.is_dir():
        reason = "is not a directory" if folder.exists() else "does not exist"
        raise CliError(f"cannot write {name}: {folder} {reason}")
    return path


def write_output(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file the operator asked for; any failure is one line and status 1."""
    try:
        with open(path, "wb") as out:
            write(out)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
