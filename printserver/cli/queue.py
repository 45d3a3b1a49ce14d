"""``printserver queue …`` and ``printserver printers``: the operator's view of the spool.

Modelled on ``lpstat``, ``lpq``, ``cancel`` and ``lpmove``.  Exit codes a script
can rely on: 0 done; 1 an action was refused or failed for at least one job
(the others were still done); 2 bad usage or an unknown job id; 3 a
configuration error.  ``--json`` prints the job records exactly as the spool
keeps them (``schema_version`` 1; see README).  Everything else that shows
text from clients or printers passes through :func:`escape_controls`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from printserver.config import Config
from printserver.spool import operations
from printserver.spool.job import JobInfo, JobRecord, JobState, utc_now
from printserver.spool.store import JOB_ID_EXAMPLE, InvalidJobId, JobNotFound, SpoolStore
from printserver.terminal import escape_controls

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_parsers(commands: Any, config_help: str, late: argparse.ArgumentParser) -> None:
    """The ``queue`` sub-command and its actions; ``late`` is the parent parser that lets
    ``--config`` follow the action too."""
    queue = commands.add_parser("queue", help="list, inspect and change spooled print jobs")
    queue.add_argument("--config", "-c", help=config_help)
    actions = queue.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="jobs in queue order", parents=[late])
    listing.add_argument("--printer", "-p", help="only this printer (AE title)")
    listing.add_argument("--state", "-s", choices=[state.value for state in JobState])
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = actions.add_parser("show", help="everything about one job", parents=[late])
    show.add_argument("job")
    show.add_argument("--json", action="store_true")
    for name, text in (
        ("cancel", "cancel jobs (at CUPS too)"),
        ("hold", "keep jobs back"),
        ("release", "let held jobs print"),
        ("retry", "send failed jobs again"),
        ("reprint", "print finished jobs again, as new jobs"),
        ("rerender", "render jobs again from the objects the client sent"),
    ):
        action = actions.add_parser(name, help=text, parents=[late])
        action.add_argument("jobs", nargs="+", metavar="JOB")
    move = actions.add_parser("move", help="send a job to another printer", parents=[late])
    move.add_argument("job")
    move.add_argument("printer", help="AE title of the printer to print on")
    purge = actions.add_parser("purge", help="remove finished jobs", parents=[late])
    purge.add_argument("--older-than", required=True, help="age such as 7d, 12h, 30m")
    purge.add_argument("--failed", action="store_true", help="failed jobs too")
    preview = actions.add_parser(
        "preview", help="PNG or PDF picture of a job's films", parents=[late]
    )
    preview.add_argument("job")
    preview.add_argument("--output", "-o", help="out.png or out.pdf (default JOB.png)")


def _age(record: JobRecord, now: datetime) -> str:
    seconds = int((now - record.created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _reason(record: JobRecord) -> str:
    reason = record.last_error or (
        "" if record.state_info in (JobInfo.NORMAL, JobInfo.QUEUED) else record.state_info
    )
    return ("STUCK: " if record.stuck else "") + reason


def _no_job(error: JobNotFound) -> str:
    """One line for the operator about an id that names no job (exit status 2)."""
    job_id = str(error.args[0]) if error.args else ""
    shown = escape_controls(job_id if len(job_id) <= 40 else job_id[:40] + "...")
    if not shown or shown != shown.strip():
        shown = f"'{shown}'"  # an empty or space-padded id stays visible
    if isinstance(error, InvalidJobId):
        return f"printserver: no job {shown}: not a job id (they look like {JOB_ID_EXAMPLE})"
    return f"printserver: no job {shown}"


def _table(rows: list[list[str]]) -> str:
    """Columns of cells that are each one line: every cell has been through escape_controls."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def list_jobs(store: SpoolStore, printer: str | None, state: str | None, as_json: bool) -> int:
    jobs = [
        job
        for job in sorted(store.list(), key=lambda job: (job.state.final, job.rank))
        if printer in (None, job.printer) and state in (None, job.state)
    ]
    if as_json:
        print(json.dumps([job.model_dump(mode="json") for job in jobs], indent=2))
        return EXIT_OK
    if not jobs:
        print("no jobs")
        return EXIT_OK
    now = utc_now()
    rows = [
        ["JOB", "PRINTER", "CALLER", "LABEL", "FILMS", "PRIO", "STATE", "AGE", "CUPS", "REASON"]
    ]
    for job in jobs:
        cells = [
            job.job_id,
            job.printer,
            job.calling_ae or "-",
            job.title[:24] or "-",
            f"{job.pages}x{job.copies}",
            job.priority,
            job.state.value,
            _age(job, now),
            str(job.cups_job_id or "-"),
            _reason(job)[:48],
        ]
        rows.append([escape_controls(cell) for cell in cells])
    print(_table(rows))
    return EXIT_OK


def show_job(store: SpoolStore, job_id: str, as_json: bool) -> int:
    job = store.get(job_id)
    if as_json:
        print(json.dumps(job.model_dump(mode="json"), indent=2))
        return EXIT_OK
    fields = [
        ("job", job.job_id),
        ("printer", job.printer),
        ("state", f"{job.state} ({job.state_info})"),
        ("calling AE", job.calling_ae),
        ("label", job.title),
        ("films", str(job.pages)),
        ("copies", str(job.copies)),
        ("priority", job.priority),
        ("film size / medium", f"{job.film_size or '-'} / {job.medium_type or '-'}"),
        ("destination", job.destination or "-"),
        ("CUPS job", str(job.cups_job_id or "-")),
        ("attempts", str(job.attempts)),
        ("reason", _reason(job) or "-"),
        ("film session", job.film_session_uid),
        ("print job", job.print_job_uid or "-"),
        ("document", f"{store.document(job.job_id)} ({job.document_bytes} bytes)"),
    ]
    width = max(len(name) for name, _ in fields)
    print("\n".join(f"{name.ljust(width)}  {escape_controls(value)}" for name, value in fields))
    print("history:")
    for entry in job.history:
        note = f"  {entry.note}" if entry.note else ""
        print(
            f"  {entry.time.astimezone():%Y-%m-%d %H:%M:%S}  {entry.state.value:<9}"
            + escape_controls(f" {entry.info}{note}")
        )
    return EXIT_OK


def for_each(
    store: SpoolStore, job_ids: list[str], action: Callable[[str], JobRecord], verb: str
) -> int:
    """Apply an operation to several jobs; report each; the worst outcome is the exit code."""
    code = EXIT_OK
    for job_id in job_ids:
        try:
            record = action(job_id)
        except JobNotFound as exc:
            print(_no_job(exc), file=sys.stderr)
            code = max(code, EXIT_USAGE)
        except operations.OperationError as exc:
            print(f"printserver: {escape_controls(str(exc))}", file=sys.stderr)
            code = max(code, EXIT_REFUSED)
        else:
            extra = f" as {record.job_id}" if record.job_id != job_id else ""
            print(escape_controls(f"{job_id}: {verb}{extra} ({record.state})"))
    return code


def preview_job(store: SpoolStore, job_id: str, output: str) -> int:
    """A picture of a job's films; refused while the film is not made yet."""
    from printserver.postscript import NotOurPostScript
    from printserver.preview import write_preview

    record = store.get(job_id)
    if not store.has_document(record.job_id):
        print(f"printserver: job {job_id} has no film yet ({record.state})", file=sys.stderr)
        return EXIT_REFUSED
    try:
        target = write_preview(store.document(record.job_id), output)
    except NotOurPostScript as exc:
        print(escape_controls(f"printserver: job {job_id}: {exc}"), file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(
            escape_controls(f"printserver: cannot write {output}: {exc.strerror or exc}"),
            file=sys.stderr,
        )
        return EXIT_REFUSED
    print(escape_controls(f"{job_id}: preview written to {target}"))
    return EXIT_OK


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if not match:
        raise ValueError(f"age {text!r} is not like 7d, 12h, 30m")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def run(config: Config, args: argparse.Namespace) -> int:
    """Dispatch ``queue``."""
    from printserver.server import build_sinks  # sinks pull in pycups only when needed

    store = SpoolStore(config.spool.directory)
    try:
        if args.action == "list":
            return list_jobs(store, args.printer, args.state, args.json)
        if args.action == "show":
            return show_job(store, args.job, args.json)
        if args.action == "preview":
            return preview_job(store, args.job, args.output or f"{args.job}.png")
    except JobNotFound as exc:
        print(_no_job(exc), file=sys.stderr)
        return EXIT_USAGE
    if args.action == "purge":
        try:
            age = parse_age(args.older_than)
        except ValueError as exc:
            print(f"printserver: {escape_controls(str(exc))}", file=sys.stderr)
            return EXIT_USAGE
        states = (JobState.DONE, JobState.CANCELED) + ((JobState.FAILURE,) if args.failed else ())
        removed = operations.purge(store, utc_now() - age, states)
        print(f"{len(removed)} job(s) purged" + (": " + " ".join(removed) if removed else ""))
        return EXIT_OK
    sinks = build_sinks(config)
    if args.action == "move":
        return for_each(
            store,
            [args.job],
            lambda job: operations.move(store, job, args.printer, sinks),
            f"moved to {args.printer}",
        )
    actions: dict[str, tuple[Callable[[str], JobRecord], str]] = {
        "cancel": (lambda job: operations.cancel(store, job, sinks), "canceled"),
        "hold": (lambda job: operations.hold(store, job), "held"),
        "release": (lambda job: operations.release(store, job), "released"),
        "retry": (lambda job: operations.retry(store, job), "queued again"),
        "reprint": (lambda job: operations.reprint(store, job), "reprinted"),
        "rerender": (
            lambda job: operations.reprint(store, job, order_only=True),
            "to be re-rendered",
        ),
    }
    action, verb = actions[args.action]
    return for_each(store, args.jobs, action, verb)
