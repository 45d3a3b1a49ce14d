"""What the console's pages show, gathered from the configuration, the spool and the sinks.

Plain data for the templates: no HTML here (the templates escape every value), no
blocking work that the caller does not run in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from printserver.config import Config
from printserver.printer_report import delivered_to, printer_reports
from printserver.sinks.base import Sink, StatusWatch
from printserver.spool.job import HistoryEntry, JobRecord, JobState, utc_now
from printserver.spool.operations import REQUEUED, RETRIED
from printserver.spool.store import SpoolStore


@dataclass(frozen=True)
class PrinterRow:
    ae_title: str
    name: str
    destination: str
    status: str
    status_info: str
    message: str
    reasons: tuple[str, ...]
    loaded_film_sizes: str
    loaded_media: str
    jobs: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SpoolSpace:
    """Free spool space, and whether the disk-space guard lets films in."""

    free_mb: int
    min_free_mb: int
    accepting: bool


@dataclass(frozen=True)
class JobRow:
    job_id: str
    state: str
    printer: str
    calling_ae: str
    title: str
    pages: int
    copies: int
    priority: str
    age: str
    reason: str
    version: str
    has_film: bool
    actions: tuple[str, ...]
    confirm: dict[str, str]
    """Per action that may need it, the label of its confirmation tick."""


@dataclass(frozen=True)
class JobDetail:
    row: JobRow
    fields: tuple[tuple[str, str], ...]
    delivered: str
    history: tuple[HistoryEntry, ...]
    move_targets: tuple[str, ...]


def spool_space(store: SpoolStore, config: Config) -> SpoolSpace:
    accepting = store.has_room(config.spool.min_free_bytes)
    return SpoolSpace(store.free_bytes() >> 20, config.spool.min_free_mb, accepting)


def printer_rows(
    config: Config, store: SpoolStore, sinks: Mapping[str, Sink], watch: StatusWatch
) -> list[PrinterRow]:
    """Each printer, live: asks the destinations all at once (``watch.timeout`` at most)."""
    reports = printer_reports(config, store, sinks, watch)
    return [
        PrinterRow(
            ae_title=printer.ae_title,
            name=report.name,
            destination=report.destination,
            status=report.status.status,
            status_info=report.status.info,
            message=report.message,
            reasons=report.reasons,
            loaded_film_sizes=", ".join(printer.loaded_film_sizes) or "all offered",
            loaded_media=", ".join(printer.loaded_media) or "all offered",
            jobs=tuple(report.jobs.items()),
        )
        for printer in config.printers
        for report in (reports[printer.ae_title],)
    ]


def actions(state: JobState, has_order: bool = False) -> tuple[str, ...]:
    """The operator actions that apply to a job in ``state`` (``spool/operations.py`` has
    the last word); ``rerender`` needs the order the client sent."""
    allowed = {
        "hold": state.can_become(JobState.HELD),
        "release": state is JobState.HELD,
        "cancel": state.can_become(JobState.CANCELED),
        "retry": state in RETRIED,
        "reprint": True,
        "rerender": has_order,
        "move": all(state.can_become(target) for target in REQUEUED),
    }
    return tuple(name for name, ok in allowed.items() if ok)


def confirmations(state: JobState) -> dict[str, str]:
    """The ticks the job's forms carry: what the command line's ``--force`` confirms
    (``spool/operations.py`` decides when one is needed)."""
    ticks = {"move": "also to a printer that accepts no jobs now"}
    if not state.final:
        ticks["reprint"] = ticks["rerender"] = "it may still print: make a second film"
    return ticks


def job_row(record: JobRecord, store: SpoolStore, now: datetime) -> JobRow:
    return JobRow(
        job_id=record.job_id,
        state=record.state.value,
        printer=record.printer,
        calling_ae=record.calling_ae,
        title=record.title,
        pages=record.pages,
        copies=record.copies,
        priority=record.priority,
        age=record.age(now),
        reason=record.reason,
        version=f"{record.updated.isoformat()}|{record.state.value}",
        has_film=store.has_document(record.job_id),
        actions=actions(record.state, store.has_order(record.job_id)),
        confirm=confirmations(record.state),
    )


def job_rows(store: SpoolStore, printer: str | None, state: str | None) -> list[JobRow]:
    """Jobs in the order of ``printserver queue list``: unfinished first, by priority, age."""
    now = utc_now()
    return [
        job_row(job, store, now)
        for job in sorted(store.list(), key=lambda job: (job.state.final, job.rank))
        if printer in (None, job.printer) and state in (None, job.state.value)
    ]


def job_detail(record: JobRecord, store: SpoolStore, config: Config) -> JobDetail:
    fields = (
        ("printer", record.printer),
        ("state", f"{record.state.value} ({record.state_info})"),
        ("calling AE", record.calling_ae or "-"),
        ("label", record.title or "-"),
        ("films × copies", f"{record.pages} × {record.copies}"),
        ("priority", record.priority),
        ("film size / medium", f"{record.film_size or '-'} / {record.medium_type or '-'}"),
        ("destination", record.destination or "-"),
        ("attempts", str(record.attempts)),
        ("reason", record.reason or "-"),
        ("created", f"{record.created.astimezone():%Y-%m-%d %H:%M:%S}"),
        ("film session", record.film_session_uid or "-"),
        ("print job", record.print_job_uid or "-"),
        ("document", f"{record.document_bytes} bytes"),
    )
    return JobDetail(
        row=job_row(record, store, utc_now()),
        fields=fields,
        delivered=delivered_to(record, config),
        history=record.history,
        move_targets=tuple(p.ae_title for p in config.printers if p.ae_title != record.printer),
    )
