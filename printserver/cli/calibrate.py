"""``printserver calibrate``: print a step wedge, then build a characteristic curve from its
measured densities (the calculations are in ``calibration.py``)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from printserver.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    output_path,
    printer_named,
    write_output,
)
from printserver.config import Config
from printserver.model.printer import Printer


def add_parser(commands: Any, config_help: str, late: argparse.ArgumentParser) -> None:
    calibrate = commands.add_parser("calibrate", help="print a step wedge; build a curve")
    calibrate.add_argument("--config", "-c", help=config_help)
    steps = calibrate.add_subparsers(dest="action", required=True, metavar="ACTION")
    wedge = steps.add_parser("wedge", help="print the step-wedge film to measure", parents=[late])
    wedge.add_argument("--printer", "-p", help="printer AE title (default: the first)")
    wedge.add_argument("--steps", type=int, default=21, help="patches, 2 to 64 (default 21)")
    wedge.add_argument("--output", "-o", help="write the PostScript here instead of printing")
    curve = steps.add_parser(
        "curve", help="characteristic curve from measured densities", parents=[late]
    )
    curve.add_argument("--printer", "-p", help="printer AE title (default: the first)")
    curve.add_argument("--steps", type=int, default=21, help="patches of the wedge (default 21)")
    curve.add_argument("--csv", help="file of densities, one per line or in the last column")
    curve.add_argument("densities", nargs="*", type=float, help="densities, black to white")


def _printer(config: Config, ae_title: str | None) -> Printer:
    settings = printer_named(config, ae_title) if ae_title else config.printers[0]
    return Printer.of(settings)


def _densities(args: argparse.Namespace) -> list[float]:
    """The readings, from the command line or the ``--csv`` file (unreadable: status 1)."""
    from printserver import calibration

    if not args.csv:
        return list(args.densities)
    try:
        text = Path(args.csv).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CliError(f"cannot read {args.csv}: {reason}") from None
    return calibration.read_densities(text)


def run(config: Config, args: argparse.Namespace) -> int:
    """``calibrate wedge`` prints the film; ``calibrate curve`` turns readings into TOML.

    Readings or step counts that make no wedge or curve are bad input (status 2)."""
    from printserver import calibration

    printer = _printer(config, args.printer)
    try:
        if args.action == "wedge":
            return _print_wedge(config, printer, args.steps, args.output)
        curve = calibration.build_curve(_densities(args), args.steps)
    except calibration.CalibrationError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if curve.dropped:
        steps = ", ".join(map(str, curve.dropped))
        print(f"printserver: steps {steps} left out: their density does not fall", file=sys.stderr)
    sys.stdout.write(curve.toml(printer.ae_title, datetime.now().replace(microsecond=0)))
    return EXIT_OK


def _print_wedge(config: Config, printer: Printer, steps: int, output: str | None) -> int:
    from printserver import calibration
    from printserver.postscript import PageSpec, write_postscript
    from printserver.render.compose import SheetRaster

    sheet = calibration.wedge_sheet(printer, steps)
    page = PageSpec(
        sheet.width_px,
        sheet.height_px,
        sheet.dpi,
        printer.media_for(printer.settings.default_film_size),
        lambda: SheetRaster(sheet),
    )
    target = output_path(output) if output else Path(tempfile.mkstemp(suffix=".ps")[1])
    write_output(
        target,
        lambda out: write_postscript(
            out, [page], title=f"step wedge {printer.ae_title}", bits=printer.settings.bits
        ),
    )
    if output:
        print(f"step wedge of {steps} steps written to {target}")
        return EXIT_OK
    try:
        return _send_wedge(config, printer, steps, target)
    finally:
        target.unlink(missing_ok=True)


def _send_wedge(config: Config, printer: Printer, steps: int, document: Path) -> int:
    from printserver.server import build_sink
    from printserver.sinks.base import SinkError, Submission

    try:
        job = build_sink(printer.settings, config).submit(
            Submission(title=f"printserver-wedge-{printer.ae_title}", document=document),
            lambda job_id: None,
        )
    except SinkError as exc:
        raise CliError(f"cannot print the wedge: {exc}") from None
    print(
        f"step wedge of {steps} steps sent to {printer.ae_title}"
        + (f" (job {job})" if job is not None else "")
    )
    return EXIT_OK
