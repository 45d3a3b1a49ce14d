"""The audit trail: every operator action names who did it, in the job's history, in the
``printserver.audit`` log and in the spool's append-only ``audit.log``, which keeps what
``purge`` removed."""

from __future__ import annotations

import json
import logging
import os
import pwd
from pathlib import Path
from typing import Any

import pytest

from printserver.sinks.directory import DirectorySink
from printserver.spool import operations
from printserver.spool.job import JobRecord, JobRequest, JobState, utc_now
from printserver.spool.store import AUDIT_LOG, SpoolStore
from tests.server_harness import config_text, run_cli


@pytest.fixture
def store(tmp_path: Path) -> SpoolStore:
    spool = SpoolStore(tmp_path / "spool")
    spool.open()
    return spool


def pending_job(store: SpoolStore, title: str = "CHEST") -> JobRecord:
    return store.create(JobRequest(printer="FILM", title=title), lambda out: out.write(b"%!PS\n"))


def audit_lines(store: SpoolStore) -> list[dict[str, Any]]:
    text = (store.root / AUDIT_LOG).read_text()
    return [json.loads(line) for line in text.splitlines()]


def me() -> str:
    return f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"


def test_an_action_names_its_actor_everywhere(
    store: SpoolStore, caplog: pytest.LogCaptureFixture
) -> None:
    job = pending_job(store)
    with caplog.at_level(logging.INFO, logger="printserver.audit"):
        held = operations.hold(store, job.job_id, actor="web:alice")
    last = held.history[-1]
    assert (last.actor, last.state, last.note) == ("web:alice", JobState.HELD, "held by operator")
    assert store.get(job.job_id).history[-1].actor == "web:alice"  # on disk
    lines = [r.getMessage() for r in caplog.records if r.name == "printserver.audit"]
    assert lines == [f"web:alice hold job {job.job_id}: pending -> held"]
    (entry,) = audit_lines(store)
    assert {k: entry[k] for k in ("actor", "action", "job", "from", "to")} == {
        "actor": "web:alice",
        "action": "hold",
        "job": job.job_id,
        "from": "pending",
        "to": "held",
    }


def test_the_default_actor_is_the_user_running_the_command(store: SpoolStore) -> None:
    job = pending_job(store)
    operations.hold(store, job.job_id)
    released = operations.release(store, job.job_id)
    canceled = operations.cancel(store, job.job_id, {})
    retried = operations.retry(store, job.job_id)
    for record in (released, canceled, retried):
        assert record.history[-1].actor == me()
    assert [entry["action"] for entry in audit_lines(store)] == [
        "hold",
        "release",
        "cancel",
        "retry",
    ]


def test_server_changes_have_no_actor(store: SpoolStore) -> None:
    job = pending_job(store)
    with store.locked(job.job_id) as record:
        saved = store.save(record.to(JobState.DONE))
    assert saved.history[-1].actor == ""
    assert not (store.root / AUDIT_LOG).exists()


def test_move_and_reprint_are_audited(store: SpoolStore, tmp_path: Path) -> None:
    job = pending_job(store)
    sinks = {"PAPER": DirectorySink("PAPER", tmp_path / "paper")}
    moved = operations.move(store, job.job_id, "PAPER", sinks, actor="web:bob")
    assert moved.history[-1].actor == "web:bob"
    with pytest.raises(operations.NeedsConfirmation, match="may still print"):
        operations.reprint(store, job.job_id, actor="web:bob")  # the job is pending
    copy = operations.reprint(store, job.job_id, actor="web:bob", force=True)
    assert copy.history[-1].actor == "web:bob" and copy.history[-1].note.startswith("reprint")
    move, reprint = audit_lines(store)
    assert move["detail"] == "printer FILM -> PAPER"
    assert reprint["action"] == "reprint" and copy.job_id in reprint["detail"]
    assert reprint["detail"].endswith("may still print; a second film is made")


def test_a_record_written_before_actors_still_loads(store: SpoolStore) -> None:
    job = pending_job(store)
    path = store.path(job.job_id) / "job.json"
    raw = json.loads(path.read_text())
    for entry in raw["history"]:
        del entry["actor"]
    path.write_text(json.dumps(raw))
    assert store.get(job.job_id).history[0].actor == ""


def test_purge_keeps_a_line_for_every_job_it_removes(
    store: SpoolStore, caplog: pytest.LogCaptureFixture
) -> None:
    job = pending_job(store, title="KNEE")
    operations.cancel(store, job.job_id, {}, actor="web:carol")
    kept = pending_job(store)
    with caplog.at_level(logging.INFO, logger="printserver.audit"):
        removed = operations.purge(store, utc_now(), (JobState.CANCELED,), actor="cli:dave")
    assert removed == [job.job_id]
    assert [record.job_id for record in store.list()] == [kept.job_id]
    purge = audit_lines(store)[-1]
    assert purge["actor"] == "cli:dave" and purge["action"] == "purge"
    assert (purge["job"], purge["from"], purge["title"], purge["printer"]) == (
        job.job_id,
        "canceled",
        "KNEE",
        "FILM",
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "printserver.audit"]
    assert len(lines) == 1 and lines[0].startswith(f"cli:dave purge job {job.job_id}: canceled")
    assert oct((store.root / AUDIT_LOG).stat().st_mode & 0o777) == "0o600"


def test_the_cli_records_the_operator(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    store = SpoolStore(spool)
    store.open()
    job = pending_job(store)
    config = tmp_path / "printserver.toml"
    printers = f'[[printers]]\nae_title = "FILM"\ndirectory = "{tmp_path / "out"}"\n'
    config.write_text(config_text(spool, 0, printers))
    result = run_cli(config, "queue", "hold", job.job_id)
    assert result.returncode == 0, result.stderr
    shown = run_cli(config, "queue", "show", job.job_id, "--json")
    assert shown.returncode == 0, shown.stderr
    history = json.loads(shown.stdout)["history"]
    assert history[-1]["actor"] == me() and history[-1]["state"] == "held"
    assert audit_lines(store)[-1]["actor"] == me()
    text = run_cli(config, "queue", "show", job.job_id).stdout
    assert text.rstrip().splitlines()[-1].endswith(f"by {me()}")  # the operator, in plain text
