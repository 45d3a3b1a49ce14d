"""``printserver printers``: each logical printer, where it prints, and how it is doing."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from printserver.cli.common import EXIT_FAILED, EXIT_OK
from printserver.config import Config
from printserver.printer_report import printer_reports
from printserver.sinks.base import Sink, StatusWatch
from printserver.spool.store import SpoolStore
from printserver.terminal import escape_controls


def report(config: Config, store: SpoolStore, sinks: Mapping[str, Sink], as_json: bool) -> int:
    """Print one line (or JSON object) per printer: destination, live status, job counts."""
    # all asked at once: the report waits one time limit, however many do not answer
    watch = StatusWatch(workers=max(1, len(sinks)))
    entries: list[dict[str, Any]] = [
        {
            "printer": each.ae_title,
            "name": each.name,
            "destination": each.destination,
            "status": each.status.status,
            "status_info": each.status.info,
            "message": each.message,
            "jobs": dict(each.jobs),
        }
        for each in printer_reports(config, store, sinks, watch).values()
    ]
    if as_json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:  # the message comes from CUPS and the device: shown escaped
        jobs_text = ", ".join(f"{n} {state}" for state, n in entry["jobs"].items()) or "no jobs"
        message = f" ({entry['message']})" if entry["message"] else ""
        print(
            escape_controls(
                f"{entry['printer']:<16} {entry['status']:<8} "
                f"{entry['status_info']:<16} {entry['destination']}{message}; "
                f"{jobs_text}"
            )
        )
    return 0


def imagers(config: Config, sinks: Mapping[str, Sink]) -> int:
    """Ask each DICOM printer's imager what it supports (Printer Configuration Retrieval) and
    say what this printer offers that the imager does not list.  Exit 1 when an imager
    cannot be asked or lacks something offered, else 0."""
    from printserver.net.imager import DicomSink
    from printserver.net.imager_configuration import missing
    from printserver.sinks.base import SinkError

    status = EXIT_OK
    dicom = [p for p in config.printers if isinstance(sinks.get(p.ae_title), DicomSink)]
    if not dicom:
        print("no DICOM printers")
    for printer in dicom:
        sink = sinks[printer.ae_title]
        assert isinstance(sink, DicomSink)
        try:
            answer = sink.configuration()
        except SinkError as exc:
            print(escape_controls(f"{printer.ae_title:<16} {exc}"))
            status = EXIT_FAILED
            continue
        if answer is None:
            print(f"{printer.ae_title:<16} {sink.where} does not answer Printer Configuration")
            continue
        sizes, media = " ".join(answer.film_sizes) or "-", ", ".join(answer.media) or "-"
        lines = [f"film sizes {sizes}; media {media}"]
        gaps = missing(printer, answer)
        if gaps:
            lines.append("offered here, not listed by the imager: " + "; ".join(gaps))
            status = EXIT_FAILED
        for line in lines:
            print(escape_controls(f"{printer.ae_title:<16} {sink.where}: {line}"))
    return status


def add_parser(commands: Any, config_help: str) -> None:
    printers = commands.add_parser("printers", help="logical printers and their live status")
    printers.add_argument("--config", "-c", help=config_help)
    printers.add_argument("--json", action="store_true", help="print the printers as JSON")
    printers.add_argument(
        "--imagers",
        action="store_true",
        help="ask each DICOM printer's imager what it supports, beside what is offered here",
    )


def run(config: Config, args: argparse.Namespace) -> int:
    from printserver.server import build_sinks  # sinks pull in pycups only when needed

    if args.imagers:
        return imagers(config, build_sinks(config))
    return report(config, SpoolStore(config.spool.directory), build_sinks(config), args.json)
