"""Every private part of pynetdicom this server relies on, in one place.

pynetdicom lets an application replace its association server, request
handler, socket wrapper, DUL and DIMSE providers, but some of what the
network edge needs is not public: the request dispatcher an association
calls for each DIMSE request, the server an acceptor belongs to, the
handlers a server was started with, and the AE's list of running servers.
They are reached only through the functions below.  :data:`CONTRACT` lists
them, with the private methods the edge's subclasses override
(``net/upper_layer.py``, ``net/message_limits.py``), so that
``tests/test_pynetdicom_compat.py`` fails loudly, naming what changed, when an
upgrade of pynetdicom moves any of them.  Tested with pynetdicom 3.0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom.association import Association

RequestDispatch = Callable[[Any, int], None]
"""pynetdicom's ``Association._serve_request(message, context_id)``."""

ACCEPTOR = MODE_ACCEPTOR
"""The mode string of an association we accept."""

CONTRACT: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (where it lives, the parameters it must take, ``self`` excluded)
    "Association._serve_request": ("pynetdicom.association", ("msg", "context_id")),
    "DULServiceProvider._read_pdu_data": ("pynetdicom.dul", ()),
    "DULServiceProvider._is_transport_event": ("pynetdicom.dul", ()),
    "DULServiceProvider._process_recv_primitive": ("pynetdicom.dul", ()),
    "DIMSEServiceProvider.receive_primitive": ("pynetdicom.dimse", ("primitive",)),
    "RequestHandler._create_association": ("pynetdicom.transport", ()),
}
"""Private methods used or overridden, checked by signature."""

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "DULServiceProvider": (
        "_run_loop_delay",
        "_recv_pdu",
        "event_queue",
        "state_machine",
        "socket",
    ),
    "DIMSEServiceProvider": ("message", "dul"),
    "ThreadedAssociationServer": ("_handlers",),
    "AE": ("_servers",),
    "Association": ("_server",),
}
"""Private (and semi-private) attributes read or set on instances."""


def wrap_request_dispatch(
    assoc: Association, wrap: Callable[[RequestDispatch], RequestDispatch]
) -> None:
    """Put ``wrap(original)`` in front of the association's request dispatcher, so that a
    request can be repaired or answered before pynetdicom routes it."""
    original: RequestDispatch = assoc._serve_request
    assoc._serve_request = wrap(original)  # type: ignore[method-assign,assignment]


def attach_server(assoc: Association, server: Any) -> None:
    """Tell an acceptor which server it belongs to (pynetdicom counts slots through it)."""
    assoc._server = server


def server_handlers(server: Any) -> dict[Any, Any]:
    """The event handlers a server was started with, to bind onto each new association."""
    handlers: dict[Any, Any] = server._handlers
    return handlers


def register_server(ae: Any, server: Any) -> None:
    """Add a running server to the AE's list, so ``AE.shutdown`` stops it too."""
    ae._servers.append(server)
