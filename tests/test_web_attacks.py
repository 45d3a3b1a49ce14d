"""The console under attack, against ``printserver serve`` as its own process: a stolen
cookie after logout, concurrent guesses and logins, huge and endless bodies, half-open
requests (slowloris), pages beyond a job's films.  Each attack is measured on the server
process itself (/proc: peak memory and CPU time), and a film printed over DICOM
meanwhile must still reach the private CUPS queue in time.

Other client addresses are other loopback addresses (127.0.0.2 …): every socket stays on
this machine.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pynetdicom import sop_class

from printserver.web.auth import hash_password
from printserver.web.limits import FORM_BYTES
from tests.print_client import PrintClient, box_uids
from tests.server_harness import ServerProcess, config_text, free_port, wait_for_port

pytestmark = pytest.mark.integration

PASSWORD = "correct horse"
FILM_IN_TIME = 5.0
"""Seconds a film printed over DICOM during an attack may take to reach CUPS."""


@dataclass
class Console:
    server: ServerProcess
    web_port: int
    cups: Any

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def proc(self, name: str) -> str:
        return Path(f"/proc/{self.pid}/{name}").read_text()

    def peak_rss_mb(self) -> float:
        found = re.search(r"VmHWM:\s+(\d+) kB", self.proc("status"))
        assert found
        return int(found[1]) / 1024

    def cpu_seconds(self) -> float:
        fields = self.proc("stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


@pytest.fixture
def console(tmp_path: Path, cups_queue: Any) -> Iterator[Console]:
    """The server with a CUPS printer FILM and a console with one user, alice, whose
    password hash has the real cost (scrypt n = 2^14: 16 MiB per check)."""
    port, web_port = free_port(), free_port()
    printers = '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
    extra = (
        f'scan_interval = 0.3\n[cups]\nserver = "{cups_queue.server}"\n'
        f"[web]\nenabled = true\nport = {web_port}\n"
        f'[web.users]\nalice = "{hash_password(PASSWORD)}"\n'
    )
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", port, printers, extra))
    server = ServerProcess(config, port, tmp_path, tmp_path / "server.log")
    server.start()
    wait_for_port(web_port)
    yield Console(server, web_port, cups_queue)
    server.stop()


def _request(
    console: Console,
    method: str,
    path: str,
    *,
    source: str = "127.0.0.1",
    cookie: str = "",
    form: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, str, str]:
    """One request on its own connection: status, body and the session cookie it set."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", console.web_port, timeout=timeout, source_address=(source, 0)
    )
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in form.items())
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        set_cookie = response.getheader("set-cookie") or ""
        return response.status, text, set_cookie.split(";", 1)[0] or cookie
    finally:
        connection.close()


def _login_form(console: Console, source: str = "127.0.0.1") -> tuple[str, str]:
    """A fresh anonymous session: its cookie and the login form's CSRF token."""
    status, page, cookie = _request(console, "GET", "/login", source=source)
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert status == 200 and found and cookie
    return cookie, found[1]


def _log_in(
    console: Console, password: str = PASSWORD, source: str = "127.0.0.1"
) -> tuple[int, str]:
    cookie, csrf = _login_form(console, source)
    form = {"csrf": csrf, "user": "alice", "password": password}
    status, _, cookie = _request(console, "POST", "/login", source=source, cookie=cookie, form=form)
    return status, cookie


def _print_film(console: Console, films: int = 1) -> None:
    """A Film Session of ``films`` one-image films, printed with one N-ACTION."""
    client = PrintClient(console.server.port, called="FILM")
    _, session = client.session(FilmSessionLabel="ATTACKED")
    for _ in range(films):
        _, _, reply = client.film_box(session, FilmSizeID="8INX10IN")
        client.gray(box_uids(reply)[0], 1, np.full((64, 64), 2000, np.uint16))
    status, _ = client.action(sop_class.BasicFilmSession, session)
    client.release()
    assert status.Status == 0


def _film_reaches_cups(console: Console, count: int) -> float:
    """Print one film; the seconds until CUPS's device holds ``count`` films."""
    started = time.monotonic()
    _print_film(console)
    console.cups.sink.wait_for(count, timeout=FILM_IN_TIME + 10)
    return time.monotonic() - started


def test_logged_out_cookie_opens_nothing(console: Console) -> None:
    status, cookie = _log_in(console)
    assert status == 303
    _print_film(console)
    console.cups.sink.wait_for(1, timeout=30)
    (job,) = (p.name for p in (console.server.cwd / "spool" / "jobs").iterdir())
    thumb, action = f"/jobs/{job}/pages/1/thumb", f"/jobs/{job}/hold"
    page = _request(console, "GET", "/queue", cookie=cookie)
    assert page[0] == 200
    assert _request(console, "GET", thumb, cookie=cookie)[0] == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page[1])
    assert csrf
    logout = _request(console, "POST", "/logout", cookie=cookie, form={"csrf": csrf[1]})
    assert logout[0] == 303
    # the cookie from before the logout, as a thief who copied it would send it
    assert _request(console, "GET", "/queue", cookie=cookie)[0] == 303
    assert _request(console, "GET", thumb, cookie=cookie)[0] == 303
    assert _request(console, "POST", action, cookie=cookie, form={"csrf": csrf[1]})[0] == 403


def test_concurrent_guesses_are_checked_five_times_at_most(console: Console) -> None:
    cookie, csrf = _login_form(console)
    form = {"csrf": csrf, "user": "alice", "password": "guess"}
    start = threading.Barrier(30)

    def guess(_: int) -> int:
        start.wait()
        return _request(console, "POST", "/login", cookie=cookie, form=form)[0]

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(guess, range(30)))
    assert sorted(set(codes)) == [401, 429], codes
    assert codes.count(401) <= 5 and codes.count(429) >= 25, codes
    assert _log_in(console)[0] == 429  # the right password too, for the lockout time
    assert _log_in(console, source="127.0.0.2")[0] == 303  # another address is not locked out


@pytest.mark.timed
def test_forty_logins_at_once_keep_memory_bounded(console: Console) -> None:
    sources = [f"127.0.0.{n}" for n in range(2, 10)]
    forms = [_login_form(console, source) for source in sources for _ in range(5)]
    peak_before = console.peak_rss_mb()
    start = threading.Barrier(len(forms))

    def log_in(number: int) -> tuple[int, float]:
        cookie, csrf = forms[number]
        form = {"csrf": csrf, "user": "alice", "password": PASSWORD}
        start.wait()
        began = time.monotonic()
        source = sources[number // 5]
        status = _request(console, "POST", "/login", source=source, cookie=cookie, form=form)[0]
        return status, time.monotonic() - began

    with ThreadPoolExecutor(len(forms)) as pool:
        answers = list(pool.map(log_in, range(len(forms))))
    assert [status for status, _ in answers] == [303] * 40
    slowest = max(seconds for _, seconds in answers)
    assert slowest < 10.0, f"a login took {slowest:.1f} s"
    peak = console.peak_rss_mb()
    assert peak < 512, f"peak RSS {peak:.0f} MB"
    # two checks at once, 16 MiB each: the logins add little to what the server had
    assert peak - peak_before < 64, f"peak RSS {peak_before:.0f} → {peak:.0f} MB"


def _send_body(console: Console, chunked: bool, size: int = 200_000_000) -> tuple[bytes, int]:
    """POST a ``size``-byte form to /login as fast as the server takes it: what the server
    answered, and how many bytes went out before it closed the connection."""
    sock = socket.create_connection(("127.0.0.1", console.web_port), timeout=10)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (
        f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    sock.sendall(head.encode())
    block = b"a" * 65536
    if chunked:
        block = b"%x\r\n%s\r\n" % (len(block), block)
    sent = 0
    try:
        while sent < size:
            sent += sock.send(block)
    except OSError:  # the server closed the connection: reset or broken pipe
        pass
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    sock.close()
    return answer, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.timed
def test_a_huge_body_is_refused_unread(console: Console, chunked: bool) -> None:
    cpu = console.cpu_seconds()
    answer, sent = _send_body(console, chunked)
    cpu = console.cpu_seconds() - cpu
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower()
    # what went out fits the two sockets' kernel buffers (a few MB on loopback) and the
    # limit: the server stopped reading at once and closed, far short of 200 MB
    assert sent < 16_000_000 + FORM_BYTES, f"{sent} bytes went out before the server closed"
    assert cpu < 0.5, f"{cpu:.2f} s of server CPU for one refused body"

    stop = threading.Event()

    def attack() -> None:
        while not stop.is_set():
            _send_body(console, chunked)

    attackers = [threading.Thread(target=attack) for _ in range(3)]
    for thread in attackers:
        thread.start()
    try:
        seconds = _film_reaches_cups(console, 1)
    finally:
        stop.set()
        for thread in attackers:
            thread.join(30)
    assert seconds < FILM_IN_TIME, f"the film took {seconds:.1f} s under the attack"


@pytest.mark.timed
def test_half_open_requests_are_closed_and_hold_nobody_else(console: Console) -> None:
    half_open = []
    for number in range(500):  # 300 from one address, 100 from each of two more
        source = "127.0.0.1" if number < 300 else f"127.0.0.{3 + number % 2}"
        sock = socket.create_connection(
            ("127.0.0.1", console.web_port), timeout=5, source_address=(source, 0)
        )
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        half_open.append(sock)
    opened = time.monotonic()
    began = time.monotonic()
    status = _request(console, "GET", "/login", source="127.0.0.2", timeout=5)[0]
    assert status == 200
    assert time.monotonic() - began < 1.0, f"another address waited {time.monotonic() - began}"
    seconds = _film_reaches_cups(console, 1)
    assert seconds < FILM_IN_TIME, f"the film took {seconds:.1f} s under the attack"
    for sock in half_open:
        sock.settimeout(max(0.1, opened + 20 - time.monotonic()))
        try:
            while sock.recv(4096):  # a 503 for those beyond the limit, then the close
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail("a half-open request was still open after 20 s")
        finally:
            sock.close()
    assert time.monotonic() - opened < 20


def test_a_page_beyond_the_films_costs_nothing(console: Console) -> None:
    _print_film(console, films=4)
    console.cups.sink.wait_for(1, timeout=30)
    (job,) = (p.name for p in (console.server.cwd / "spool" / "jobs").iterdir())
    _, cookie = _log_in(console)
    assert _request(console, "GET", f"/jobs/{job}/pages/4/thumb", cookie=cookie)[0] == 200
    assert _request(console, "GET", f"/jobs/{job}/pages/5/thumb", cookie=cookie)[0] == 404
    before = console.cpu_seconds()
    for _ in range(10):
        path = f"/jobs/{job}/pages/999999999/large"
        assert _request(console, "GET", path, cookie=cookie)[0] == 404
    spent = (console.cpu_seconds() - before) / 10
    assert spent < 0.05, f"{spent:.3f} s of server CPU for each missing page"


def test_a_broken_chunked_body_gets_400_and_no_traceback(console: Console) -> None:
    """h11 refuses the body and uvicorn answers 400 while the request's task still runs;
    that task's own answer is dropped, so a client cannot fill the log with tracebacks."""
    for form in (b"Content-Type: application/x-www-form-urlencoded\r\n", b"") * 2:
        sock = socket.create_connection(("127.0.0.1", console.web_port), timeout=10)
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            + form
            + b"\r\nzz\r\n"
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        sock.close()
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert _request(console, "GET", "/login")[0] == 200  # and the console still serves
    time.sleep(0.5)  # the dropped tasks end
    log = console.server.log.read_text()
    assert "Invalid HTTP request received" in log and "Traceback" not in log, log[-3000:]
