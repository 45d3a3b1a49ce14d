"""The private parts of pynetdicom the network edge relies on are still there, as they were.

An upgrade of pynetdicom that moves one of them fails here, naming it, rather
than as a silent change of behaviour at the edge.
"""

from __future__ import annotations

import importlib
import inspect

import pynetdicom
import pytest
from pynetdicom import AE, sop_class
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import RequestHandler

from printserver.net.message_limits import BoundedDIMSE
from printserver.net.pynetdicom_compat import ACCEPTOR, ATTRIBUTES, CONTRACT
from printserver.net.reactor import EventDrivenDUL
from printserver.net.upper_layer import BoundedDUL, EdgeRequestHandler


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_private_methods_keep_their_signature(name: str) -> None:
    module_name, parameters = CONTRACT[name]
    owner, method = name.split(".")
    cls = getattr(importlib.import_module(module_name), owner, None)
    assert cls is not None, f"pynetdicom no longer has {module_name}.{owner}"
    function = getattr(cls, method, None)
    assert function is not None, f"pynetdicom no longer has {name}"
    found = tuple(p for p in inspect.signature(function).parameters if p != "self")
    assert found == parameters, f"{name} now takes {found}, not {parameters}"


def test_the_edge_overrides_only_methods_pynetdicom_has() -> None:
    """Every private method our subclasses define over pynetdicom's must exist upstream."""
    overridden = {
        BoundedDUL: (DULServiceProvider, ("_read_pdu_data", "_send", "send_pdu")),
        EventDrivenDUL: (DULServiceProvider, ("run_reactor", "send_pdu", "kill_dul")),
        BoundedDIMSE: (DIMSEServiceProvider, ("receive_primitive", "send_msg")),
        EdgeRequestHandler: (RequestHandler, ("_create_association", "handle")),
    }
    for cls, (parent, methods) in overridden.items():
        for method in methods:
            assert method in vars(cls), f"{cls.__name__}.{method} is no longer overridden"
            assert callable(getattr(parent, method, None)), (
                f"pynetdicom's {parent.__name__} has no {method} any more"
            )


def test_private_attributes_exist_on_live_objects() -> None:
    ae = AE(ae_title="COMPAT")
    ae.add_supported_context(sop_class.Verification)
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        assoc = Association(ae, ACCEPTOR)
        live = {
            "DULServiceProvider": assoc.dul,
            "DIMSEServiceProvider": assoc.dimse,
            "ThreadedAssociationServer": server,
            "AE": ae,
            "Association": assoc,
            "_config": pynetdicom._config,
            "DIMSEServiceProvider.msg_queue": assoc.dimse.msg_queue,
        }
        for owner, names in ATTRIBUTES.items():
            for name in names:
                assert hasattr(live[owner], name), f"pynetdicom's {owner} has no {name} any more"
        assert server in ae._servers
    finally:
        ae.shutdown()


def test_the_state_machine_still_knows_the_names_the_edge_uses() -> None:
    """PS3.8's state and event names, as pynetdicom spells them, are still its keys."""
    from pynetdicom import fsm

    from printserver.net.pynetdicom_compat import ABORTED, STATE_MACHINE_NAMES

    assert ABORTED in fsm.STATES, f"pynetdicom has no state {ABORTED} any more"
    for name in STATE_MACHINE_NAMES:
        if name.startswith("Evt"):
            assert name in fsm.EVENTS, f"pynetdicom has no event {name} any more"


def test_no_module_outside_the_network_edge_names_pynetdicom() -> None:
    """The print model, the order layer and everything below them are free of pynetdicom,
    so that an upgrade of it can only break ``net/``."""
    import pathlib

    import printserver

    root = pathlib.Path(printserver.__file__).parent
    for layer in ("order", "model", "render", "postscript", "spool", "sinks"):
        for path in (root / layer).rglob("*.py"):
            assert "pynetdicom" not in path.read_text(), f"{path.relative_to(root)} names it"
