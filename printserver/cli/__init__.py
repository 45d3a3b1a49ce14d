"""The printserver command: serve, operate the queue and printers, calibrate, check a
configuration, write the conformance statement.

Every failure is one line on standard error starting "printserver: " and a documented exit
status (docs/operations.md, "Exit status"); nothing ends in a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from printserver import __version__
from printserver.cli import calibrate, printers, queue, web
from printserver.cli.check import check_environment
from printserver.cli.common import (
    CONFIG_ENV,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PIPE,
    SYSTEM_CONFIG,
    CliError,
    ConfigSource,
    config_source,
    output_path,
    write_output,
)
from printserver.config import Config, ConfigError, load_config
from printserver.terminal import EscapingFormatter, escape_controls

__all__ = ["EXIT_CONFIG", "main"]

DESCRIPTION = (
    "A DICOM print server (Print Management SCP) printing film as PostScript Level 3: "
    "serve, operate the queue and the printers, calibrate, check a configuration, "
    "write the conformance statement."
)
CONFIG_HELP = (
    f"configuration file (default: ${CONFIG_ENV}, then {SYSTEM_CONFIG} if it exists, "
    "then the built-in default)"
)
DEBUG_ENV = "PRINTSERVER_DEBUG"
"""Set to show the traceback of an unexpected error instead of its one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="printserver", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"printserver {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the DICOM print server")
    serve.add_argument("--config", "-c", help=CONFIG_HELP)
    serve.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG with every PDU and DIMSE message (diagnosing a modality)",
    )

    # ``--config`` also after the sub-command; SUPPRESS keeps a value given before it
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("--config", "-c", default=argparse.SUPPRESS, help=CONFIG_HELP)
    queue.add_parsers(commands, CONFIG_HELP, late)
    printers.add_parser(commands, CONFIG_HELP)

    config = commands.add_parser("config", help="configuration tools")
    checks = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = checks.add_parser(
        "check", help="validate a configuration file and what serving it needs"
    )
    check.add_argument("file", nargs="?", help=CONFIG_HELP)

    calibrate.add_parser(commands, CONFIG_HELP, late)
    web.add_parser(commands)

    conformance = commands.add_parser(
        "conformance", help="write the DICOM Conformance Statement (Markdown)"
    )
    conformance.add_argument("--output", "-o", help="file to write (default: standard output)")
    return parser


def _load(source: ConfigSource) -> Config:
    try:
        return load_config(source.path)
    except ConfigError as exc:
        where = (
            f"{source.path}: " if source.path and not str(exc).startswith(str(source.path)) else ""
        )
        raise CliError(f"configuration error: {where}{exc}", EXIT_CONFIG) from None


def _check(source: ConfigSource) -> int:
    """``config check``: the file, then what ``serve`` would need from the machine."""
    config = _load(source)
    try:
        check_environment(config)
    except ConfigError as exc:
        raise CliError(f"configuration error: {source}: {exc}", EXIT_CONFIG) from None
    from printserver.printer_report import destination  # the one form of a destination

    destinations = ", ".join(f"{p.ae_title} -> {destination(p, config)}" for p in config.printers)
    print(f"{source.path or 'built-in default'}: OK ({destinations})")
    return EXIT_OK


def _conformance(output: str | None) -> int:
    from printserver.conformance import conformance_statement

    if not output:
        sys.stdout.write(conformance_statement())
        return EXIT_OK
    target = output_path(output)
    text = conformance_statement().encode("utf-8")
    write_output(target, lambda out: out.write(text))
    return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "conformance":
        return _conformance(args.output)
    if args.command == "config":
        return _check(config_source(args.file))
    if args.command == "web":
        return web.run(args)
    source = config_source(args.config)
    config = _load(source)
    if args.command == "serve":
        from printserver.cli.serve import serve

        return serve(config, source, debug=args.debug)
    if args.command == "calibrate":
        return calibrate.run(config, args)
    if args.command == "printers":
        return printers.run(config, args)
    return queue.run(config, source, args)


def _log_to_stderr() -> None:
    """Warnings of the code a command runs are lines of the command's own: prefixed and
    escaped like every other (``serve`` logs with timestamps instead)."""
    root = logging.getLogger()
    if root.handlers:  # someone (a test harness) already decides where logs go
        return
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter("printserver: %(message)s"))
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)


def _say(message: str) -> None:
    print(escape_controls(f"printserver: {message}"), file=sys.stderr)


def _drop_stdout() -> None:
    """Standard output is gone: point it at /dev/null so the exit flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status."""
    args = _parser().parse_args(argv)
    if args.command != "serve":
        _log_to_stderr()
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except CliError as exc:
        _say(str(exc))
        return exc.code
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of "no traceback, ever"
        if os.environ.get(DEBUG_ENV):
            raise
        _say(f"unexpected error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for details)")
        return EXIT_FAILED
