"""The render stage: a bounded pool that turns spooled film orders into documents.

A job spooled at N-ACTION is ``rendering``: its order is on disk, its document
is not.  Each of ``workers`` threads takes the most urgent such job (HIGH
priority first, then oldest), has the renderer write its document (written
under a temporary name and renamed, so a crash leaves none or a whole one), and
makes the job ``pending`` (or ``held`` when the printer lacks its film) for the
delivery worker.  However many clients print at once, memory holds at most
``workers`` pages being rendered.  An operator may hold a job while it is
rendered; it is rendered all the same and stays held.  A job whose order cannot become a film is
``failure`` with the reason; a job the server stopped or crashed while
rendering is still ``rendering`` at the next start and is rendered then, once.

The stage knows nothing of DICOM: the renderer is handed the job's record and
its order files and writes the document.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import BinaryIO

from printserver.metrics import Metrics
from printserver.spool.job import JobInfo, JobRecord, JobState, utc_now
from printserver.spool.store import JobNotFound, SpoolStore

LOG = logging.getLogger(__name__)

Renderer = Callable[[JobRecord, Mapping[str, memoryview], BinaryIO], str | None]
"""Writes a job's document from its order; returns why the job must be held, or None."""

RETRY_AFTER = 10.0
"""Seconds before a render that failed for want of disk space is tried again."""


def unrendered(record: JobRecord) -> bool:
    """A job waiting for its document: ``rendering``, or held by an operator meanwhile."""
    return record.state is JobState.RENDERING or (
        record.state is JobState.HELD and record.document_bytes == 0
    )


class RenderFailed(Exception):
    """The order does not make a film; the job fails and the message says why."""


class RenderHeld(Exception):
    """This release cannot render the order (a newer release wrote it); the job is held
    with the message as its reason, its order kept, to be released where it can be."""


SETTLE_SECONDS = 0.02
"""A film starts rendering no sooner than this after it was spooled (its N-ACTION answered).
The modality's next requests (N-DELETE of the film box and of the session, the release) come
within a few milliseconds, and a render starting beside them takes the GIL and both cores:
bench_server measured N-DELETE of the film box at 6.0-6.2 ms with a render starting at once,
3.6-3.7 ms with it 20 ms later.  A film that waited longer in the queue starts at once."""


class RenderStage:
    """``workers`` threads rendering ``rendering`` jobs, most urgent first."""

    def __init__(
        self,
        store: SpoolStore,
        render: Renderer,
        *,
        workers: int = 1,
        on_rendered: Callable[[], None] = lambda: None,
        scan_interval: float = 2.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.render = render
        self.metrics = metrics or Metrics()
        self.workers = workers
        self.on_rendered = on_rendered
        self.scan_interval = scan_interval
        self._claimed: set[str] = set()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._wakes = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"render-{number}", daemon=True)
            for number in range(1, self.workers + 1)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the films being rendered; what is left is rendered at the next start."""
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def alive(self) -> bool:
        """Every render thread is running (the watchdog's question)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def wake(self) -> None:
        """A job may be waiting to be rendered."""
        with self._work:
            self._wakes += 1
            self._work.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._work:
                seen = self._wakes
            try:
                record = self._claim()
            except Exception:  # keep rendering: one bad pass must not stop printing
                LOG.exception("render pass failed")
                record = None
            if record is None:
                self._idle(seen)
                continue
            try:
                self.render_job(record)
            finally:
                with self._lock:
                    self._claimed.discard(record.job_id)

    def _idle(self, seen: int) -> None:
        """Wait for a wake-up after the ``seen``-th, a stop, or the next scan."""
        with self._work:
            self._work.wait_for(
                lambda: self._wakes != seen or self._stop.is_set(), self.scan_interval
            )

    def _claim(self) -> JobRecord | None:
        """The most urgent job to render that no other thread has taken."""
        now = utc_now()
        waiting = [
            record
            for record in self.store.list()
            if unrendered(record) and (record.next_attempt is None or record.next_attempt <= now)
        ]
        with self._lock:
            free = [record for record in waiting if record.job_id not in self._claimed]
            if not free:
                return None
            record = min(free, key=lambda job: job.rank)
            self._claimed.add(record.job_id)
            return record

    def _settle(self, record: JobRecord) -> None:
        """Wait until the film has been spooled for :data:`SETTLE_SECONDS` (a stop ends it)."""
        waited = (utc_now() - record.created).total_seconds()
        if waited < SETTLE_SECONDS:
            self._stop.wait(SETTLE_SECONDS - waited)

    def render_job(self, record: JobRecord) -> None:
        """Render one job and hand it on; every outcome is written to its record."""
        hold: list[str | None] = []
        self._settle(record)
        started = time.monotonic()
        try:
            order = self.store.attachments(record.job_id)
            size = self.store.write_document(
                record.job_id, lambda out: hold.append(self.render(record, order, out))
            )
        except JobNotFound:
            return  # removed meanwhile
        except RenderFailed as exc:
            self._failed(record, str(exc))
            return
        except RenderHeld as exc:
            self._held(record.job_id, str(exc))
            return
        except OSError as exc:  # e.g. the disk filled up: the order is safe, try again later
            self._later(record.job_id, f"cannot write the film: {exc.strerror or exc}")
            return
        except Exception as exc:  # a bug must not lose the job: it fails, with the reason
            LOG.exception("job %s: rendering failed", record.job_id)
            self._failed(record, f"cannot render: {exc}")
            return
        self.metrics.rendered(record.printer, time.monotonic() - started)
        self._rendered(record.job_id, size, hold[0] if hold else None)
        self.on_rendered()

    def _rendered(self, job_id: str, size: int, hold: str | None) -> None:
        def change(current: JobRecord) -> JobRecord | None:
            if current.state is JobState.HELD:  # held while it was rendered: it stays so
                return current.model_copy(update={"document_bytes": size})
            if current.state is not JobState.RENDERING:
                return None  # canceled while it was rendered: it stays so
            if hold is not None:
                return current.to(
                    JobState.HELD, info=JobInfo.REQ_MED_NOT_INST, reason=hold, document_bytes=size
                )
            return current.to(JobState.PENDING, document_bytes=size)

        try:
            record = self.store.update(job_id, change)
        except JobNotFound:
            return
        LOG.info("job %s rendered (%d bytes)", job_id, size)
        if record.state is JobState.HELD:
            LOG.warning("job %s held: %s", job_id, record.last_error)

    def _failed(self, record: JobRecord, reason: str) -> None:
        job_id = record.job_id
        LOG.error("job %s cannot be rendered: %s", job_id, reason)
        self.metrics.failed(record.printer, record.pages * record.copies, "render")

        def change(current: JobRecord) -> JobRecord | None:
            if not unrendered(current):
                return None
            return current.to(JobState.FAILURE, info=JobInfo.INVALID_PAGE_DES, reason=reason)

        with contextlib.suppress(JobNotFound):
            self.store.update(job_id, change)

    def _held(self, job_id: str, reason: str) -> None:
        LOG.error("job %s held: %s", job_id, reason)

        def change(current: JobRecord) -> JobRecord | None:
            if current.state is not JobState.RENDERING:
                return None  # held, canceled or moved meanwhile: that stands
            return current.to(JobState.HELD, reason=reason)

        with contextlib.suppress(JobNotFound):
            self.store.update(job_id, change)

    def _later(self, job_id: str, reason: str) -> None:
        LOG.warning("job %s: %s; rendering again in %.0f s", job_id, reason, RETRY_AFTER)
        when = utc_now() + timedelta(seconds=RETRY_AFTER)

        def change(current: JobRecord) -> JobRecord | None:
            if not unrendered(current):
                return None
            return current.model_copy(update={"last_error": reason, "next_attempt": when})

        with contextlib.suppress(JobNotFound):
            self.store.update(job_id, change)
