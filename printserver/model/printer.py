"""The Printer SOP instance (PS3.4 H.4.6): status derived from the real destination.

Printer Status is NORMAL, WARNING or FAILURE with a Printer Status Info defined
term (PS3.3 C.13.9.1).  The spool keeps every accepted film
on disk and delivers it when the destination recovers, so a destination that is
stopped, rejecting or unreachable is reported as WARNING with the term that
matches the cause, never FAILURE: modalities such as GE CT stop printing on
FAILURE (PS3.3 C.13.9), and the films would be safe anyway.  FAILURE is kept
for a print queue that cannot take films at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from printserver.sinks.base import DestinationStatus

NORMAL = "NORMAL"
WARNING = "WARNING"
FAILURE = "FAILURE"

REASON_TERMS: tuple[tuple[str, str], ...] = (
    ("media-jam", "FILM JAM"),
    ("media-empty", "SUPPLY EMPTY"),
    ("media-needed", "SUPPLY EMPTY"),
    ("toner-empty", "SUPPLY EMPTY"),
    ("marker-supply-empty", "SUPPLY EMPTY"),
    ("media-low", "SUPPLY LOW"),
    ("toner-low", "SUPPLY LOW"),
    ("marker-supply-low", "SUPPLY LOW"),
    ("door-open", "COVER OPEN"),
    ("cover-open", "COVER OPEN"),
    ("input-tray-missing", "NO SUPPLY MGZ"),
    ("output-area-full", "RECEIVER FULL"),
    ("spool-area-full", "PRINT BUFF FULL"),
    ("offline", "PRINTER OFFLINE"),
    ("paused", "PRINTER OFFLINE"),
    ("shutdown", "PRINTER DOWN"),
)
"""IPP printer-state-reasons keywords (RFC 8011, PWG 5100.9) → Printer Status Info."""


@dataclass(frozen=True)
class PrinterStatus:
    """Printer Status (2110,0010) and Printer Status Info (2110,0020)."""

    status: str
    info: str


def _term(reasons: tuple[str, ...]) -> str | None:
    for reason in reasons:
        for keyword, term in REASON_TERMS:
            if reason.startswith(keyword):
                return term
    if any(reason.endswith("-error") for reason in reasons):
        return "CHECK PRINTER"
    return None


def printer_status(
    destination: DestinationStatus | None, *, spool_accepting: bool = True
) -> PrinterStatus:
    """Map the destination's health and the spool's onto the Printer module."""
    if not spool_accepting:
        return PrinterStatus(FAILURE, "PRINT BUFF FULL")
    if destination is None:
        return PrinterStatus(NORMAL, NORMAL)
    if not destination.reachable:
        return PrinterStatus(WARNING, "PRINTER DOWN")
    term = _term(destination.reasons)
    if not destination.ok:
        return PrinterStatus(WARNING, term or "CHECK PRINTER")
    if not destination.accepting:
        return PrinterStatus(WARNING, "PRINTER OFFLINE")
    if term is not None:
        return PrinterStatus(WARNING, term)
    return PrinterStatus(NORMAL, NORMAL)
