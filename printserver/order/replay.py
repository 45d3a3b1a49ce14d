"""A stored film order, read back into the print model: the one way a film is rendered.

Printing, reprinting and re-rendering all come here: the render stage replays
the job's order (``order/transcript.py`` wrote it at N-ACTION) through the same
request code as the live server, with the printer's configuration of today
(e.g. after a calibration), and gets the snapshot the N-ACTION took.  The SCP
makes new UIDs for the image and annotation boxes of a film box it creates, so
the replay maps the recorded ones onto the new ones.
"""

from __future__ import annotations

from collections.abc import Mapping

from printserver.config import LimitsConfig
from printserver.model.hierarchy import PrintHierarchy, PrintJob
from printserver.model.printer import Printer
from printserver.model.sop_classes import FILM_BOX, FILM_SESSION
from printserver.order import admission, requests
from printserver.order.index import OrderIndex, OrderStep, UnknownIndexVersion, UnreadableIndex
from printserver.order.received import receive
from printserver.order.transcript import box_uids
from printserver.spool.store import ORDER_INDEX


class ReplayError(Exception):
    """A stored order cannot be read, or no longer makes a film; the message says why."""


def replay(
    order: Mapping[str, bytes | memoryview],
    printer: Printer,
    calling_ae: str,
    limits: LimitsConfig,
) -> PrintJob:
    """The print snapshot a stored order makes on ``printer`` (PS3.4 H.4.1.2.4, H.4.2.2.4)."""
    if ORDER_INDEX not in order:
        raise ReplayError("no film order was kept")
    try:
        index = OrderIndex.load(order[ORDER_INDEX])
    except UnknownIndexVersion:
        raise  # the render stage holds the job with this reason
    except UnreadableIndex as exc:
        raise ReplayError(str(exc)) from None
    try:
        hierarchy = PrintHierarchy(printer, calling_ae, annotations=True, limits=limits)
        renamed: dict[str, str] = {}
        for step in index.steps:
            _step(hierarchy, step, order, renamed)
        if index.action.class_uid == FILM_SESSION:
            job, _ = hierarchy.print_film_session(index.action.instance)
        else:
            job, _ = hierarchy.print_film_box(index.action.instance)
    except Exception as exc:  # whatever the cause, the operator needs one sentence
        raise ReplayError(f"the film order does not make a film: {exc}") from exc
    return job


def _step(
    hierarchy: PrintHierarchy,
    step: OrderStep,
    order: Mapping[str, bytes | memoryview],
    renamed: dict[str, str],
) -> None:
    received = receive(order[step.file], step.syntax)
    if step.operation == "N-CREATE":
        requests.n_create(
            hierarchy,
            step.class_uid,
            step.instance,
            received.dataset,
            context=step.context,
            big_endian=not received.little_endian,
        )
        if step.class_uid == FILM_BOX:
            film_box = hierarchy.film_box(step.instance)
            renamed.update(zip(step.children, box_uids(film_box), strict=True))
    else:
        instance = renamed.get(step.instance, step.instance)
        admission.n_set(hierarchy, step.class_uid, instance, received)
