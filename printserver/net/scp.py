"""The Application Entity: presentation contexts and the listening server.

One AE serves every logical printer on one port (plus a DICOM TLS port when
certificates are configured); the called AE title of each
association selects the printer (checked in ``PrintService.on_requested``),
so pynetdicom's own single-title check is off.
"""

from __future__ import annotations

import logging
import ssl

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

from printserver.config import ServerConfig, TlsConfig
from printserver.model.sop_classes import SERVED
from printserver.net.connection import edge_limits
from printserver.net.pynetdicom_compat import protocol_log_bindings, standard_logging_off
from printserver.net.service import PrintService
from printserver.net.upper_layer import EdgeServer, listen

TRANSFER_SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian]

ACCEPTED_SOP_CLASSES = SERVED


def build_ae(server: ServerConfig) -> AE:
    """An AE accepting both print meta classes, the optional print classes and Verification."""
    ae = AE(ae_title=server.ae_title)
    ae.require_called_aet = False
    ae.maximum_associations = server.max_associations
    ae.maximum_pdu_size = server.max_pdu_size
    ae.network_timeout = server.network_timeout
    ae.dimse_timeout = server.dimse_timeout
    ae.acse_timeout = server.acse_timeout
    for uid in ACCEPTED_SOP_CLASSES:
        ae.add_supported_context(uid, TRANSFER_SYNTAXES)
    return ae


def tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """Server side of the Basic TLS Secure Transport Connection Profile (PS3.15 B.1).

    TLS 1.2 or later (BCP 195, as PS3.15 B.9 asks); client certificates are
    verified against the configured CAs when required.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(tls.certificate), str(tls.private_key))
    if tls.ca_certificates is not None:
        context.load_verify_locations(str(tls.ca_certificates))
    context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_certificate else ssl.CERT_NONE
    return context


def start_server(
    server: ServerConfig, service: PrintService, max_message_bytes: int
) -> list[EdgeServer]:
    """Listen on the configured address, and on the TLS port when certificates are set.

    Connections go through the bounded upper layer (``net/upper_layer.py``);
    each association gets its own thread; both listeners share the print service.
    """
    ae = build_ae(server)
    standard_logging_off()
    # pynetdicom's own INFO lines repeat ours; its warnings and errors still come through
    logging.getLogger("pynetdicom").setLevel(
        logging.DEBUG if server.protocol_log else logging.WARNING
    )
    handlers = list(service.bindings())
    if server.protocol_log:
        handlers += protocol_log_bindings(logging.getLogger("printserver.protocol"))
    limits = edge_limits(server, max_message_bytes)
    addresses: list[tuple[int, ssl.SSLContext | None]] = [(server.port, None)]
    if server.tls is not None:
        addresses.append((server.tls.port, tls_context(server.tls)))
    listeners: list[EdgeServer] = []
    try:
        for port, context in addresses:
            edge = EdgeServer(ae, (server.host, port), limits, handlers, service.requests, context)
            listeners.append(listen(edge))
    except BaseException:  # the TLS port failing must not leave the plain one serving
        for listener in listeners:
            listener.shutdown()
        raise
    return listeners
