"""Every private part of pynetdicom this server relies on, in one place.

pynetdicom lets an application replace its association server, request
handler, socket wrapper, DUL and DIMSE providers, but some of what the
network edge needs is not public: the request dispatcher an association
calls for each DIMSE request, the server an acceptor belongs to, the
handlers a server was started with, and the AE's list of running servers.
They are reached only through the functions below.  :data:`CONTRACT` lists
them, with the private methods the edge's subclasses override
(``net/upper_layer.py``, ``net/reactor.py``, ``net/message_limits.py``), so that
``tests/test_pynetdicom_compat.py`` fails loudly, naming what changed, when an
upgrade of pynetdicom moves any of them.  Tested with pynetdicom 3.0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pynetdicom import _config, _handlers, evt
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
    "DULServiceProvider._decode_pdu": ("pynetdicom.dul", ("bytestream",)),
    "DULServiceProvider._is_transport_event": ("pynetdicom.dul", ()),
    "DULServiceProvider._process_recv_primitive": ("pynetdicom.dul", ()),
    "DULServiceProvider._send": ("pynetdicom.dul", ("pdu",)),
    "DULServiceProvider.run_reactor": ("pynetdicom.dul", ()),
    "DULServiceProvider.send_pdu": ("pynetdicom.dul", ("primitive",)),
    "DULServiceProvider.kill_dul": ("pynetdicom.dul", ()),
    "DIMSEServiceProvider.send_msg": ("pynetdicom.dimse", ("primitive", "context_id")),
    "DIMSEServiceProvider.receive_primitive": ("pynetdicom.dimse", ("primitive",)),
    "RequestHandler._create_association": ("pynetdicom.transport", ()),
    "_handlers.standard_dimse_recv_handler": ("pynetdicom", ("event",)),
    "_handlers.standard_dimse_sent_handler": ("pynetdicom", ("event",)),
    "_handlers.standard_pdu_recv_handler": ("pynetdicom", ("event",)),
    "_handlers.standard_pdu_sent_handler": ("pynetdicom", ("event",)),
}
"""Private methods used or overridden, checked by signature."""

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "DULServiceProvider": (
        "_idle_timer",
        "_kill_thread",
        "artim_timer",
        "_recv_pdu",
        "event_queue",
        "state_machine",
        "socket",
    ),
    "DIMSEServiceProvider": ("message", "dul"),
    "ThreadedAssociationServer": ("_handlers",),
    "AE": ("_servers",),
    "Association": ("_server", "_dul_ready", "_kill"),
    "DIMSEServiceProvider.msg_queue": ("mutex", "queue", "not_empty", "not_full"),
    "_config": ("LOG_HANDLER_LEVEL",),
}
"""Private (and semi-private) attributes read or set on instances."""

# The state machine's names for the states and events of PS3.8 9.2 (Tables 9-6, 9-10):
# pynetdicom keys its transition table with these strings (``pynetdicom.fsm``).
ABORTED = "Sta13"
"""Awaiting the close of the transport connection, after an abort."""
ARTIM_EXPIRED = "Evt18"
"""The ARTIM timer ran out."""
INVALID_PDU = "Evt19"
"""An unrecognised or invalid PDU was received: the state machine aborts (AA-8)."""
LOCAL_EVENTS = frozenset({"Evt1", "Evt7", "Evt8", "Evt9", "Evt11", "Evt14", "Evt15"})
"""Events made of a primitive our side queued (PS3.8 Table 9-6), not of a PDU received."""
STATE_MACHINE_NAMES = (ABORTED, ARTIM_EXPIRED, INVALID_PDU, *sorted(LOCAL_EVENTS))
"""Every name above: ``tests/test_pynetdicom_compat.py`` checks pynetdicom still uses it."""


def decode_pdu(dul: Any, pdu: bytearray) -> tuple[Any, str]:
    """The PDU object a received PDU's bytes make and the state machine event it raises."""
    decoded, event = dul._decode_pdu(pdu)
    return decoded, str(event)


def standard_logging_off() -> None:
    """Stop pynetdicom binding its message-by-message log handlers to new associations.

    They log at DEBUG, but log an ERROR with a traceback for a request they cannot
    describe, though the server answers it: a Printer N-GET without Attribute Identifier
    List (PS3.7 10.1.2.1: absent means all) or an N-ACTION without Requested SOP Instance
    UID, which some modalities send for every film.
    """
    _config.LOG_HANDLER_LEVEL = "none"


def protocol_log_bindings(log: logging.Logger) -> list[tuple[Any, Callable[[Any], None]]]:
    """pynetdicom's message-by-message log, for diagnosing a modality: its handlers, each
    guarded so that a message it cannot describe costs one DEBUG line, not a traceback."""
    standard = {
        evt.EVT_DIMSE_RECV: _handlers.standard_dimse_recv_handler,
        evt.EVT_DIMSE_SENT: _handlers.standard_dimse_sent_handler,
        evt.EVT_PDU_RECV: _handlers.standard_pdu_recv_handler,
        evt.EVT_PDU_SENT: _handlers.standard_pdu_sent_handler,
    }

    def guarded(handler: Callable[[Any], object]) -> Callable[[Any], None]:
        def describe(event: Any) -> None:
            try:
                handler(event)
            except Exception as exc:  # a message the describer does not expect
                log.debug("%s: message not described (%s)", event.event.name, exc)

        return describe

    return [(event, guarded(handler)) for event, handler in standard.items()]


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


def _is_request(item: tuple[Any, Any]) -> bool:
    return bool(getattr(item[1], "is_valid_request", False))


ANSWERS_BEFORE_RELEASE = 30.0
"""Seconds ``release()`` of a guarded requestor waits for the answers to the events under
way (a handler that never returns holds it that long at most)."""


class _GuardedRequestor(Association):
    """pynetdicom's requestor with a pause flag only its reactor sets, and a release that
    waits for the answers to the events the association is handling.

    pynetdicom serves an N-EVENT-REPORT on a thread of its own, whose ``_serve_request``
    sets the reactor's pause flag, runs the handler, then clears the flag, whatever the
    reactor is doing.  A ``send_*()`` that saw the reactor paused then spins on a flag
    nobody sets again, and the association hangs.  Here ``_is_paused`` is what the
    association's own thread last set; another thread's write counts only once the
    association is being killed (``kill()`` sets it so that a waiting ``send_*()`` goes on).
    And as that thread sends the event's answer while the caller goes on, the caller's
    A-RELEASE-RQ could overtake it (``Evt9`` in ``Sta7``, pynetdicom#820) and the printer
    would never hear the answer: ``release()`` first waits for every event in hand.
    """

    _answering: threading.Condition
    _events_in_hand: int

    @property
    def _is_paused(self) -> bool:
        state = self.__dict__
        return bool(state.get("_reactors_pause_flag", state.get("_is_paused", False)))

    @_is_paused.setter
    def _is_paused(self, value: bool) -> None:
        if threading.get_ident() == self.ident or self._kill:
            self.__dict__["_reactors_pause_flag"] = value

    def _serve_request(self, msg: Any, context_id: int) -> None:
        with self._answering:
            self._events_in_hand += 1
        try:
            super()._serve_request(msg, context_id)
        finally:
            with self._answering:
                self._events_in_hand -= 1
                self._answering.notify_all()

    def release(self) -> None:
        with self._answering:
            self._answering.wait_for(lambda: self._events_in_hand == 0, ANSWERS_BEFORE_RELEASE)
        super().release()


_GUARDED: dict[type[Association], type[Association]] = {}


def _guarded(kind: type[Association]) -> type[Association]:
    if issubclass(kind, _GuardedRequestor):
        return kind
    if kind not in _GUARDED:
        _GUARDED[kind] = type(kind.__name__, (_GuardedRequestor, kind), {})
    return _GUARDED[kind]


def guard_requestor(assoc: Association) -> Association:
    """Close pynetdicom's lost-response and hang races on an association we requested;
    returns it.

    A requestor's reactor thread polls the DIMSE queue without blocking, and its pause
    before each ``send_*()`` is a flag set without a lock: a response arriving in that
    window is taken by the reactor and dropped as unexpected, and the caller waits out its
    DIMSE timeout (pynetdicom#875).  Here the reactor's polls take only requests (an
    N-EVENT-REPORT), and a waiting ``send_*()`` takes only responses, so an event crossing
    a request on the wire is not taken for its answer either; the pause flag is the
    reactor's own, and a release waits for the events' answers (:class:`_GuardedRequestor`).
    """
    assoc.__dict__.update(_answering=threading.Condition(), _events_in_hand=0)
    assoc.__class__ = _guarded(type(assoc))
    dimse = assoc.dimse
    messages = dimse.msg_queue

    def take(wanted: Callable[[tuple[Any, Any]], bool]) -> tuple[Any, Any] | None:
        """The first message ``wanted`` takes, wherever it is in the queue (hold the mutex)."""
        for index, item in enumerate(messages.queue):
            if wanted(item):
                del messages.queue[index]
                messages.not_full.notify()
                return item  # type: ignore[no-any-return]
        return None

    def get_msg(block: bool = False) -> tuple[Any, Any]:
        if not block:  # the reactor polling: only a request is its business
            with messages.mutex:
                return take(_is_request) or (None, None)
        timeout = dimse.dimse_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        with messages.not_empty:
            while True:
                item = take(lambda candidate: not _is_request(candidate))
                if item is not None:
                    return item
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None, None
                messages.not_empty.wait(remaining)

    dimse.get_msg = get_msg  # type: ignore[method-assign]
    return assoc
