"""The order index (``objects/index.json`` of a job): which stored data set is which
request, in the order they arrived, and the N-ACTION that printed them.

It is spool metadata read back by later releases, so it is a versioned pydantic model, as
``job.json`` is.  Version 1, the first release's, was a bare JSON list (the requests, then
the action); it still reads.  An index of a version this release does not know is refused
with :class:`UnknownIndexVersion`, which the render stage turns into a held job with that
reason: a newer release's spool is kept, not guessed at.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydicom.uid import ImplicitVRLittleEndian

from printserver.model.sop_classes import FILM_SESSION

INDEX_VERSION = 2
"""The version this release writes."""


class UnreadableIndex(ValueError):
    """The index is not an order index at all; the message says what is wrong."""


class UnknownIndexVersion(UnreadableIndex):
    """The index was written by a release that knows a version this one does not."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class OrderStep(_Model):
    """One request as it was received: N-CREATE or N-SET of an instance, its data set in
    ``file`` (PS3.4 H.4.1 – H.4.5)."""

    operation: Literal["N-CREATE", "N-SET"]
    class_uid: str = Field(alias="class")
    instance: str
    context: str = Field(description="abstract syntax of the presentation context it came on")
    file: str
    syntax: str = Field(str(ImplicitVRLittleEndian), description="transfer syntax of file")
    children: tuple[str, ...] = Field(
        (), description="the image and annotation boxes the SCP made for a film box"
    )


class OrderAction(_Model):
    """The N-ACTION that printed the order: of the film session or of one film box."""

    operation: Literal["N-ACTION"] = "N-ACTION"
    class_uid: str = Field(alias="class")
    instance: str


class OrderIndex(_Model):
    """A film order, as the spool keeps it."""

    version: int = INDEX_VERSION
    steps: tuple[OrderStep, ...]
    action: OrderAction

    def dump(self) -> bytes:
        return self.model_dump_json(by_alias=True, indent=2).encode()

    @property
    def film_session(self) -> OrderStep | None:
        """The step that created the order's Film Session, if the order holds it."""
        return next((s for s in self.steps if s.class_uid == FILM_SESSION), None)

    @classmethod
    def load(cls, data: bytes | memoryview) -> OrderIndex:
        """The index ``data`` holds, of this version or an earlier one."""
        try:
            raw = json.loads(bytes(data))
        except ValueError as exc:
            raise UnreadableIndex(f"the order index is not JSON: {exc}") from None
        if isinstance(raw, list):  # version 1: the steps, then the action
            if not raw:
                raise UnreadableIndex("the order index is empty")
            raw = {"version": INDEX_VERSION, "steps": raw[:-1], "action": raw[-1]}
        if not isinstance(raw, dict):
            raise UnreadableIndex("the order index is neither a list nor an object")
        version = raw.get("version")
        if version != INDEX_VERSION:
            raise UnknownIndexVersion(
                f"the film order was written in index version {version!r}; this release "
                f"reads versions 1 to {INDEX_VERSION}: print it with a release that reads it"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise UnreadableIndex(
                f"the order index is malformed at {where}: {first['msg']}"
            ) from None
