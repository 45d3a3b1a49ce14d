"""From a print snapshot to a durable spool job: render, encode, spool, wake the worker.

The N-ACTION handler waits for this to finish, so a success status means the
film is on disk and will survive a crash of the server (PS3.4 H.4.2.2.4: the
SCP takes a copy of the hierarchy and queues it).  Pages are rendered one at a
time while the PostScript is streamed into the spool, so memory holds one page
raster plus its encoding buffers whatever the number of films.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import BinaryIO

from printserver.config import PrinterConfig
from printserver.model.errors import SpoolFull
from printserver.model.hierarchy import PrintJob
from printserver.postscript import PageSpec, write_postscript
from printserver.render.compose import render_sheet
from printserver.spool.job import JobRecord, JobRequest
from printserver.spool.store import SpoolStore

LOG = logging.getLogger(__name__)


class PrintQueue:
    """Turns print snapshots into spool jobs for the configured printers."""

    def __init__(
        self,
        store: SpoolStore,
        printers: Mapping[str, PrinterConfig],
        on_spooled: Callable[[], None] = lambda: None,
        min_free_bytes: int = 0,
    ) -> None:
        self.store = store
        self.printers = printers
        self.on_spooled = on_spooled
        self.min_free_bytes = min_free_bytes

    @property
    def accepting(self) -> bool:
        """False when the disk-space guard refuses new films."""
        return self.store.free_bytes() >= self.min_free_bytes

    def enqueue(self, job: PrintJob, print_job_uid: str = "",
                objects: Mapping[str, bytes | memoryview] | None = None,
                note: str = "spooled") -> JobRecord:
        """Render and spool a job; raises :class:`SpoolFull` when it cannot be stored.

        A film whose size or medium the printer has not loaded is spooled held
        ("waiting for media") until an operator releases or moves it.
        """
        printer = self.printers[job.printer]
        free = self.store.free_bytes()
        if free < self.min_free_bytes:
            LOG.error("refusing a film for %s: %d MB free on the spool disk, %d MB kept free",
                      job.printer, free >> 20, self.min_free_bytes >> 20)
            raise SpoolFull(f"spool disk full: {free >> 20} MB free")
        pages = [
            PageSpec(
                width_px=sheet.width_px,
                height_px=sheet.height_px,
                dpi=sheet.dpi,
                media_name=sheet.media_name,
                render=functools.partial(render_sheet, sheet),
                color=sheet.color,
            )
            for sheet in job.sheets
        ]
        title = job.label or f"{job.calling_ae or 'DICOM'} film"
        request = JobRequest(
            printer=job.printer,
            calling_ae=job.calling_ae,
            film_session_uid=job.film_session_uid,
            film_box_uids=job.film_box_uids,
            title=title,
            copies=job.copies,
            priority=job.priority,
            media=job.media,
            pages=len(pages),
            print_job_uid=print_job_uid,
            medium_type=job.medium_type,
            destination=job.destination,
            film_size=job.film_size,
        )
        hold = printer.missing_media(job.film_size, job.medium_type)

        def write(out: BinaryIO) -> None:
            write_postscript(out, pages, title=title, bits=printer.bits)

        try:
            record = self.store.create(request, write, hold=hold, attachments=objects,
                                       note=note)
        except OSError as exc:
            LOG.error("cannot spool a job for %s: %s", job.printer, exc)
            raise SpoolFull(f"the print queue cannot store the job: {exc.strerror}") from exc
        if hold:
            LOG.warning("job %s held: %s", record.job_id, hold)
        self.on_spooled()
        return record
