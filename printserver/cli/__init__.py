"""The ``printserver`` command: serve, operate the queue and printers, calibrate, check a
configuration, write the conformance statement."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from printserver import __version__
from printserver.cli import calibrate, printers, queue
from printserver.config import Config, ConfigError, load_config
from printserver.conformance import conformance_statement

CONFIG_ENV = "PRINTSERVER_CONFIG"
EXIT_CONFIG = 3
"""Exit status of every command when the configuration is wrong."""


def _config_path(value: str | None) -> Path | None:
    value = value or os.environ.get(CONFIG_ENV)
    return Path(value) if value else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="printserver", description=__doc__)
    parser.add_argument("--version", action="version", version=f"printserver {__version__}")
    config_help = f"configuration file (default: ${CONFIG_ENV}, else the built-in default)"
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the DICOM print server")
    serve.add_argument("--config", "-c", help=config_help)

    # ``--config`` also after the sub-command; SUPPRESS keeps a value given before it
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("--config", "-c", default=argparse.SUPPRESS, help=config_help)
    queue.add_parsers(commands, config_help, late)
    printers.add_parser(commands, config_help)

    config = commands.add_parser("config", help="configuration tools")
    checks = config.add_subparsers(dest="action", required=True)
    check = checks.add_parser("check", help="validate a configuration file")
    check.add_argument("file", nargs="?", help=config_help)

    calibrate.add_parser(commands, config_help, late)

    conformance = commands.add_parser(
        "conformance", help="write the DICOM Conformance Statement (Markdown)"
    )
    conformance.add_argument("--output", "-o", help="file to write (default: standard output)")
    return parser


def _load(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        where = f"{path}: " if path and not str(exc).startswith(str(path)) else ""
        print(f"printserver: configuration error: {where}{exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "conformance":
        text = conformance_statement()
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "config":
        path = _config_path(args.file)
        config = _load(path)
        destinations = ", ".join(
            f"{p.ae_title} -> {'CUPS ' + p.cups_queue if p.cups_queue else p.directory}"
            for p in config.printers
        )
        print(f"{path or 'built-in default'}: OK ({destinations})")
        return 0
    config = _load(_config_path(args.config))
    if args.command == "serve":
        from printserver.cli.serve import serve

        return serve(config)
    if args.command == "calibrate":
        return calibrate.run(config, args)
    if args.command == "printers":
        return printers.run(config, args)
    return queue.run(config, args)
