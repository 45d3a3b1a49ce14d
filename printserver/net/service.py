"""The Print Management SCP as a whole: which associations it takes, and what they share.

``EVT_REQUESTED`` is the only server-wide handler: it applies the acceptance
rules (``net/acceptance.py``) and gives every accepted association its own
:class:`~printserver.net.session.AssociationSession`, bound to that
association.  What the sessions share lives here: the print queue, the Print
Job index, the count of requests in flight and the live printer status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pynetdicom import evt
from pynetdicom.association import Association

from printserver.config import Config
from printserver.metrics import Metrics
from printserver.model.printer import Printer, PrinterStatus
from printserver.net.acceptance import (
    CALLED_AE_NOT_RECOGNISED,
    CALLING_AE_NOT_RECOGNISED,
    refusal,
)
from printserver.net.event_channel import JobListeners
from printserver.net.in_flight import InFlight
from printserver.net.incoming import BackgroundSync
from printserver.net.print_job import PrintJobIndex
from printserver.net.session import AssociationSession, Shared
from printserver.net.unanswered import RequestWatch
from printserver.print_queue import PrintQueue
from printserver.printer_report import printer_reports
from printserver.sinks.base import Sink, StatusWatch

LOG = logging.getLogger(__name__)

PRINT_JOBS_KEPT = 10000
"""Print Job instances answerable by N-GET, newest kept (PS3.4 H.4.5: the SCP may delete them)."""

REFUSAL_KINDS = {CALLED_AE_NOT_RECOGNISED: "called_ae", CALLING_AE_NOT_RECOGNISED: "calling_ae"}
"""A rejection's diagnostic → the ``reason`` label of the refused-associations counter."""


def _titles(assoc: Association) -> tuple[str, str]:
    """The called AE title (it selects the logical printer) and the calling one, as sent."""
    primitive: Any = assoc.requestor.primitive
    return str(primitive.called_ae_title).strip(), str(primitive.calling_ae_title).strip()


class PrintService:
    """Accepts associations for the configured printers and gives each its session."""

    def __init__(
        self,
        config: Config,
        queue: PrintQueue,
        sinks: Mapping[str, Sink],
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.queue = queue
        self.sinks = sinks
        self.metrics = metrics or queue.metrics
        self.watch = StatusWatch()
        self.in_flight = InFlight()
        self.requests = RequestWatch(config.server.unanswered_warning, self.metrics.request_late)
        self.listeners = JobListeners()
        queue.store.observe(self.listeners.changed)
        self.sync = BackgroundSync()
        self.shared = Shared(
            queue=queue,
            print_jobs=PrintJobIndex(queue.store.list, PRINT_JOBS_KEPT),
            in_flight=self.in_flight,
            printer_status=self.printer_status,
            limits=config.limits,
            listeners=self.listeners,
            event_timeout=config.server.dimse_timeout,
            sync=self.sync,
        )

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled (graceful shutdown); False on timeout."""
        return self.in_flight.wait_idle(timeout)

    def bindings(self) -> list[Any]:
        """The server-wide pynetdicom event handlers: each association gets the rest."""
        return [(evt.EVT_REQUESTED, self.on_requested), (evt.EVT_REJECTED, self.on_rejected)]

    def on_rejected(self, event: evt.Event) -> None:
        """pynetdicom's own rejection: more than ``max_associations`` at once."""
        self.metrics.association_refused("local_limit")

    def on_requested(self, event: evt.Event) -> None:
        """Reject unknown called or calling AE titles (PS3.8 9.3.4), else start a session."""
        assoc = event.assoc
        called, calling = _titles(assoc)
        printer, refused = refusal(
            self.config, self.queue.printers, called, calling, assoc.requestor.maximum_length or 0
        )
        if refused is not None or printer is None:
            reason = refused.reason if refused is not None else "no printer"
            diagnostic = refused.diagnostic if refused is not None else 0x01
            LOG.warning("rejecting association from %s to %s: %s", calling, called, reason)
            self.metrics.association_refused(REFUSAL_KINDS.get(diagnostic, "other"))
            # rejected-permanent, DICOM UL service-user
            assoc.acse.send_reject(0x01, 0x01, diagnostic)
            assoc.kill()  # lets the DUL send the A-ASSOCIATE-RJ before the socket closes
            return
        title = printer.ae_title
        # counted once pynetdicom accepts it too (it still refuses beyond max_associations)
        assoc.bind(evt.EVT_ACCEPTED, lambda _: self.metrics.association_accepted(title))
        AssociationSession(self.shared, printer, calling).bind(assoc)

    def printer_status(self, printer: Printer) -> PrinterStatus:
        return self.printer_statuses([printer])[printer.ae_title]

    def printer_statuses(self, printers: Iterable[Printer]) -> dict[str, PrinterStatus]:
        """The Printer status of each, their destinations asked all at once (the spool's
        jobs are not counted: a Printer N-GET does not report them)."""
        titles = {p.ae_title for p in printers}
        reports = printer_reports(
            self.config, self.queue.store, self.sinks, self.watch, titles=titles, count_jobs=False
        )
        return {title: report.status for title, report in reports.items()}
