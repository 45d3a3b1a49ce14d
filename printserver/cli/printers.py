"""``printserver printers``: each logical printer, where it prints, and how it is doing."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from printserver.config import Config
from printserver.model.printer import Printer, printer_status
from printserver.print_queue import PrintQueue
from printserver.sinks.base import Sink, StatusWatch
from printserver.spool.store import SpoolStore
from printserver.terminal import escape_controls


def report(config: Config, store: SpoolStore, sinks: Mapping[str, Sink], as_json: bool) -> int:
    """Print one line (or JSON object) per printer: destination, live status, job counts."""
    jobs = store.list()
    spool_accepting = PrintQueue(store, {}, min_free_bytes=config.spool.min_free_bytes).accepting
    entries: list[dict[str, Any]] = []
    # all asked at once: the report waits one time limit, however many do not answer
    health_of = StatusWatch(workers=max(1, len(sinks))).statuses(sinks.values())
    for printer in config.printers:
        health = health_of[printer.ae_title]
        status = printer_status(health, spool_accepting=spool_accepting)
        counts = Counter(job.state.value for job in jobs if job.printer == printer.ae_title)
        server = printer.cups_server or config.cups.server or "default"
        destination = (
            f"directory:{printer.directory.absolute()}"
            if printer.directory is not None
            else f"cups:{printer.cups_queue}@{server}"
        )
        entries.append(
            {
                "printer": printer.ae_title,
                "name": Printer.name_of(printer),
                "destination": destination,
                "status": status.status,
                "status_info": status.info,
                "message": health.message,
                "jobs": dict(sorted(counts.items())),
            }
        )
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
