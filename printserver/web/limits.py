"""What one HTTP request may make the console read: a request body is at most
:data:`FORM_BYTES`, checked before it is read.

A body announced larger (``Content-Length``) is refused with 413 before a byte of it is
read; a chunked body is cut off at the limit, also with 413.  A response sent before the
client finished sending its body (413, a 403 from the gate, a 404) closes the connection:
the server would otherwise go on reading, and throwing away, whatever the client sends.
A client that goes away before its body is complete (or sends one h11 cannot parse) ends
its request quietly, not with a traceback in the log for every such request.
"""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOG = logging.getLogger(__name__)

FORM_BYTES = 64 * 1024
"""The largest body of any console request: the forms (login, actions) take a few hundred
bytes.  An upload page, where one is added, gets a streamed limit of its own."""
TOO_LARGE = f"refused: a request to the console carries at most {FORM_BYTES // 1024} KiB"


def _announced(scope: Scope) -> tuple[int | None, bool]:
    """The body's Content-Length (None when absent or malformed) and whether a body comes."""
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked or bool(length)


class BodyLimit:
    """ASGI middleware: every request body within ``limit`` bytes, or 413 and a closed
    connection."""

    def __init__(self, app: ASGIApp, limit: int = FORM_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, body_coming = _announced(scope)
        received = 0

        async def counted_receive() -> Message:
            nonlocal received, body_coming
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, TOO_LARGE)
                if not message.get("more_body", False):
                    body_coming = False
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and body_coming:
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        if length is not None and length > self.limit:
            await PlainTextResponse(TOO_LARGE, 413)(scope, receive, closing_send)
            return
        try:
            await self.app(scope, counted_receive, closing_send)
        except ClientDisconnect:
            LOG.debug("client %s left before its request body was complete", scope.get("client"))
