"""Film orders in, PostScript out: the two ends of the spool for the print path.

At N-ACTION :meth:`PrintQueue.enqueue` writes the film order (what the client
sent) durably as a ``rendering`` job and returns: a success status means the
order is on disk and survives a crash of the server (PS3.4 H.4.2.2.4: the SCP
takes a copy of the hierarchy and queues it), and the client does not wait for
the renderer.  The render stage of the spool worker then calls
:meth:`PrintQueue.render`, which replays the order (``order/replay.py``) with
the printer's configuration of today and streams its pages as PostScript, one
page raster at a time.  Printing, reprinting and re-rendering share that path.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import BinaryIO

from printserver.config import LimitsConfig
from printserver.metrics import Metrics
from printserver.model.errors import SpoolFull
from printserver.model.hierarchy import PrintJob
from printserver.model.printer import Printer
from printserver.order.index import UnknownIndexVersion
from printserver.order.replay import ReplayError, replay
from printserver.postscript import PageSpec, write_postscript
from printserver.render.compose import SheetRaster
from printserver.spool.job import JobRecord, JobRequest
from printserver.spool.render_stage import RenderFailed, RenderHeld
from printserver.spool.store import Attachment, SpoolStore

LOG = logging.getLogger(__name__)


def job_request(job: PrintJob, print_job_uid: str = "") -> JobRequest:
    """What the spool records of a print snapshot."""
    return JobRequest(
        printer=job.printer,
        calling_ae=job.calling_ae,
        film_session_uid=job.film_session_uid,
        film_box_uids=job.film_box_uids,
        title=job.label or f"{job.calling_ae or 'DICOM'} film",
        copies=job.copies,
        priority=job.priority,
        media=job.media,
        pages=len(job.sheets),
        print_job_uid=print_job_uid,
        medium_type=job.medium_type,
        destination=job.destination,
        film_size=job.film_size,
    )


def pages(job: PrintJob) -> list[PageSpec]:
    """The job's film sheets as pages rendered one at a time, when the writer needs them."""
    return [
        PageSpec(
            width_px=sheet.width_px,
            height_px=sheet.height_px,
            dpi=sheet.dpi,
            media_name=sheet.media_name,
            render=functools.partial(SheetRaster, sheet),
            color=sheet.color,
            cmyk=sheet.cmyk,
        )
        for sheet in job.sheets
    ]


def page_threads(render_workers: int, cpus: int | None = None) -> int:
    """Threads drawing and compressing the bands of one page: the cores shared among the
    render workers, but at least two, so that one film on an idle server uses two cores."""
    return max(2, (cpus or os.cpu_count() or 1) // render_workers)


class PrintQueue:
    """Spools film orders for the configured printers and renders them when asked.

    ``page_threads``: threads per page rendered (default: one per core).
    """

    def __init__(
        self,
        store: SpoolStore,
        printers: Mapping[str, Printer],
        on_spooled: Callable[[], None] = lambda: None,
        min_free_bytes: int = 0,
        limits: LimitsConfig | None = None,
        page_threads: int | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.printers = printers
        self.on_spooled = on_spooled
        self.min_free_bytes = min_free_bytes
        self.limits = limits or LimitsConfig()
        self.page_threads = page_threads

    @property
    def accepting(self) -> bool:
        """False when the disk-space guard refuses new films."""
        return self.store.has_room(self.min_free_bytes)

    def enqueue(
        self, job: PrintJob, print_job_uid: str = "", order: Mapping[str, Attachment] | None = None
    ) -> JobRecord:
        """Spool a film order, durably, to be rendered; raises :class:`SpoolFull` when the
        spool cannot take it.  Nothing here waits for the renderer."""
        if not self.accepting:
            free = self.store.free_bytes()
            LOG.error(
                "refusing a film for %s: %d MB free on the spool disk, %d MB kept free",
                job.printer,
                free >> 20,
                self.min_free_bytes >> 20,
            )
            raise SpoolFull(f"spool disk full: {free >> 20} MB free")
        try:
            record = self.store.create(job_request(job, print_job_uid), attachments=order)
        except OSError as exc:
            LOG.error("cannot spool a job for %s: %s", job.printer, exc)
            raise SpoolFull(f"the print queue cannot store the job: {exc.strerror}") from exc
        self.metrics.film_received(record.printer, record.pages * record.copies)
        self.on_spooled()
        return record

    def render(
        self, record: JobRecord, order: Mapping[str, memoryview], out: BinaryIO
    ) -> str | None:
        """Write the PostScript of a spooled order; returns why the film must be held (a size
        or medium the printer has not loaded), or None.  Raises :class:`RenderFailed`, or
        :class:`RenderHeld` for the order of a newer release."""
        printer = self.printers.get(record.printer)
        if printer is None:
            raise RenderFailed(f"printer {record.printer!r} is no longer configured")
        try:
            job = replay(order, printer, record.calling_ae, self.limits)
        except UnknownIndexVersion as exc:
            raise RenderHeld(str(exc)) from exc
        except ReplayError as exc:
            raise RenderFailed(str(exc)) from exc
        write_postscript(
            out,
            pages(job),
            title=record.title,
            bits=printer.settings.bits,
            workers=self.page_threads,
        )
        return printer.missing_media(job.film_size, job.medium_type)
