"""Which association requests the SCP takes: the rules of A-ASSOCIATE-RJ (PS3.8 7.1.1.9).

The called AE title selects the logical printer; the calling AE title must be
allowed by the server and by that printer; a peer whose Maximum Length would
cut every reply into a few bytes is refused too.  The first rule broken gives
the reason that is logged and the diagnostic sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from printserver.config import Config
from printserver.model.printer import Printer

MIN_PEER_PDU = 1024
"""Smallest Maximum Length (PS3.8 D.1) we accept from a peer; real ones offer 4 KiB or more."""

CALLED_AE_NOT_RECOGNISED = 0x07
CALLING_AE_NOT_RECOGNISED = 0x03
NO_REASON_GIVEN = 0x01
"""Diagnostics of a rejection by the DICOM UL service-user (PS3.8 Table 9-21)."""


@dataclass(frozen=True)
class Refusal:
    reason: str
    diagnostic: int


def refusal(
    config: Config, printers: Mapping[str, Printer], called: str, calling: str, maximum_length: int
) -> tuple[Printer | None, Refusal | None]:
    """The printer the request is for, and why it is refused (None: accepted)."""
    settings = config.printer_for(called)
    printer = printers.get(settings.ae_title) if settings is not None else None
    if printer is None:
        return None, Refusal(f"called AE {called!r} is no printer", CALLED_AE_NOT_RECOGNISED)
    allowed = config.server.allowed_calling_aes
    if (allowed and calling not in allowed) or not printer.accepts_caller(calling):
        return printer, Refusal(f"calling AE {calling!r} is not allowed", CALLING_AE_NOT_RECOGNISED)
    if 0 < maximum_length < MIN_PEER_PDU:
        # replies cut into PDUs of a few bytes would cost us thousands of sends each
        return printer, Refusal(
            f"Maximum Length {maximum_length} is below {MIN_PEER_PDU}", NO_REASON_GIVEN
        )
    return printer, None
