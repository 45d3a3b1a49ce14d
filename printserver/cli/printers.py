"""``printserver printers``: each logical printer, where it prints, and how it is doing."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

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


def add_parser(commands: Any, config_help: str) -> None:
    printers = commands.add_parser("printers", help="logical printers and their live status")
    printers.add_argument("--config", "-c", help=config_help)
    printers.add_argument("--json", action="store_true", help="print the printers as JSON")


def run(config: Config, args: argparse.Namespace) -> int:
    from printserver.server import build_sinks  # sinks pull in pycups only when needed

    return report(config, SpoolStore(config.spool.directory), build_sinks(config), args.json)
