"""Wiring: configuration → sinks, spool, render stage and delivery lanes → print queue →
DICOM listener."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

from printserver import notify
from printserver.config import Config, PrinterConfig
from printserver.metrics import Gauges, Metrics, QueuedJob
from printserver.model.printer import Printer
from printserver.net.imager import DicomSink
from printserver.net.scp import start_server
from printserver.net.service import PrintService
from printserver.net.upper_layer import EdgeServer
from printserver.print_queue import PrintQueue, page_threads
from printserver.sinks.base import Sink
from printserver.sinks.cups import CupsSink
from printserver.sinks.directory import DirectorySink
from printserver.spool.job import JobInfo, JobState
from printserver.spool.lanes import DeliveryLanes
from printserver.spool.render_stage import RenderStage
from printserver.spool.store import SpoolLocked, SpoolStore

if TYPE_CHECKING:
    from printserver.web.console import WebConsole

LOG = logging.getLogger(__name__)
RELEASE_GRACE = 2.0
"""Seconds a stopping server waits for clients to release before aborting them."""


def build_sink(printer: PrinterConfig, config: Config) -> Sink:
    """The destination a logical printer writes to."""
    if printer.cups_queue is not None:
        return CupsSink(
            printer.ae_title,
            printer.cups_queue,
            printer.cups_server or config.cups.server,
            timeout=printer.cups_timeout or config.cups.timeout,
            encryption=printer.cups_encryption or config.cups.encryption,
        )
    if printer.dicom is not None:
        return DicomSink(printer.ae_title, printer.dicom, config.server.ae_title)
    assert printer.directory is not None
    return DirectorySink(printer.ae_title, printer.directory)


def build_sinks(config: Config) -> dict[str, Sink]:
    return {printer.ae_title: build_sink(printer, config) for printer in config.printers}


class StartupError(Exception):
    """The server cannot start; the message is the one line for the operator."""


def _wait_until(done: Callable[[], bool], until: float) -> None:
    """Poll ``done`` until it holds or the monotonic clock reaches ``until``."""
    while not done() and time.monotonic() < until:
        time.sleep(0.05)


class PrintServer:
    """The running product: a DICOM listener spooling film orders, a render stage making
    their PostScript, a delivery lane per printer feeding its sink."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.metrics_address: tuple[str, int] | None = None
        self.sinks = build_sinks(config)
        self.store = SpoolStore(config.spool.directory)
        self.delivery = DeliveryLanes(
            self.store,
            self.sinks,
            retry_initial=config.spool.retry_initial,
            retry_max=config.spool.retry_max,
            poll_interval=config.spool.poll_interval,
            scan_interval=config.spool.scan_interval,
            stuck_after=timedelta(minutes=config.spool.stuck_after_minutes),
            keep_done=timedelta(days=config.spool.keep_done_days),
            metrics=self.metrics,
        )
        printers = {printer.ae_title: Printer.of(printer) for printer in config.printers}
        self.queue = PrintQueue(
            self.store,
            printers,
            on_spooled=lambda: self.renderer.wake(),
            min_free_bytes=config.spool.min_free_bytes,
            limits=config.limits,
            page_threads=page_threads(config.server.render_workers),
            metrics=self.metrics,
        )
        self.renderer = RenderStage(
            self.store,
            self.queue.render,
            workers=config.server.render_workers,
            on_rendered=self.delivery.wake,
            scan_interval=config.spool.scan_interval,
            metrics=self.metrics,
        )
        self.service = PrintService(config, self.queue, self.sinks)
        self._listeners: list[EdgeServer] = []
        self.tls_address: tuple[str, int] | None = None
        self._stopped = threading.Event()
        self.metrics.watch(self.gauges)
        self.web: WebConsole | None = None
        if config.web.enabled:  # Starlette and uvicorn are loaded only where the console runs
            from printserver.web.console import WebConsole

            self.web = WebConsole(config, self.sinks, wake=(self.renderer.wake, self.delivery.wake))

    def gauges(self) -> Gauges:
        """How the server stands now, for a metrics scrape."""
        jobs = [
            QueuedJob(
                job.printer,
                job.state.value,
                job.entered,
                job.state is JobState.HELD and job.state_info == JobInfo.REQ_MED_NOT_INST,
            )
            for job in self.store.list()
        ]
        statuses = self.service.printer_statuses(self.queue.printers.values())
        return Gauges(
            jobs=jobs,
            printers={title: (status.status, status.info) for title, status in statuses.items()},
            spool_free_bytes=self.store.free_bytes(),
            spool_min_free_bytes=self.config.spool.min_free_bytes,
            associations_open=sum(len(each.active_associations) for each in self._listeners),
        )

    def alive(self) -> bool:
        """The render stage and every delivery lane are running (systemd's watchdog)."""
        return self.renderer.alive() and self.delivery.alive()

    def start(self) -> tuple[str, int]:
        """Lock and open the spool, listen, and only then render and deliver; returns the
        bound address.  A second server on the same spool, or a port already taken, stops
        here (:class:`StartupError`) before anything was delivered or rendered."""
        self._probe_ports()
        self._claim_spool()
        try:
            self._listeners = self._listen()
        except BaseException:
            self.store.unlock_server()
            raise
        pending = [job for job in self.store.list() if not job.state.final]
        if pending:
            LOG.info("resuming %d unfinished job(s) from the spool", len(pending))
        self.service.requests.start()
        self.renderer.start()
        self.delivery.start()
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
        if self.config.metrics.enabled:
            metrics = self.config.metrics
            try:
                self.metrics_address = self.metrics.serve(metrics.host, metrics.port)
            except OSError as exc:
                raise StartupError(
                    f"cannot serve metrics on {metrics.host} port {metrics.port}: "
                    f"{exc.strerror or exc}"
                ) from None
            LOG.info("metrics on http://%s:%d/metrics", *self.metrics_address)
        if self.web is not None:
            try:
                self.web.start()
            except OSError as exc:
                web = self.config.web
                raise StartupError(
                    f"cannot serve the web console on {web.host} port {web.port}: "
                    f"{exc.strerror or exc}"
                ) from None
        return str(host), int(port)

    def _claim_spool(self) -> None:
        """Only one server per spool: the lock first, so that cleaning up after a crash
        (``open``) never removes what a running server is writing."""
        try:
            self.store.lock_server()
        except SpoolLocked as exc:
            raise StartupError(str(exc)) from None
        try:
            self.store.open()
        except OSError as exc:
            self.store.unlock_server()
            raise StartupError(
                f"cannot open the spool {self.store.root}: {exc.strerror or exc}"
            ) from None

    def _probe_ports(self) -> None:
        """Bind each port once, as the listener will, before the spool is touched: a port
        another program holds stops the start with nothing opened (the listener itself
        binds only once the spool is clean, so no association finds it half-opened)."""
        config, server = self.config, self.config.server
        ports = [(server.host, server.port)]
        ports += [(server.host, server.tls.port)] if server.tls is not None else []
        ports += [(config.web.host, config.web.port)] if config.web.enabled else []
        ports += [(config.metrics.host, config.metrics.port)] if config.metrics.enabled else []
        for host, port in ports:
            if port == 0:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    reason = exc.strerror or exc
                    raise StartupError(f"cannot listen on {host} port {port}: {reason}") from None

    def _cannot_listen(self, port: int | None, exc: OSError) -> StartupError:
        server = self.config.server
        where = f"port {port}"
        if port is None:
            tls = f" or TLS port {server.tls.port}" if server.tls is not None else ""
            where = f"port {server.port}{tls}"
        return StartupError(f"cannot listen on {server.host} {where}: {exc.strerror or exc}")

    def _listen(self) -> list[EdgeServer]:
        try:
            return start_server(
                self.config.server, self.service, self.config.limits.max_message_bytes
            )
        except OSError as exc:
            raise self._cannot_listen(None, exc) from None

    def stop(self, grace: float = 10.0) -> None:
        """Stop taking associations, let requests in flight finish, then stop the worker.

        A film whose N-ACTION is being handled is spooled and answered before the
        associations still open are aborted; the spool is consistent on disk at
        every moment anyway, so whatever is left resumes at the next start.
        """
        if self.web is not None:
            self.web.stop()  # no operator changes while the server winds down
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
        self.service.requests.stop()
        self.service.sync.stop()
        self.renderer.stop()
        self.delivery.stop()
        self.store.unlock_server()
        self.metrics.close()
        self._stopped.set()

    def serve_forever(self) -> None:
        """Run until SIGINT or SIGTERM."""

        def _stop(signum: int, frame: FrameType | None) -> None:
            LOG.info("signal %d: stopping", signum)
            self._stopped.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        host, port = self.start()
        notify.notify(f"READY=1\nSTATUS=listening on {host}:{port}")  # only now: it listens
        interval = notify.watchdog_interval()
        watchdog = notify.Watchdog(self.alive, interval) if interval else None
        if watchdog is not None:
            watchdog.start()
        while not self._stopped.wait(1.0):
            pass
        notify.notify("STOPPING=1\nSTATUS=stopping")
        self.stop()
        if watchdog is not None:
            watchdog.stop()
        LOG.info("stopped")
