"""The web console's gate, without a browser: configuration refusals, login, CSRF, security
headers, escaping and job-id checks, through Starlette's TestClient."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from printserver.config import Config, ConfigError, parse_config
from printserver.sinks.directory import DirectorySink
from printserver.spool import operations
from printserver.spool.job import JobRequest, JobState
from printserver.spool.store import AUDIT_LOG, SpoolStore
from printserver.web.actions import VERBS
from printserver.web.app import Console, create_app
from printserver.web.auth import (
    Logins,
    LoginThrottle,
    SessionSigner,
    hash_password,
    verify_password,
)
from printserver.web.limits import FORM_BYTES
from printserver.web.security import HEADERS, Gate

LOCAL = "http://127.0.0.1:11180"
HOSTILE_LABEL = '<script>alert("x")</script>&"'


def _config(tmp_path: Path, web: str = "[web]\nenabled = true\n") -> Config:
    text = (
        f'[spool]\ndirectory = "{tmp_path / "spool"}"\n{web}\n'
        f'[[printers]]\nae_title = "FILM"\ndirectory = "{tmp_path / "out"}"\n'
        f'[[printers]]\nae_title = "PAPER"\ndirectory = "{tmp_path / "paper"}"\n'
    )
    return parse_config(text)


def _client(config: Config, base_url: str = LOCAL) -> tuple[TestClient, SpoolStore]:
    store = SpoolStore(config.spool.directory)
    store.open()
    sinks = {p.ae_title: DirectorySink(p.ae_title, p.directory or Path()) for p in config.printers}
    gate = Gate(config.web.users, config.web.session_minutes * 60, secure=False)
    app = create_app(Console(config, store, sinks, gate))
    return TestClient(app, base_url=base_url, follow_redirects=False), store


def _held_job(store: SpoolStore, title: str = HOSTILE_LABEL) -> str:
    request = JobRequest(printer="FILM", calling_ae="CT<b>1", title=title)
    return store.create(request, lambda out: out.write(b"%!PS\n"), hold="operator test").job_id


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@pytest.fixture
def local(tmp_path: Path) -> tuple[TestClient, SpoolStore]:
    return _client(_config(tmp_path))


def test_non_loopback_console_without_users_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^web: the console on 0\.0\.0\.0 shows patient data"):
        _config(tmp_path, '[web]\nenabled = true\nhost = "0.0.0.0"\n')
    with pytest.raises(ConfigError, match=r"^web\.users\.alice: "):
        _config(tmp_path, '[web]\nenabled = true\n[web.users]\nalice = "plain text"\n')
    quiet = _config(tmp_path, '[web]\nhost = "0.0.0.0"\n')  # off: nothing is exposed
    assert not quiet.web.enabled
    assert _config(tmp_path, "").web.enabled is False  # off by default
    users = f'[web]\nenabled = true\nhost = "0.0.0.0"\n[web.users]\nalice = "{hash_password("pw")}"'
    assert _config(tmp_path, users).web.host == "0.0.0.0"


def test_hash_password_command_writes_a_line_the_config_accepts(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "printserver", "web", "hash-password", "alice"]
    made = subprocess.run(command, input="s3cret\n", capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    config = _config(tmp_path, f"[web]\nenabled = true\n[web.users]\n{made.stdout}")
    assert verify_password("s3cret", config.web.users["alice"])
    refused = subprocess.run([*command[:-1], "bad name"], input=b"x\n", capture_output=True)
    assert refused.returncode == 2 and b"user name" in refused.stderr


def test_password_hashes_and_signed_sessions() -> None:
    encoded = hash_password("correct horse", n=1 << 10)
    assert encoded.startswith("scrypt$1024$8$1$")
    assert verify_password("correct horse", encoded)
    assert not verify_password("Correct horse", encoded)
    assert not verify_password("x", "scrypt$1$1$1$AAAA$AAAA")  # malformed never matches
    signer = SessionSigner()
    cookie = signer.dump(Gate({}, 60, secure=False).new_session())
    assert signer.load(cookie) is not None
    assert signer.load(cookie[:-2] + "xx") is None  # forged
    assert SessionSigner().load(cookie) is None  # another process's key


def test_pages_carry_security_headers_and_escape_client_text(
    local: tuple[TestClient, SpoolStore],
) -> None:
    client, store = local
    job_id = _held_job(store)
    cookie = client.get("/queue").headers["set-cookie"]  # the first visit gets a session
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    for path in ("/queue", "/queue/rows", "/printers", f"/jobs/{job_id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        for name, value in HEADERS.items():
            assert response.headers[name] == value, (path, name)
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert "<script>alert" not in response.text and "CT<b>1" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#34;" in client.get("/queue").text
    script = client.get("/static/console.js")
    assert script.status_code == 200 and script.headers["x-content-type-options"] == "nosniff"


def test_state_changes_need_a_csrf_token_and_the_same_origin(
    local: tuple[TestClient, SpoolStore],
) -> None:
    client, store = local
    job_id = _held_job(store, "PLAIN")
    token = _csrf(client.get("/queue").text)
    assert client.get(f"/jobs/{job_id}/release").status_code == 405  # GET never changes
    assert client.post(f"/jobs/{job_id}/release").status_code == 403
    assert client.post(f"/jobs/{job_id}/release", data={"csrf": "guess"}).status_code == 403
    for headers in (
        {"origin": "http://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "null", "sec-fetch-site": "same-site"},
    ):
        refused = client.post(f"/jobs/{job_id}/release", data={"csrf": token}, headers=headers)
        assert refused.status_code == 403, headers
    assert store.get(job_id).state is JobState.HELD
    done = client.post(
        f"/jobs/{job_id}/release",
        data={"csrf": token, "back": "queue", "printer_filter": "FILM"},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},  # Chrome, no-referrer
    )
    assert done.status_code == 303 and done.headers["location"] == "/queue?printer=FILM"
    assert store.get(job_id).state is JobState.PENDING
    assert f"{job_id}: released (pending)" in client.get("/queue").text  # the notice, once
    assert "released (pending)" not in client.get("/queue").text
    refused = client.post(f"/jobs/{job_id}/release", data={"csrf": token})
    assert refused.headers["location"] == f"/jobs/{job_id}"
    assert "only held jobs can be released" in client.get(f"/jobs/{job_id}").text
    moved = client.post(
        f"/jobs/{job_id}/move", data={"csrf": token, "printer": "PAPER"}, headers={"origin": LOCAL}
    )
    assert moved.status_code == 303 and store.get(job_id).printer == "PAPER"


def _job_with_order(store: SpoolStore) -> str:
    """A held job with its film and the order it was made from: every action applies."""
    request = JobRequest(printer="FILM", calling_ae="CT1", title="ORDER")
    job = store.create(
        request,
        lambda out: out.write(b"%!PS\n"),
        hold="operator test",
        attachments={"index.json": b"[]"},
    )
    return job.job_id


def test_the_console_confirms_what_the_command_line_forces(tmp_path: Path) -> None:
    """Each operation that asks for a confirmation (``operations.CONFIRMED``) is refused
    from the console without its tick and changes nothing; with it, it is done and the
    audit line says it was confirmed."""
    config = _config(tmp_path)
    (tmp_path / "paper").write_text("a file where PAPER's directory should be")
    client, store = _client(config)  # PAPER now accepts no jobs
    token = _csrf(client.get(f"/jobs/{_job_with_order(store)}").text)
    assert set(operations.CONFIRMED) <= set(VERBS)  # the console offers every one
    for action in operations.CONFIRMED:
        job_id = _job_with_order(store)
        page = client.get(f"/jobs/{job_id}").text
        assert f'action="/jobs/{job_id}/{action}"' in page and 'name="confirm"' in page
        form = {"csrf": token, "printer": "PAPER"}
        before = {job.job_id: job.model_dump() for job in store.list()}
        refused = client.post(f"/jobs/{job_id}/{action}", data=form, headers={"origin": LOCAL})
        assert refused.status_code == 303
        assert {job.job_id: job.model_dump() for job in store.list()} == before, action
        notice = client.get(f"/jobs/{job_id}").text
        assert "tick “confirm”" in notice, action
        done = client.post(
            f"/jobs/{job_id}/{action}", data={**form, "confirm": "yes"}, headers={"origin": LOCAL}
        )
        assert done.status_code == 303
        changed = [job for job in store.list() if before.get(job.job_id) != job.model_dump()]
        assert changed, action
        last = json.loads((store.root / AUDIT_LOG).read_text().splitlines()[-1])
        assert last["action"] == action and last["actor"] == "web:local", last
        assert "confirmed: " in last["detail"], last
    after_final = _job_with_order(store)
    operations.cancel(store, after_final, {}, actor="cli:test")
    page = client.get(f"/jobs/{after_final}").text  # a finished job: a reprint is asked once
    reprint_form = re.search(f'action="/jobs/{after_final}/reprint".*?</form>', page, re.S)
    assert reprint_form is not None and 'name="confirm"' not in reprint_form.group(0)


def test_job_ids_are_checked_before_the_spool_is_touched(
    local: tuple[TestClient, SpoolStore],
) -> None:
    client, store = local
    _held_job(store)
    token = _csrf(client.get("/queue").text)
    for bad in ("%2E%2E", "..%2Fjob", "20261122-194023-abd56", "x" * 300, "20261122-194023-ABD56B"):
        assert client.get(f"/jobs/{bad}").status_code in (404, 405)  # 405: read as an action
        assert client.get(f"/jobs/{bad}/pages/1/thumb").status_code == 404
        assert client.post(f"/jobs/{bad}/hold", data={"csrf": token}).status_code == 404
    missing = client.get("/jobs/20261122-194023-abd56b/pages/1/thumb")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"


def test_a_console_without_logins_answers_to_loopback_names_only(tmp_path: Path) -> None:
    client, _ = _client(_config(tmp_path), base_url="http://evil.example:11180")
    assert client.get("/queue").status_code == 421  # a DNS-rebinding page reads nothing
    for url in ("http://localhost:8000", "http://[::1]:8000", "http://127.0.0.1"):
        assert _client(_config(tmp_path), base_url=url)[0].get("/queue").status_code == 200


def test_with_users_every_page_needs_a_login(tmp_path: Path) -> None:
    secret = hash_password("s3cret", n=1 << 10)
    users = f'[web]\nenabled = true\nhost = "0.0.0.0"\n[web.users]\nalice = "{secret}"'
    client, store = _client(_config(tmp_path, users), base_url="http://printhost.example:11180")
    job_id = _held_job(store, "PLAIN")
    for path in ("/queue", "/printers", f"/jobs/{job_id}", f"/jobs/{job_id}/pages/1/thumb"):
        response = client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), path
    token = _csrf(client.get("/login").text)
    assert client.post(f"/jobs/{job_id}/release", data={"csrf": token}).status_code == 403
    wrong = client.post("/login", data={"csrf": token, "user": "alice", "password": "guess"})
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    unknown = client.post("/login", data={"csrf": token, "user": "mallory", "password": "s3cret"})
    assert unknown.status_code == 401
    assert client.post("/login", data={"user": "alice", "password": "s3cret"}).status_code == 403
    ok = client.post("/login", data={"csrf": token, "user": "alice", "password": "s3cret"})
    assert (ok.status_code, ok.headers["location"]) == (303, "/queue")
    page = client.get("/queue")
    assert page.status_code == 200 and "alice" in page.text
    fresh = _csrf(page.text)
    assert fresh != token  # logging in gives a new token
    assert client.post(f"/jobs/{job_id}/release", data={"csrf": token}).status_code == 403
    released = client.post(f"/jobs/{job_id}/release", data={"csrf": fresh})
    assert released.status_code == 303 and store.get(job_id).state is JobState.PENDING
    assert client.post("/logout", data={"csrf": fresh}).headers["location"] == "/login"
    assert client.get("/queue").status_code == 303


def test_failed_logins_are_throttled(tmp_path: Path) -> None:
    users = f'[web]\nenabled = true\n[web.users]\nbob = "{hash_password("pw", n=1 << 10)}"'
    client, _ = _client(_config(tmp_path, users))
    token = _csrf(client.get("/login").text)
    codes = [
        client.post("/login", data={"csrf": token, "user": "bob", "password": "no"}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    blocked = client.post("/login", data={"csrf": token, "user": "bob", "password": "pw"})
    assert blocked.status_code == 429  # even the right password, until the window passes


def test_a_login_lives_on_the_server_until_logout_or_a_new_password() -> None:
    old, new = hash_password("old", n=1 << 10), hash_password("new", n=1 << 10)
    gate = Gate({"alice": old, "bob": old}, 60, secure=False)
    session = gate.log_in("alice")
    cookie = gate.signer.dump(session)
    assert gate.load(cookie) == session
    gate.users["alice"] = new  # the password changed
    assert gate.load(cookie) is None
    gate.users["alice"] = old
    assert gate.load(cookie) == session
    del gate.users["alice"]  # the user was removed
    assert gate.load(cookie) is None
    gate.users["alice"] = old
    anonymous = gate.log_out(session)
    assert anonymous.user is None and gate.load(cookie) is None and len(gate.logins) == 0
    many = Logins(most=3)
    first = many.begin("alice", old, time.time() + 60)
    for _ in range(3):
        many.begin("alice", old, time.time() + 60)
    assert len(many) == 3 and not many.valid(first, "alice", old)  # the oldest gave way
    expired = many.begin("alice", old, time.time() - 1)
    assert not many.valid(expired, "alice", old)


def test_the_throttle_counts_a_check_before_it_runs() -> None:
    throttle = LoginThrottle(limit=2, window=60)
    first, second = throttle.reserve("10.0.0.1"), throttle.reserve("10.0.0.1")
    assert first is not None and second is not None
    assert throttle.reserve("10.0.0.1") is None  # both still running: no third check
    assert throttle.reserve("10.0.0.2") is not None
    throttle.forgive("10.0.0.1", second)  # the second password was right
    assert throttle.reserve("10.0.0.1") is not None


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    local: tuple[TestClient, SpoolStore],
) -> None:
    client, store = local
    job_id = _held_job(store, "PLAIN")
    token = _csrf(client.get(f"/jobs/{job_id}").text)
    announced = client.post(f"/jobs/{job_id}/release", data={"csrf": token, "x": "a" * FORM_BYTES})
    assert announced.status_code == 413 and announced.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:
        yield f"csrf={token}&x=".encode()
        for _ in range(100):
            yield b"a" * 4096

    streamed = client.post(
        f"/jobs/{job_id}/release",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413 and "at most 64 KiB" in streamed.text
    assert store.get(job_id).state is JobState.HELD
    small = client.post(f"/jobs/{job_id}/release", data={"csrf": token})
    assert small.status_code == 303 and "connection" not in small.headers
    assert store.get(job_id).state is JobState.PENDING
