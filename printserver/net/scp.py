"""The Application Entity: presentation contexts and the listening server.

One AE serves every logical printer on one port; the called AE title of each
association selects the printer (checked in ``PrintService.on_requested``),
so pynetdicom's own single-title check is off.
"""

from __future__ import annotations

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.transport import ThreadedAssociationServer

from printserver.config import ServerConfig
from printserver.net.handlers import PrintService
from printserver.net.uids import (
    ANNOTATION_BOX,
    COLOR_PRINT_META,
    GRAYSCALE_PRINT_META,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    PRINTER_CONFIGURATION,
    VERIFICATION,
)

TRANSFER_SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian]

ACCEPTED_SOP_CLASSES = (
    VERIFICATION,
    GRAYSCALE_PRINT_META,
    COLOR_PRINT_META,
    PRESENTATION_LUT,
    ANNOTATION_BOX,
    PRINT_JOB,
    PRINTER,  # status-only associations (digest §7.1)
    PRINTER_CONFIGURATION,
)
"""Every abstract syntax accepted, each as its own presentation context (PS3.4 H.3)."""


def build_ae(server: ServerConfig) -> AE:
    """An AE accepting both print meta classes, the optional print classes and Verification."""
    ae = AE(ae_title=server.ae_title)
    ae.require_called_aet = False
    ae.maximum_associations = server.max_associations
    ae.maximum_pdu_size = server.max_pdu_size
    ae.network_timeout = server.network_timeout
    ae.dimse_timeout = server.dimse_timeout
    ae.acse_timeout = 30
    for uid in ACCEPTED_SOP_CLASSES:
        ae.add_supported_context(uid, TRANSFER_SYNTAXES)
    return ae


def start_server(server: ServerConfig, service: PrintService) -> ThreadedAssociationServer:
    """Listen on the configured address; each association gets its own thread."""
    ae = build_ae(server)
    listener = ae.start_server(
        (server.host, server.port), block=False, evt_handlers=list(service.bindings())
    )
    assert listener is not None  # non-blocking start always returns the server
    return listener
