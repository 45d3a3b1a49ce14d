"""Wiring: configuration → sinks, spool, render stage and delivery worker → print queue →
DICOM listener."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

from printserver.config import Config, PrinterConfig
from printserver.model.printer import Printer
from printserver.net.scp import start_server
from printserver.net.service import PrintService
from printserver.net.upper_layer import EdgeServer
from printserver.print_queue import PrintQueue, page_threads
from printserver.sinks.base import Sink
from printserver.sinks.cups import CupsSink
from printserver.sinks.directory import DirectorySink
from printserver.spool.render_stage import RenderStage
from printserver.spool.store import SpoolStore
from printserver.spool.worker import SpoolWorker

LOG = logging.getLogger(__name__)
RELEASE_GRACE = 2.0
"""Seconds a stopping server waits for clients to release before aborting them."""


def build_sink(printer: PrinterConfig, config: Config) -> Sink:
    """The destination a logical printer writes to."""
    if printer.cups_queue is not None:
        return CupsSink(
            printer.ae_title, printer.cups_queue, printer.cups_server or config.cups.server
        )
    assert printer.directory is not None
    return DirectorySink(printer.ae_title, printer.directory)


def build_sinks(config: Config) -> dict[str, Sink]:
    return {printer.ae_title: build_sink(printer, config) for printer in config.printers}


def _wait_until(done: Callable[[], bool], until: float) -> None:
    """Poll ``done`` until it holds or the monotonic clock reaches ``until``."""
    while not done() and time.monotonic() < until:
        time.sleep(0.05)


class PrintServer:
    """The running product: a DICOM listener spooling film orders, a render stage making
    their PostScript, a delivery worker feeding the sinks."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.sinks = build_sinks(config)
        self.store = SpoolStore(config.spool.directory)
        self.worker = SpoolWorker(
            self.store,
            self.sinks,
            retry_initial=config.spool.retry_initial,
            retry_max=config.spool.retry_max,
            poll_interval=config.spool.poll_interval,
            scan_interval=config.spool.scan_interval,
            stuck_after=timedelta(minutes=config.spool.stuck_after_minutes),
            keep_done=timedelta(days=config.spool.keep_done_days),
        )
        printers = {printer.ae_title: Printer.of(printer) for printer in config.printers}
        self.queue = PrintQueue(
            self.store,
            printers,
            on_spooled=lambda: self.renderer.wake(),
            min_free_bytes=config.spool.min_free_bytes,
            limits=config.limits,
            page_threads=page_threads(config.server.render_workers),
        )
        self.renderer = RenderStage(
            self.store,
            self.queue.render,
            workers=config.server.render_workers,
            on_rendered=self.worker.wake,
            scan_interval=config.spool.scan_interval,
        )
        self.service = PrintService(config, self.queue, self.sinks)
        self._listeners: list[EdgeServer] = []
        self.tls_address: tuple[str, int] | None = None
        self._stopped = threading.Event()

    def start(self) -> tuple[str, int]:
        """Resume the spool, then listen; returns the bound address."""
        self.store.open()
        pending = [job for job in self.store.list() if not job.state.final]
        if pending:
            LOG.info("resuming %d unfinished job(s) from the spool", len(pending))
        self.renderer.start()
        self.worker.start()
        self._listeners = start_server(
            self.config.server, self.service, self.config.limits.max_message_bytes
        )
        host, port = self._listeners[0].server_address[:2]
        if len(self._listeners) > 1:
            tls_host, tls_port = self._listeners[1].server_address[:2]
            self.tls_address = (str(tls_host), int(tls_port))
            LOG.info("DICOM TLS on %s:%d", tls_host, tls_port)
        LOG.info(
            "listening as %s on %s:%d for printers %s",
            self.config.server.ae_title,
            host,
            port,
            ", ".join(p.ae_title for p in self.config.printers),
        )
        return str(host), int(port)

    def stop(self, grace: float = 10.0) -> None:
        """Stop taking associations, let requests in flight finish, then stop the worker.

        A film whose N-ACTION is being handled is spooled and answered before the
        associations still open are aborted; the spool is consistent on disk at
        every moment anyway, so whatever is left resumes at the next start.
        """
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.shutdown()  # no new associations; open ones keep their threads
        deadline = time.monotonic() + grace
        if not self.service.wait_idle(grace):
            LOG.warning("requests still running after %.0f s; stopping anyway", grace)
        # a client just answered gets a moment to read its reply and release on its own
        _wait_until(
            lambda: not any(listener.active_associations for listener in listeners),
            min(deadline, time.monotonic() + RELEASE_GRACE),
        )
        leftovers = [assoc for listener in listeners for assoc in listener.active_associations]
        for assoc in leftovers:  # all at once: each blocking abort would take 0.1 s or more
            assoc.abort(block=False)
        _wait_until(
            lambda: not any(assoc.is_alive() for assoc in leftovers),
            time.monotonic() + RELEASE_GRACE,
        )
        self.renderer.stop()
        self.worker.stop()
        self._stopped.set()

    def serve_forever(self) -> None:
        """Run until SIGINT or SIGTERM."""

        def _stop(signum: int, frame: FrameType | None) -> None:
            LOG.info("signal %d: stopping", signum)
            self._stopped.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.start()
        while not self._stopped.wait(1.0):
            pass
        self.stop()
        LOG.info("stopped")
