"""The console's gate: every request gets a session, strict headers and, off loopback, a
login.

An ASGI middleware in front of the application.  It refuses a ``Host`` that is not loopback
when nobody logs in (a DNS-rebinding page could otherwise read the films through the
victim's browser), sends anyone not logged in to the login form, and adds to every response
a Content-Security-Policy without inline scripts or styles, ``nosniff``, no referrer, no
framing and ``Cache-Control: no-store`` (static files excepted).  State-changing requests
are POSTs that :func:`same_origin` and the session's CSRF token must both accept.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import replace

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from printserver.config import is_loopback
from printserver.web.auth import Logins, Session, SessionSigner

COOKIE = "printserver_session"
LOCAL_USER = "local"
"""The user of a console that only this machine can reach and nobody logs in to."""
PUBLIC = ("/login", "/static/")
_SESSION, _DIRTY = "printserver.session", "printserver.session.dirty"

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class Gate:
    """The console's rules: who may log in, how long a session lasts, cookies over TLS."""

    def __init__(self, users: Mapping[str, str], lifetime: float, *, secure: bool) -> None:
        self.users = dict(users)
        self.lifetime = lifetime
        self.secure = secure
        self.signer = SessionSigner()
        self.logins = Logins()

    @property
    def login_required(self) -> bool:
        return bool(self.users)

    def new_session(self) -> Session:
        """A session before any login: anonymous, or the local user without logins."""
        return Session.new(None if self.login_required else LOCAL_USER, self.lifetime)

    def log_in(self, user: str) -> Session:
        """A session for ``user``, whose password was just checked (a new CSRF token too)."""
        expires = time.time() + self.lifetime
        login = self.logins.begin(user, self.users[user], expires)
        return Session.new(user, self.lifetime, login)

    def log_out(self, session: Session) -> Session:
        """End ``session``'s login on the server: its cookie, wherever copied, opens nothing."""
        self.logins.end(session.login)
        return self.new_session()

    def load(self, cookie: str | None) -> Session | None:
        """The cookie's session, or None when it is forged, expired or its login ended."""
        found = self.signer.load(cookie)
        if found is None or found.user is None:
            return found
        if not self.login_required:
            return found if found.user == LOCAL_USER else None
        if self.logins.valid(found.login, found.user, self.users.get(found.user)):
            return found
        return None

    def cookie(self, session: Session) -> str:
        flags = f"Path=/; HttpOnly; SameSite=Strict; Max-Age={int(self.lifetime)}"
        return f"{COOKIE}={self.signer.dump(session)}; {flags}" + (
            "; Secure" if self.secure else ""
        )

    def host_allowed(self, host: str) -> bool:
        """Any Host for a console with logins; a loopback one for a console without."""
        if self.login_required:
            return True
        name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
        return is_loopback(name)


def session(request: Request) -> Session:
    """The request's session (always there: the gate made one)."""
    found: Session = request.scope[_SESSION]
    return found


def replace_session(request: Request, new: Session) -> None:
    """Give the browser ``new`` with this response (log in, log out, a notice)."""
    request.scope[_SESSION] = new
    request.scope[_DIRTY] = True


def set_notice(request: Request, text: str) -> None:
    replace_session(request, replace(session(request), notice=text))


def take_notice(request: Request) -> str:
    """The notice left by the last action, removed so it shows once."""
    notice = session(request).notice
    if notice:
        set_notice(request, "")
    return notice


def same_origin(request: Request) -> bool:
    """True unless the browser says the request comes from another site.

    Under ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` with their own
    form posts, so ``null`` says nothing; Sec-Fetch-Site then does.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin in (None, "null", own)


def csrf_ok(request: Request, token: object) -> bool:
    """The form's token is this session's and the request comes from this origin."""
    expected = session(request).csrf
    return (
        isinstance(token, str)
        and hmac.compare_digest(token.encode(), expected.encode())
        and same_origin(request)
    )


class GateMiddleware:
    """Sessions, the login requirement and the headers, for every HTTP request."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        found = self.gate.load(request.cookies.get(COOKIE))
        scope[_SESSION] = found or self.gate.new_session()
        scope[_DIRTY] = found is None
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                static = path.startswith("/static/")
                headers["cache-control"] = "no-cache" if static else "no-store"
                if scope[_DIRTY]:
                    headers.append("set-cookie", self.gate.cookie(scope[_SESSION]))
            await send(message)

        refusal = self._refusal(request, path)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request, path: str) -> Response | None:
        if not self.gate.host_allowed(request.headers.get("host", "")):
            return PlainTextResponse("this console answers to its loopback address only", 421)
        if session(request).user is not None or path.startswith(PUBLIC):
            return None
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/login", status_code=303)
        return PlainTextResponse("log in first", 403)
