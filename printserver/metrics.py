"""Prometheus metrics: what happened (counters, histograms) and how things stand (gauges).

One :class:`Metrics` per running server, each with its own registry, so that a
process starting many servers (the tests) never counts one server's films in
another's.  The stages record events as they happen (``film_received``,
``rendered``, ``delivered``, ...).  What is a state rather than an event — the
queue per printer and state, printer status, free spool space, open
associations — is read when Prometheus scrapes, from a :class:`Gauges`
snapshot the server builds, so a number is never stale or left behind by a
restart.  This module is a leaf: it knows no spool, network or printer type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "Gauges", "Metrics", "QueuedJob", "render_metrics"]

JOB_STATES = ("rendering", "pending", "held", "printing", "done", "failure", "canceled")
"""Every job state, so that a state with no job is a 0 and not a missing series."""

PRINTER_STATUSES = ("NORMAL", "WARNING", "FAILURE")
"""Printer Status (2110,0010) defined terms."""

RENDER_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


@dataclass(frozen=True)
class QueuedJob:
    """One spooled job as the gauges see it."""

    printer: str
    state: str
    entered: datetime
    """When it entered its state (its age in that state is measured from here)."""
    held_for_media: bool = False


@dataclass(frozen=True)
class Gauges:
    """How the server stands at one moment; built by the server at each scrape."""

    jobs: Sequence[QueuedJob] = ()
    printers: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Printer AE title → (Printer Status, Printer Status Info)."""
    spool_free_bytes: int = 0
    spool_min_free_bytes: int = 0
    associations_open: int = 0


class _GaugeCollector(Collector):
    """Reads a :class:`Gauges` snapshot when scraped."""

    def __init__(self, read: Callable[[], Gauges]) -> None:
        self.read = read

    def describe(self) -> list[Metric]:
        return list(_families(Gauges(), datetime.now(UTC)))  # the names, without a scrape

    def collect(self) -> Iterator[Metric]:
        yield from _families(self.read(), datetime.now(UTC))


def _families(gauges: Gauges, now: datetime) -> Iterator[Metric]:
    yield from _queue_families(gauges, now)
    up = GaugeMetricFamily(
        "printserver_printer_up", "1 when the printer's status is NORMAL", labels=["printer"]
    )
    status = GaugeMetricFamily(
        "printserver_printer_status",
        "Printer Status as a state set: 1 for the current status",
        labels=["printer", "status", "info"],
    )
    for printer, (current, info) in sorted(gauges.printers.items()):
        up.add_metric([printer], 1.0 if current == "NORMAL" else 0.0)
        for term in PRINTER_STATUSES:
            status.add_metric(
                [printer, term, info if term == current else ""], float(term == current)
            )
    yield up
    yield status
    yield GaugeMetricFamily(
        "printserver_spool_free_bytes",
        "free space on the spool's filesystem",
        value=gauges.spool_free_bytes,
    )
    yield GaugeMetricFamily(
        "printserver_spool_min_free_bytes",
        "below this free space new films are refused ([spool] min_free_mb)",
        value=gauges.spool_min_free_bytes,
    )
    yield GaugeMetricFamily(
        "printserver_associations_open",
        "DICOM associations open now",
        value=gauges.associations_open,
    )


def _queue_families(gauges: Gauges, now: datetime) -> Iterator[Metric]:
    depth: dict[tuple[str, str], int] = {
        (printer, state): 0 for printer in gauges.printers for state in JOB_STATES
    }
    oldest: dict[tuple[str, str], float] = dict.fromkeys(depth, 0.0)
    held: dict[str, int] = dict.fromkeys(gauges.printers, 0)
    for job in gauges.jobs:
        key = (job.printer, job.state)
        depth[key] = depth.get(key, 0) + 1
        oldest[key] = max(oldest.get(key, 0.0), (now - job.entered).total_seconds())
        if job.held_for_media:
            held[job.printer] = held.get(job.printer, 0) + 1
    jobs = GaugeMetricFamily(
        "printserver_jobs", "spooled jobs per printer and state", labels=["printer", "state"]
    )
    age = GaugeMetricFamily(
        "printserver_oldest_job_seconds",
        "seconds the longest-waiting job of a printer has been in its state (0: none)",
        labels=["printer", "state"],
    )
    for key in sorted(depth):
        jobs.add_metric(list(key), depth[key])
        age.add_metric(list(key), oldest[key])
    media = GaugeMetricFamily(
        "printserver_jobs_held_for_media",
        "jobs held because the printer has not loaded their film size or medium",
        labels=["printer"],
    )
    for printer in sorted(held):
        media.add_metric([printer], held[printer])
    yield from (jobs, age, media)


class Metrics:
    """The metrics of one server and the calls that record them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self._received = Counter(
            "printserver_films_received",
            "films (sheets × copies) spooled from DICOM N-ACTIONs",
            ["printer"],
            registry=reg,
        )
        self._printed = Counter(
            "printserver_films_printed",
            "films (sheets × copies) the destination finished",
            ["printer"],
            registry=reg,
        )
        self._failed = Counter(
            "printserver_films_failed",
            "films (sheets × copies) whose job failed, by stage: render or delivery",
            ["printer", "stage"],
            registry=reg,
        )
        self._accepted = Counter(
            "printserver_associations_accepted", "associations accepted", ["printer"], registry=reg
        )
        self._refused = Counter(
            "printserver_associations_refused",
            "association requests rejected (A-ASSOCIATE-RJ), by reason",
            ["reason"],
            registry=reg,
        )
        self._late = Counter(
            "printserver_requests_late",
            "DIMSE requests not answered within [server] unanswered_warning seconds",
            registry=reg,
        )
        self._render = Histogram(
            "printserver_render_duration_seconds",
            "time to render one job's PostScript",
            ["printer"],
            buckets=RENDER_BUCKETS,
            registry=reg,
        )
        self._delivery = Histogram(
            "printserver_delivery_duration_seconds",
            "time to hand one job's PostScript to its destination",
            ["printer"],
            buckets=DELIVERY_BUCKETS,
            registry=reg,
        )
        self._http: WSGIServer | None = None

    def watch(self, read: Callable[[], Gauges]) -> None:
        """Read the gauges from ``read`` at every scrape (once per server)."""
        self.registry.register(_GaugeCollector(read))

    def association_accepted(self, printer: str) -> None:
        self._accepted.labels(printer).inc()

    def association_refused(self, reason: str) -> None:
        """``reason`` is one of a few fixed words (a label), never a peer's text."""
        self._refused.labels(reason).inc()

    def request_late(self) -> None:
        self._late.inc()

    def film_received(self, printer: str, films: int) -> None:
        self._received.labels(printer).inc(films)

    def rendered(self, printer: str, seconds: float) -> None:
        self._render.labels(printer).observe(seconds)

    def delivered(self, printer: str, seconds: float) -> None:
        self._delivery.labels(printer).observe(seconds)

    def printed(self, printer: str, films: int) -> None:
        self._printed.labels(printer).inc(films)

    def failed(self, printer: str, films: int, stage: str) -> None:
        self._failed.labels(printer, stage).inc(films)

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Serve ``/metrics`` over HTTP on its own port (without the web console); returns
        the bound address."""
        self._http, _ = start_http_server(port, host, registry=self.registry)
        bound_host, bound_port = self._http.server_address[:2]
        return str(bound_host), int(bound_port)

    def close(self) -> None:
        """Stop the HTTP endpoint, if any."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


def render_metrics(metrics: Metrics) -> bytes:
    """The Prometheus text exposition of ``metrics`` (serve with :data:`CONTENT_TYPE_LATEST`)."""
    return generate_latest(metrics.registry)
