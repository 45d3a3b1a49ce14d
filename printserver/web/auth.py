"""Who is at the console: password hashes, signed session cookies, the live logins, login
throttling and the bounded password checks.

Passwords are kept as scrypt hashes (stdlib ``hashlib.scrypt``), written
``scrypt$n$r$p$salt$key`` with base64 salt and key.  A session is a cookie holding the
user, a CSRF token and an expiry, signed with HMAC-SHA256 under a key made at start-up, so
a restart logs everybody out.  A logged-in session also names a login the server keeps
(:class:`Logins`): logging out ends it there, so a copy of the cookie opens nothing after.
Anonymous sessions (the login form's CSRF token) keep nothing server-side, so a client
without a login cannot make the server hold memory for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
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
    login: str = ""
    """The id of the server's record of this login (:class:`Logins`); empty when anonymous."""

    @classmethod
    def new(cls, user: str | None, lifetime: float, login: str = "") -> Session:
        return cls(user, secrets.token_urlsafe(24), time.time() + lifetime, login=login)


class SessionSigner:
    """Turns sessions into cookie values and back, refusing anything not signed here."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def dump(self, session: Session) -> str:
        fields = [session.user, session.csrf, session.expires, session.notice[:500], session.login]
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
            user, csrf, expires, notice, login = json.loads(base64.urlsafe_b64decode(body + "==="))
        except (ValueError, TypeError):
            return None
        if not (isinstance(csrf, str) and isinstance(notice, str) and isinstance(login, str)):
            return None
        if not isinstance(expires, int | float) or expires < time.time():
            return None
        if not (user is None or isinstance(user, str)):
            return None
        return Session(user, csrf, float(expires), notice, login)


class Logins:
    """The logins the server keeps: a logged-in session is valid only while its login is here.

    A login records its user and a fingerprint of that user's password hash, so logging
    out, removing the user or changing the password ends it.  At most ``most`` are kept;
    past that the oldest is ended (a client needs a password to add one).
    """

    def __init__(self, most: int = 1000) -> None:
        self.most = most
        self._live: OrderedDict[str, tuple[str, str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def begin(self, user: str, password_hash: str, expires: float) -> str:
        """A new login of ``user``; its id goes into the session cookie."""
        login = secrets.token_urlsafe(24)
        with self._lock:
            self._drop_expired(time.time())
            self._live[login] = (user, _fingerprint(password_hash), expires)
            while len(self._live) > self.most:
                self._live.popitem(last=False)
        return login

    def end(self, login: str) -> None:
        with self._lock:
            self._live.pop(login, None)

    def valid(self, login: str, user: str, password_hash: str | None) -> bool:
        """True when ``login`` is live, of ``user``, whose password is still ``password_hash``."""
        with self._lock:
            found = self._live.get(login)
        return (
            found is not None
            and password_hash is not None
            and found[0] == user
            and hmac.compare_digest(found[1], _fingerprint(password_hash))
            and found[2] >= time.time()
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def _drop_expired(self, now: float) -> None:
        for login in [k for k, (_, _, expires) in self._live.items() if expires < now]:
            del self._live[login]


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


class LoginThrottle:
    """At most ``limit`` password checks that failed or are still running, per client address
    in ``window`` seconds.

    A check takes its place *before* the password is hashed (:meth:`reserve`) and gives it
    back only when the password was right (:meth:`forgive`), so concurrent guesses cannot
    all pass the count before any of them fails.
    """

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        attempts = self._attempts.setdefault(client, deque())
        while attempts and attempts[0] < now - self.window:
            attempts.popleft()
        return attempts

    def reserve(self, client: str) -> float | None:
        """A place for one password check from ``client``, or None when it is locked out."""
        with self._lock:
            now = time.monotonic()
            attempts = self._recent(client, now)
            if len(attempts) >= self.limit:
                return None
            attempts.append(now)
            if len(self._attempts) > 10_000:  # bounded: forget the oldest addresses
                self._attempts.pop(next(iter(self._attempts)))
            return now

    def forgive(self, client: str, place: float) -> None:
        """Give back a place whose check succeeded or never ran."""
        with self._lock:
            attempts = self._attempts.get(client)
            if attempts is not None and place in attempts:
                attempts.remove(place)


class PasswordChecks:
    """Password checks on a pool of their own: ``parallel`` at once, ``waiting`` more queued.

    Each scrypt check takes 16 MiB and tens of milliseconds of CPU, so a burst of logins
    must neither take the memory the render stage needs nor the threads the pages use.
    A check beyond the queue is refused at once (:meth:`submit` returns None).
    """

    def __init__(self, parallel: int = 2, waiting: int = 62) -> None:
        self._pool = ThreadPoolExecutor(parallel, thread_name_prefix="web-password")
        self._places = threading.BoundedSemaphore(parallel + waiting)

    def submit(self, password: str, encoded: str) -> Future[bool] | None:
        if not self._places.acquire(blocking=False):
            return None
        future = self._pool.submit(verify_password, password, encoded)
        future.add_done_callback(lambda _: self._places.release())
        return future

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
