"""``printserver queue …``: the operator's view of the spool.

Modelled on ``lpstat``, ``lpq``, ``cancel`` and ``lpmove``.  Exit statuses are those of
``cli/common.py`` (docs/operations.md, "Exit status"); with several jobs the worst outcome
counts and the others are still done.  ``--json`` prints the job records exactly as the
spool keeps them (``schema_version`` 1; see docs/operations.md, "--json").  Everything else
that shows text from clients or printers passes through :func:`escape_controls`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from printserver.cli.common import (
    CONFIG_ENV,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    ConfigSource,
    output_path,
    printer_named,
)
from printserver.config import Config
from printserver.printer_report import cups_job, delivered_to
from printserver.spool import operations
from printserver.spool.job import JobRecord, JobState, utc_now
from printserver.spool.store import (
    JOB_ID,
    JOB_ID_EXAMPLE,
    InvalidJobId,
    JobNotFound,
    SpoolStore,
)
from printserver.terminal import escape_controls

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_parsers(commands: Any, config_help: str, late: argparse.ArgumentParser) -> None:
    """The ``queue`` sub-command and its actions; ``late`` is the parent parser that lets
    ``--config`` follow the action too."""
    queue = commands.add_parser("queue", help="list, inspect and change spooled print jobs")
    queue.add_argument("--config", "-c", help=config_help)
    actions = queue.add_subparsers(dest="action", required=True, metavar="ACTION")
    json_help = "print the job records as JSON (see docs/operations.md)"
    listing = actions.add_parser("list", help="jobs in queue order", parents=[late])
    listing.add_argument("--printer", "-p", help="only this printer (AE title)")
    listing.add_argument(
        "--state", "-s", choices=[state.value for state in JobState], help="only jobs in it"
    )
    listing.add_argument("--json", action="store_true", help=json_help)
    show = actions.add_parser("show", help="everything about one job", parents=[late])
    show.add_argument("job", help="job id, e.g. " + JOB_ID_EXAMPLE)
    show.add_argument("--json", action="store_true", help=json_help)
    for name, text in (
        ("cancel", "cancel jobs (at CUPS too)"),
        ("hold", "keep jobs back"),
        ("release", "let held jobs print"),
        ("retry", "send failed jobs again"),
        ("reprint", "print jobs again, as new jobs"),
        ("rerender", "render jobs again from the objects the client sent, as new jobs"),
    ):
        action = actions.add_parser(name, help=text, parents=[late])
        action.add_argument("jobs", nargs="+", metavar="JOB", help="job ids")
        if name in operations.CONFIRMED:
            action.add_argument(
                "--force", action="store_true", help="also a job that may still print"
            )
    move = actions.add_parser("move", help="send a job to another printer", parents=[late])
    move.add_argument("job", help="job id")
    move.add_argument("printer", help="AE title of the printer to print on")
    move.add_argument(
        "--force", action="store_true", help="also to a printer that accepts no jobs now"
    )
    purge = actions.add_parser("purge", help="remove finished jobs", parents=[late])
    purge.add_argument("--older-than", required=True, help="age such as 7d, 12h, 30m")
    purge.add_argument("--failed", action="store_true", help="failed jobs too")
    purge.add_argument(
        "--dry-run", "-n", action="store_true", help="only list what would be removed"
    )
    preview = actions.add_parser(
        "preview", help="PNG, JPEG or PDF picture of a job's films", parents=[late]
    )
    preview.add_argument("job", help="job id")
    preview.add_argument(
        "--output", "-o", help="out.png, out.jpg or out.pdf (default: JOB.png here)"
    )


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


def list_jobs(
    config: Config, store: SpoolStore, printer: str | None, state: str | None, as_json: bool
) -> int:
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
            job.age(now),
            cups_job(job, config),
            job.reason[:48],
        ]
        rows.append([escape_controls(cell) for cell in cells])
    print(_table(rows))
    return EXIT_OK


def show_job(config: Config, store: SpoolStore, job_id: str, as_json: bool) -> int:
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
        ("CUPS job", cups_job(job, config)),
        ("attempts", str(job.attempts)),
        ("reason", job.reason or "-"),
        ("film session", job.film_session_uid),
        ("print job", job.print_job_uid or "-"),
        ("document", f"{store.document(job.job_id)} ({job.document_bytes} bytes)"),
        ("output", delivered_to(job, config)),
    ]
    width = max(len(name) for name, _ in fields)
    print("\n".join(f"{name.ljust(width)}  {escape_controls(value)}" for name, value in fields))
    print("history:")
    for entry in job.history:
        note = f"  {entry.note}" if entry.note else ""
        note += f"  by {entry.actor}" if entry.actor else ""
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
        except operations.NeedsConfirmation as exc:
            print(f"printserver: {escape_controls(str(exc))}; --force confirms", file=sys.stderr)
            code = max(code, EXIT_FAILED)
        except operations.OperationError as exc:
            print(f"printserver: {escape_controls(str(exc))}", file=sys.stderr)
            code = max(code, EXIT_FAILED)
        else:
            extra = f" as {record.job_id}" if record.job_id != job_id else ""
            print(escape_controls(f"{job_id}: {verb}{extra} ({record.state})"))
    return code


def preview_job(store: SpoolStore, job_id: str, output: str) -> int:
    """A picture of a job's films; refused while the film is not made yet.  The picture
    type comes from the file name, checked with its folder before any work."""
    from printserver.postscript import NotOurPostScript
    from printserver.preview import UnknownPictureType, picture_format, write_preview

    record = store.get(job_id)
    target = output_path(output)
    try:
        picture_format(output)
    except UnknownPictureType as exc:
        raise CliError(f"cannot write {output}: {exc}", EXIT_USAGE) from None
    if not store.has_document(record.job_id):
        raise CliError(f"job {job_id} has no film yet ({record.state})")
    try:
        write_preview(store.document(record.job_id), target)
    except NotOurPostScript as exc:
        raise CliError(f"job {job_id}: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(escape_controls(f"{job_id}: preview written to {target}"))
    return EXIT_OK


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if not match:
        raise ValueError(f"age {text!r} is not like 7d, 12h, 30m")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def purge_jobs(store: SpoolStore, older_than: str, failed: bool, dry_run: bool) -> int:
    """``queue purge``: finished jobs last changed before the age; ``--dry-run`` lists them."""
    try:
        before = utc_now() - parse_age(older_than)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    states = (JobState.DONE, JobState.CANCELED) + ((JobState.FAILURE,) if failed else ())
    if dry_run:
        doomed = [j.job_id for j in store.list() if j.state in states and j.updated < before]
        print(f"{len(doomed)} job(s) would be purged" + (": " + " ".join(doomed) if doomed else ""))
        return EXIT_OK
    removed = operations.purge(store, before, states)
    print(f"{len(removed)} job(s) purged" + (": " + " ".join(removed) if removed else ""))
    return EXIT_OK


def _spool(config: Config, source: ConfigSource) -> SpoolStore:
    """The spool the configuration names; never created here (only a server makes one)."""
    root = config.spool.directory
    if root.exists() and not root.is_dir():
        raise CliError(
            f"configuration error: spool.directory: {root} is not a directory", EXIT_CONFIG
        )
    if not root.is_dir():
        raise CliError(
            f"no spool at {root.absolute()}: no server has run with {source}; "
            f"give the server's configuration (--config or ${CONFIG_ENV})"
        )
    return SpoolStore(root)


def _valid_ids(ids: list[str]) -> list[str]:
    """The ids that can name a job; each other one gets its line (status 2 at the end)."""
    for job_id in ids:
        if not JOB_ID.fullmatch(job_id):
            print(_no_job(InvalidJobId(job_id)), file=sys.stderr)
    return [job_id for job_id in ids if JOB_ID.fullmatch(job_id)]


def _named_ids(args: argparse.Namespace) -> list[str]:
    return list(getattr(args, "jobs", None) or ([args.job] if hasattr(args, "job") else []))


def run(config: Config, source: ConfigSource, args: argparse.Namespace) -> int:
    """Dispatch ``queue``: names are checked first (ids, printers), then the spool."""
    named = _named_ids(args)
    ids = _valid_ids(named)
    if named and not ids:
        return EXIT_USAGE
    printer = None
    if getattr(args, "printer", None) is not None:
        printer = printer_named(config, args.printer).ae_title
    code = EXIT_USAGE if len(ids) < len(named) else EXIT_OK
    store = _spool(config, source)
    try:
        return max(code, _act(config, store, args, ids, printer))
    except JobNotFound as exc:
        print(_no_job(exc), file=sys.stderr)
        return EXIT_USAGE


def _act(
    config: Config,
    store: SpoolStore,
    args: argparse.Namespace,
    ids: list[str],
    printer: str | None,
) -> int:
    from printserver.server import build_sinks  # sinks pull in pycups only when needed

    if args.action == "list":
        return list_jobs(config, store, printer, args.state, args.json)
    if args.action == "show":
        return show_job(config, store, ids[0], args.json)
    if args.action == "preview":
        return preview_job(store, ids[0], args.output or f"{ids[0]}.png")
    if args.action == "purge":
        return purge_jobs(store, args.older_than, args.failed, args.dry_run)
    sinks = build_sinks(config)
    assert printer is not None or args.action != "move"
    actions: dict[str, tuple[Callable[[str], JobRecord], str]] = {
        "move": (
            lambda job: operations.move(store, job, str(printer), sinks, force=args.force),
            f"moved to {printer}",
        ),
        "cancel": (lambda job: operations.cancel(store, job, sinks), "canceled"),
        "hold": (lambda job: operations.hold(store, job), "held"),
        "release": (lambda job: operations.release(store, job), "released"),
        "retry": (lambda job: operations.retry(store, job), "queued again"),
        "reprint": (
            lambda job: operations.reprint(store, job, force=args.force),
            "reprinted",
        ),
        "rerender": (
            lambda job: operations.reprint(store, job, order_only=True, force=args.force),
            "to be re-rendered",
        ),
    }
    action, verb = actions[args.action]
    return for_each(store, ids, action, verb)
