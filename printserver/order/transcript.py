"""The film order: the objects a client sent for its films, recorded as they arrive.

Every N-CREATE and N-SET that succeeded is remembered per association with the
film box it belongs to; deleting a film box or the session forgets its part,
and an image replaced (or erased) by a later N-SET of its box is dropped from
the earlier one, so memory holds only what can still be printed.  An N-SET is
kept as it was received (``order/received.py``): the same buffer the print
model's pixels are a view of, in the presentation context's transfer syntax.
When a film is printed, the relevant data sets are stored in the job's
``objects/`` as they are, with an ``index.json`` giving their order and
transfer syntax (``order/index.py``): that is the film order the spool keeps.
``order/replay.py`` reads it back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ImplicitVRLittleEndian

from printserver.model.film_box import FilmBox
from printserver.model.hierarchy import PrintHierarchy
from printserver.model.sop_classes import (
    ANNOTATION_BOX,
    COLOR_IMAGE_BOX,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    PRESENTATION_LUT,
)
from printserver.order.index import OrderAction, OrderIndex, OrderStep
from printserver.order.received import ReceivedDataSet
from printserver.spool.store import ORDER_INDEX


@dataclass
class _Entry:
    operation: str
    class_uid: str
    instance: str
    context: str
    owner: str | None  # the film box it belongs to; None for session-level objects
    data: Dataset | ReceivedDataSet
    children: list[str] = field(default_factory=list)  # boxes the SCP made for a film box

    def encoded(self) -> tuple[bytes | memoryview | Path, str]:
        """The data set as stored with the job (the file it was spilled to, if it was), and
        its transfer syntax."""
        if isinstance(self.data, ReceivedDataSet):
            return self.data.file or self.data.encoded, self.data.syntax
        buffer = io.BytesIO()
        dcmwrite(buffer, self.data, implicit_vr=True, little_endian=True)
        return buffer.getvalue(), ImplicitVRLittleEndian


def _owner(hierarchy: PrintHierarchy, class_uid: str, uid: str) -> str | None:
    if class_uid == FILM_BOX:
        return uid
    if class_uid in (GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX, ANNOTATION_BOX):
        session = hierarchy.session
        for film_box in session.film_boxes if session is not None else ():
            if film_box.image_box(uid) is not None or film_box.annotation_box(uid) is not None:
                return film_box.uid
    return None


def box_uids(film_box: FilmBox) -> list[str]:
    """Image boxes then annotation boxes, in position order."""
    return [box.uid for box in film_box.image_boxes] + [
        box.uid for box in film_box.annotation_boxes
    ]


@dataclass
class Transcript:
    """The successful creates and sets of one association, in order."""

    entries: list[_Entry] = field(default_factory=list)

    def record(
        self,
        operation: str,
        class_uid: str,
        uid: str,
        ds: Dataset | ReceivedDataSet,
        context: str,
        hierarchy: PrintHierarchy,
    ) -> None:
        owner = _owner(hierarchy, class_uid, uid)
        children = []
        if operation == "N-CREATE" and class_uid == FILM_BOX:
            film_box = hierarchy.film_box(uid)
            children = box_uids(film_box)
        if class_uid in (GRAYSCALE_IMAGE_BOX, COLOR_IMAGE_BOX):
            self._drop_images(uid)
        self.entries.append(_Entry(operation, class_uid, uid, context, owner, ds, children))

    def _drop_images(self, uid: str) -> None:
        """Every Image Box N-SET sets or erases the image: the box's earlier ones keep their
        other attributes, not their pixels (PS3.4 H.4.3.1.2.1)."""
        for entry in self.entries:
            data = entry.data
            if (
                entry.instance == uid
                and isinstance(data, ReceivedDataSet)
                and any(
                    sequence.items_end > sequence.items_start for sequence in data.layout.sequences
                )
            ):
                entry.data = data.without_images()
                data.discard()

    def forget(self, class_uid: str, uid: str) -> None:
        """An N-DELETE: the deleted object and everything under it are gone."""
        if class_uid == FILM_BOX:
            kept = [e for e in self.entries if e.owner != uid]
        elif class_uid == FILM_SESSION:
            kept = [e for e in self.entries if e.class_uid == PRESENTATION_LUT]
        else:
            kept = [e for e in self.entries if e.instance != uid]
        for entry in self.entries:
            if isinstance(entry.data, ReceivedDataSet) and entry not in kept:
                entry.data.discard()
        self.entries = kept

    def objects(self, class_uid: str, uid: str) -> dict[str, bytes | memoryview | Path]:
        """The data sets the printed film needs, and the index to replay them: for a Film
        Box N-ACTION the session-level objects and that film box's own, not its siblings'
        (a session printed box by box would otherwise replay every earlier box each time)."""
        files: dict[str, bytes | memoryview | Path] = {}
        steps: list[OrderStep] = []
        needed = [
            entry for entry in self.entries if class_uid != FILM_BOX or entry.owner in (None, uid)
        ]
        for number, entry in enumerate(needed, start=1):
            name = f"{number:04d}-{entry.operation.lower()}.dcm"
            files[name], syntax = entry.encoded()
            step = OrderStep(
                operation=entry.operation,
                class_uid=entry.class_uid,
                instance=entry.instance,
                context=entry.context,
                file=name,
                syntax=syntax,
                children=tuple(entry.children),
            )
            steps.append(step)
        index = OrderIndex(
            steps=tuple(steps), action=OrderAction(class_uid=class_uid, instance=uid)
        )
        files[ORDER_INDEX] = index.dump()
        return files
