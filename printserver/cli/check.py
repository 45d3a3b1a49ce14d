"""What ``serve`` needs from the machine beyond a valid file: certificates that load, a spool
that is (or can become) a directory, addresses it can bind.  ``config check`` and ``serve``
run the same checks, so a file that checks OK starts."""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

from printserver.config import Config, ConfigError, PrinterConfig
from printserver.model.printer import Printer


def directory_problem(key: str, path: Path) -> str | None:
    """Why ``path`` cannot serve as a directory this user writes in (None: it can).

    Nothing is created: a missing directory counts when its nearest existing parent is a
    directory this user may create it in.
    """
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != path and not existing.is_dir():
        return f"{key}: {existing} is not a directory, so {path} cannot be created"
    if not existing.is_dir():
        return f"{key}: {path} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        verb = "written" if existing == path else f"created (in {existing})"
        return f"{key}: {path} cannot be {verb} by this user"
    return None


def _certificate_problem(key: str, certificate: Path, private_key: Path) -> str | None:
    """Why the certificate and key do not load together, as the TLS listener loads them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(certificate), str(private_key))
    except FileNotFoundError as exc:
        return f"{key}: cannot read {exc.filename or certificate}: no such file"
    except PermissionError as exc:
        return f"{key}: cannot read {exc.filename or certificate}: permission denied"
    except ssl.SSLError as exc:
        return (
            f"{key}: {certificate} and {private_key} do not load as a matching pair ({exc.reason})"
        )
    except OSError as exc:
        return f"{key}: cannot read {certificate}: {exc.strerror or exc}"
    return None


def _tls_problems(config: Config) -> list[str]:
    tls = config.server.tls
    if tls is None:
        return []
    problems = [_certificate_problem("server.tls", tls.certificate, tls.private_key)]
    if tls.ca_certificates is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_verify_locations(str(tls.ca_certificates))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            problems.append(f"server.tls.ca_certificates: {tls.ca_certificates}: {reason}")
    if tls.port != 0 and tls.port == config.server.port:
        problems.append(f"server.tls.port: {tls.port} is server.port already")
    return [problem for problem in problems if problem]


def _address_problem(config: Config) -> str | None:
    """An address that does not resolve cannot be bound (whether the port is free is only
    known when binding: the running server holds it while its file is checked)."""
    try:
        socket.getaddrinfo(config.server.host, config.server.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"server.host: cannot use {config.server.host!r} as an address ({exc})"
    return None


def environment_problems(config: Config) -> list[str]:
    """Everything ``serve`` would stop on that the file alone does not show."""
    problems = [directory_problem("spool.directory", config.spool.directory)]
    problems += [
        directory_problem(f"printers.{index}.directory", printer.directory)
        for index, printer in enumerate(config.printers)
        if printer.directory is not None
    ]
    problems += _tls_problems(config)
    problems.append(_address_problem(config))
    problems += [_printer_problem(printer) for printer in config.printers]
    return [problem for problem in problems if problem]


def _printer_problem(settings: PrinterConfig) -> str | None:
    """What building the print model's printer would stop on (its ICC profile)."""
    try:
        Printer.of(settings)
    except ConfigError as exc:
        return str(exc)
    return None


def check_environment(config: Config) -> None:
    """Raise :class:`ConfigError` naming every problem :func:`environment_problems` finds."""
    problems = environment_problems(config)
    if problems:
        raise ConfigError("; ".join(problems))
