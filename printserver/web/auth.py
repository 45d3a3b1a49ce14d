"""Who is at the console: password hashes, signed session cookies, login throttling.

Passwords are kept as scrypt hashes (stdlib ``hashlib.scrypt``), written
``scrypt$n$r$p$salt$key`` with base64 salt and key.  A session is a cookie holding the
user, a CSRF token and an expiry, signed with HMAC-SHA256 under a key made at start-up:
nothing is stored server-side, and a restart logs everybody out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
"""scrypt cost: 16 MiB and about 50 ms per check, as OWASP's minimum suggests."""
_KEY_BYTES = 32
_MAX_COST = 1 << 20


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The line to put into ``[web.users]`` for ``password``."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r), dklen=_KEY_BYTES
    )
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def _maxmem(n: int, r: int) -> int:
    return 128 * r * n + (1 << 20)


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; a malformed hash never matches."""
    try:
        scheme, n_text, r_text, p_text, salt_text, key_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, key = base64.b64decode(salt_text), base64.b64decode(key_text)
    except ValueError:
        return False
    if scheme != "scrypt" or not (1 < n <= _MAX_COST and 0 < r <= 32 and 0 < p <= 16):
        return False
    try:
        derived = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r), dklen=len(key)
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, key)


@dataclass(frozen=True)
class Session:
    """A browser's session: ``user`` is None until it logged in; ``notice`` is the outcome
    of the last action, shown once by the next page."""

    user: str | None
    csrf: str
    expires: float
    notice: str = ""

    @classmethod
    def new(cls, user: str | None, lifetime: float) -> Session:
        return cls(user, secrets.token_urlsafe(24), time.time() + lifetime)


class SessionSigner:
    """Turns sessions into cookie values and back, refusing anything not signed here."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def dump(self, session: Session) -> str:
        fields = [session.user, session.csrf, session.expires, session.notice[:500]]
        payload = json.dumps(fields).encode()
        body = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
        return f"{body}.{self._mac(body.encode())}"

    def load(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None when it is absent, forged or expired."""
        if not cookie or len(cookie) > 4000 or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(body.encode()), mac):
            return None
        try:
            user, csrf, expires, notice = json.loads(base64.urlsafe_b64decode(body + "==="))
        except (ValueError, TypeError):
            return None
        if not (isinstance(csrf, str) and isinstance(notice, str)):
            return None
        if not isinstance(expires, int | float) or expires < time.time():
            return None
        if not (user is None or isinstance(user, str)):
            return None
        return Session(user, csrf, float(expires), notice)


class LoginThrottle:
    """At most ``limit`` failed logins per client address in ``window`` seconds."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return failures

    def allowed(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) < self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bounded: forget the oldest addresses
                self._failures.pop(next(iter(self._failures)))
