"""One report of a logical printer: where it prints, its Printer Status, what its
destination says, and its jobs.

``printserver printers``, the console's printers page, the metrics and the Printer
N-GET (PS3.4 H.4.6) all read it, so the four cannot disagree.  The destinations of all
the printers asked for are queried at once, under one time limit (``StatusWatch``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from printserver.config import Config, PrinterConfig
from printserver.model.printer import Printer, PrinterStatus, printer_status
from printserver.sinks.base import Sink, StatusWatch
from printserver.sinks.directory import DirectorySink
from printserver.spool.job import JobRecord, JobState
from printserver.spool.store import SpoolStore


def destination(printer: PrinterConfig, config: Config) -> str:
    """Where a printer's films go, in one form: ``cups:QUEUE@SERVER``, ``directory:PATH`` or
    ``dicom://CALLED@HOST:PORT``."""
    if printer.dicom is not None:
        return f"dicom://{printer.dicom.called_ae}@{printer.dicom.host}:{printer.dicom.port}"
    if printer.cups_queue:
        server = printer.cups_server or config.cups.server or "default"
        return f"cups:{printer.cups_queue}@{server}"
    return f"directory:{(printer.directory or Path()).absolute()}"


def _printer_of(record: JobRecord, config: Config) -> PrinterConfig | None:
    """The configured printer a job is on; None once it was taken out of the file."""
    return next((p for p in config.printers if p.ae_title == record.printer), None)


def cups_job(record: JobRecord, config: Config) -> str:
    """The CUPS job of a job on a CUPS printer, or "-": the number a DICOM printer keeps is
    ours, for following the imager's Print Job, and means nothing to an operator."""
    printer = _printer_of(record, config)
    if printer is None or printer.cups_queue is None or record.cups_job_id is None:
        return "-"
    return str(record.cups_job_id)


def delivered_to(record: JobRecord, config: Config) -> str:
    """Where a job's film went, or is to go: the file a directory printer writes, the CUPS
    job, the DICOM imager; for ``printserver queue show`` and the console's job page."""
    printer = _printer_of(record, config)
    if printer is None:
        return "-"
    where = destination(printer, config)
    if printer.directory is not None:
        path = DirectorySink(printer.ae_title, printer.directory).target(record.sink_title)
        return str(path) + ("" if path.is_file() else " (not written yet)")
    if printer.dicom is not None:
        return f"printed at {where}" if record.state is JobState.DONE else f"{where} (not yet)"
    if record.cups_job_id is None:
        return f"{where} (not sent yet)"
    return f"CUPS job {record.cups_job_id} on {where}"


@dataclass(frozen=True)
class PrinterReport:
    ae_title: str
    name: str
    destination: str
    status: PrinterStatus
    message: str  # the destination's own words (CUPS printer-state-message), unescaped
    reasons: tuple[str, ...]
    jobs: Mapping[str, int]  # jobs per state, the states that have some, in state order


def printer_reports(
    config: Config,
    store: SpoolStore,
    sinks: Mapping[str, Sink],
    watch: StatusWatch,
    *,
    titles: Collection[str] | None = None,
    count_jobs: bool = True,
) -> dict[str, PrinterReport]:
    """The report of each printer (those called ``titles``, else all), by AE title.
    ``count_jobs=False`` leaves the spool unread, for an answer that needs no counts."""
    chosen = [p for p in config.printers if titles is None or p.ae_title in titles]
    accepting = store.has_room(config.spool.min_free_bytes)
    health_of = watch.statuses(sinks[p.ae_title] for p in chosen if p.ae_title in sinks)
    counts = Counter((job.printer, job.state) for job in store.list()) if count_jobs else Counter()
    reports = {}
    for printer in chosen:
        health = health_of.get(printer.ae_title)
        title = printer.ae_title
        jobs = {
            state.value: counts[title, state] for state in JobState if counts.get((title, state))
        }
        reports[printer.ae_title] = PrinterReport(
            ae_title=printer.ae_title,
            name=Printer.name_of(printer),
            destination=destination(printer, config),
            status=printer_status(health, spool_accepting=accepting),
            message=health.message if health is not None else "",
            reasons=health.reasons if health is not None else (),
            jobs=jobs,
        )
    return reports
