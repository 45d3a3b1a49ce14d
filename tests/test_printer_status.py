"""Printer N-GET and Printer N-EVENT-REPORT follow the real CUPS queue.

A private cupsd holds the queue; the test stops, disables and restarts it the
way an operator or a failure would, and reads what a modality would read.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pynetdicom import sop_class

from printserver.config import parse_config
from printserver.sinks.base import DestinationStatus, StatusWatch
from tests.print_client import PrintClient
from tests.server_harness import config_text, start_in_process

pytestmark = pytest.mark.integration
PRINTER = "1.2.840.10008.5.1.1.17"


def _server(cups_queue: Any, tmp_path: Path, extra: str = "") -> Any:
    printers = (
        f'[[printers]]\nae_title = "FILM"\ncups_queue = "{cups_queue.queue}"\n'
        f'name = "Film room laser"\nserial_number = "SN-42"\n'
        f"calibrated = 2026-10-01T08:30:00\n{extra}\n"
    )
    cups = f'[cups]\nserver = "{cups_queue.server}"\n'
    return start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers, cups)))


def _status(client: PrintClient) -> tuple[str, str]:
    status, ds = client.get(sop_class.Printer, PRINTER)
    assert status.Status == 0
    return str(ds.PrinterStatus), str(ds.PrinterStatusInfo)


def test_printer_n_get_follows_the_cups_queue(cups_queue: Any, tmp_path: Path) -> None:
    running = _server(cups_queue, tmp_path)
    try:
        client = PrintClient(running.port, called="FILM")
        status, everything = client.get(sop_class.Printer, PRINTER)
        assert status.Status == 0
        assert (everything.PrinterStatus, everything.PrinterStatusInfo) == ("NORMAL", "NORMAL")
        assert everything.PrinterName == "Film room laser"
        assert everything.DeviceSerialNumber == "SN-42"
        assert everything.DateOfLastCalibration == "20261001"
        assert everything.TimeOfLastCalibration == "083000"
        assert everything.Manufacturer and everything.ManufacturerModelName
        assert everything.SoftwareVersions

        cups_queue.cups.lp("cupsdisable", "-h", cups_queue.server, cups_queue.queue)
        assert _status(client) == ("WARNING", "PRINTER OFFLINE")  # stopped, paused by operator
        cups_queue.cups.lp("cupsenable", "-h", cups_queue.server, cups_queue.queue)
        cups_queue.cups.reject(cups_queue.queue)
        assert _status(client) == ("WARNING", "PRINTER OFFLINE")  # not accepting jobs
        cups_queue.cups.accept(cups_queue.queue)
        assert _status(client) == ("NORMAL", "NORMAL")
        cups_queue.cups.stop()
        assert _status(client) == ("WARNING", "PRINTER DOWN")  # CUPS unreachable
        client.release()
    finally:
        running.server.stop()


def _events_of(client: PrintClient, class_uid: str, count: int, timeout: float = 10.0) -> None:
    """Wait until ``count`` events of ``class_uid`` arrived (no request sent meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len([1 for c, _, _ in client.events if c == class_uid]) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} events of {class_uid} did not arrive: {client.events}")


def test_printer_status_changes_are_reported_when_switched_on(
    cups_queue: Any, tmp_path: Path
) -> None:
    running = _server(cups_queue, tmp_path, "send_events = true")
    try:
        client = PrintClient(running.port, called="FILM")
        assert client.assoc.send_c_echo().Status == 0
        assert _status(client) == ("NORMAL", "NORMAL")  # the baseline: no event
        assert client.events == []
        cups_queue.cups.lp("cupsdisable", "-h", cups_queue.server, cups_queue.queue)
        _events_of(client, sop_class.Printer, 1)  # sent on its own, no request needed
        printer_events = [(t, info) for c, t, info in client.events if c == sop_class.Printer]
        assert len(printer_events) == 1
        event_type, info = printer_events[0]
        assert event_type == 2  # Warning
        assert info.PrinterStatusInfo == "PRINTER OFFLINE"
        assert info.PrinterName == "Film room laser"
        cups_queue.cups.lp("cupsenable", "-h", cups_queue.server, cups_queue.queue)
        _events_of(client, sop_class.Printer, 2)
        assert [t for c, t, _ in client.events if c == sop_class.Printer] == [2, 1]
        client.release()
    finally:
        running.server.stop()


class _Destination:
    """A destination that answers its status at once, or only when let go."""

    def __init__(self, name: str, hung: threading.Event | None = None) -> None:
        self.name, self.hung = name, hung

    def status(self) -> DestinationStatus:
        if self.hung is not None:
            self.hung.wait(10)
        return DestinationStatus(True, True, "idle")


def test_statuses_of_many_hung_destinations_take_one_time_limit() -> None:
    let_go = threading.Event()
    watch = StatusWatch(timeout=0.3)
    destinations = [_Destination(f"HUNG{i}", let_go) for i in range(4)] + [_Destination("OK")]
    try:
        started = time.monotonic()
        answers = watch.statuses(destinations)  # type: ignore[arg-type]
        waited = time.monotonic() - started
    finally:
        let_go.set()
    assert waited < 0.3 * 2, waited  # not 4 × 0.3 s
    assert answers["OK"].ok and answers["OK"].message == "idle"
    assert all(not answers[f"HUNG{i}"].reachable for i in range(4))
