"""What an imager says (``net/imager.py``): how much of its text we keep, and its Print Jobs
of a film we sent it (PS3.4 H.4.5): which its N-ACTION replies reference, and what their
Execution Statuses add up to for our job."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from printserver.net.replies import REFERENCED_PRINT_JOB_SEQUENCE
from printserver.sinks.base import SinkState

EXECUTION_STATUS, EXECUTION_STATUS_INFO = Tag(0x21000020), Tag(0x21000030)
ASKED = [EXECUTION_STATUS, EXECUTION_STATUS_INFO]
"""What an N-GET of a Print Job asks for (PS3.4 H.4.5.1.2.1)."""

Execution = tuple[str, str]
"""A Print Job's Execution Status and Execution Status Info."""

GONE: Execution = ("DONE", "")
"""A Print Job the imager no longer knows: its N-ACTION succeeded, so it counts as done."""


SAID_MAX = 64
"""Characters kept of a text the imager sends (a status, its info, an Error Comment): its
CS values are 16 at most, and what we keep goes into job records, logs and pages."""


def said(value: object) -> str:
    """What the imager said, as data: stripped and cut to :data:`SAID_MAX` characters
    (logs, the CLI and the console escape it when they show it)."""
    return str(value).strip()[:SAID_MAX]


def referenced(reply: Dataset | None) -> list[str]:
    """The Print Job an N-ACTION reply references (PS3.4 H.4.1.2.4.2, H.4.2.2.4.2), if any."""
    element = reply.get(REFERENCED_PRINT_JOB_SEQUENCE) if reply is not None else None
    items = element.value if element is not None else []
    uids = [
        str(item.ReferencedSOPInstanceUID) for item in items if "ReferencedSOPInstanceUID" in item
    ]
    return uids[:1]  # one Print Job per N-ACTION: an imager's longer list is not followed


def answered(status: Dataset | None, reply: Dataset | None) -> bool:
    """Whether an N-GET came back with Success and its attributes (PS3.7 10.1.2.1.10)."""
    return status is not None and int(status.get("Status", 0xFFFF)) == 0 and reply is not None


def execution(status: Dataset | None, reply: Dataset | None) -> Execution:
    """One Print Job's N-GET answer; a refusal (no such instance) is :data:`GONE`."""
    if not answered(status, reply) or reply is None:
        return GONE
    return said(reply.get("ExecutionStatus", "DONE")).upper(), said(
        reply.get("ExecutionStatusInfo", "")
    )


def film_state(executions: list[Execution], where: str) -> tuple[SinkState, str]:
    """Our job's state from its Print Jobs': failed when one failed, done when all are done,
    printing when one prints, else pending; with the first telling Execution Status Info."""
    info = next((info for _, info in executions if info and info != "NORMAL"), "")
    names = {name for name, _ in executions}
    if "FAILURE" in names:
        return SinkState.FAILED, f"{where}: its print job failed" + (f" ({info})" if info else "")
    if names <= {"DONE"}:
        return SinkState.DONE, ""
    if "PRINTING" in names:
        return SinkState.PRINTING, info
    return SinkState.PENDING, info
