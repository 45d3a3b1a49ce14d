"""The operator's queue against a real private cupsd: every command changes what CUPS and the
printer see, held films wait for media, priorities order the queue, CUPS can go away and
come back, and a full disk refuses films instead of losing them."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pynetdicom import sop_class

from printserver.config import parse_config
from tests.cups_harness import SocketSink
from tests.print_client import PrintClient, box_uids
from tests.server_harness import InProcessServer, config_text, run_cli, start_in_process

pytestmark = pytest.mark.integration
PRINTER = "1.2.840.10008.5.1.1.17"


@dataclass
class Site:
    server: InProcessServer
    config: Path
    cups: Any
    film: SocketSink
    paper: SocketSink

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(self.config, *args, timeout=60)

    def jobs(self) -> list[dict[str, Any]]:
        result = self.cli("queue", "list", "--json")
        assert result.returncode == 0, result.stderr
        jobs: list[dict[str, Any]] = json.loads(result.stdout)
        return jobs

    def wait(self, job_id: str, state: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = next(j for j in self.jobs() if j["job_id"] == job_id)
            if job["state"] == state:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} is {job['state']}, not {state}")


@pytest.fixture
def site(cups_queue: Any, tmp_path: Path) -> Iterator[Site]:
    paper = SocketSink(tmp_path / "paper-device")
    cups_queue.cups.add_queue("paper", f"socket://127.0.0.1:{paper.port}/?snmp=false")
    printers = (
        '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
        'loaded_film_sizes = ["8INX10IN", "14INX17IN"]\n'
        '[[printers]]\nae_title = "PAPER"\ncups_queue = "paper"\n'
        f'cups_server = "{cups_queue.server}"\n'  # its own server setting: how sites grow
    )
    extra = (
        f'scan_interval = 0.3\nstuck_after_minutes = 0.02\n[cups]\nserver = "{cups_queue.server}"\n'
    )
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, printers, extra))
    running = start_in_process(parse_config(config.read_text(), base=tmp_path))
    yield Site(running, config, cups_queue.cups, cups_queue.sink, paper)
    running.server.stop()
    paper.stop()


def _print(
    site: Site, label: str, *, size: str = "8INX10IN", priority: str = "MED", called: str = "FILM"
) -> tuple[int, str]:
    client = PrintClient(site.server.port, called=called)
    _, session = client.session(FilmSessionLabel=label, PrintPriority=priority)
    _, box, reply = client.film_box(session, FilmSizeID=size)
    client.gray(box_uids(reply)[0], 1, np.full((32, 32), 1500, np.uint16))
    status, _ = client.action(sop_class.BasicFilmBox, box)
    client.release()
    job = next(j for j in reversed(site.jobs()) if j["title"] == label)
    return int(status.Status), job["job_id"]


def _titles(sink: SocketSink) -> list[str]:
    titles = []
    for path in sink.files():
        lines = path.read_bytes().splitlines()
        line = next(text for text in lines if text.startswith(b"%%Title:"))
        titles.append(line.decode("latin-1").split("(", 1)[1].rsplit(")", 1)[0])
    return titles


def test_hold_release_priority_and_history(site: Site) -> None:
    site.cups.reject("film")  # the films stay in the spool
    jobs = {}
    for label, priority in (("LOW-1", "LOW"), ("HIGH-1", "HIGH"), ("MED-1", "MED")):
        status, jobs[label] = _print(site, label, priority=priority)
        assert status == 0
    held = site.cli("queue", "hold", *jobs.values())
    assert held.returncode == 0, held.stderr
    site.cups.accept("film")
    time.sleep(1.5)
    assert site.film.files() == []  # held: nothing reaches the printer
    listing = site.cli("queue", "list", "--state", "held")
    assert listing.stdout.count("held") == 3 and "HIGH-1" in listing.stdout
    assert site.cli("queue", "release", *jobs.values()).returncode == 0
    site.film.wait_for(3)
    assert _titles(site.film) == ["HIGH-1", "MED-1", "LOW-1"]
    job = site.wait(jobs["HIGH-1"], "done")
    states = [entry["state"] for entry in job["history"]]
    assert states[0] == "rendering" and states[-1] == "done"  # spooled as an order
    notes = [(entry["state"], entry["note"]) for entry in job["history"] if entry["note"]]
    assert notes[1:3] == [("held", "held by operator"), ("pending", "released by operator")]
    shown = site.cli("queue", "show", jobs["HIGH-1"])
    assert "history:" in shown.stdout and "released by operator" in shown.stdout
    # patient data: private to the server's user
    directory = site.server.spool / "jobs" / jobs["HIGH-1"]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert (directory / "objects" / "index.json").is_file()  # what the client sent is kept


def test_cancel_at_cups_retry_reprint_and_purge(site: Site) -> None:
    site.cups.lp("cupsdisable", "-h", site.cups.server, "film")  # CUPS keeps jobs pending
    status, job_id = _print(site, "CANCEL-ME")
    assert status == 0
    cups_id = site.wait(job_id, "printing")["cups_job_id"]
    canceled = site.cli("queue", "cancel", job_id)
    assert canceled.returncode == 0 and "canceled" in canceled.stdout
    import cups

    connection = cups.Connection(host=site.cups.server)
    assert connection.getJobAttributes(cups_id)["job-state"] == 7  # canceled at CUPS
    site.cups.lp("cupsenable", "-h", site.cups.server, "film")
    time.sleep(1.0)
    assert site.film.files() == []
    again = site.cli("queue", "cancel", job_id)
    assert again.returncode == 1 and "already canceled" in again.stderr
    assert site.cli("queue", "retry", job_id).returncode == 0
    site.film.wait_for(1)
    site.wait(job_id, "done")
    reprint = site.cli("queue", "reprint", job_id)
    assert reprint.returncode == 0 and "reprinted as" in reprint.stdout
    site.film.wait_for(2)
    first, second = site.film.files()
    assert first.read_bytes().count(b"%%Page:") == second.read_bytes().count(b"%%Page:") == 1
    assert _titles(site.film) == ["CANCEL-ME", "CANCEL-ME"]
    assert len(site.jobs()) == 2
    unknown = site.cli("queue", "retry", "no-such-job")
    assert unknown.returncode == 2 and "no job no-such-job" in unknown.stderr
    time.sleep(0.5)
    purged = site.cli("queue", "purge", "--older-than", "0s")
    assert purged.returncode == 0 and "2 job(s) purged" in purged.stdout
    assert site.jobs() == []


def test_film_waits_for_media_and_moves_to_another_printer(site: Site) -> None:
    status, job_id = _print(site, "BIG FILM", size="14INX14IN")  # not loaded on FILM
    assert status == 0  # accepted: the film is safe in the spool
    job = site.wait(job_id, "held")
    assert job["state_info"] == "REQ MED NOT INST" and "14INX14IN" in job["last_error"]
    moved = site.cli("queue", "move", job_id, "PAPER")
    assert moved.returncode == 0, moved.stderr
    site.paper.wait_for(1)
    assert site.wait(job_id, "done")["printer"] == "PAPER"
    assert site.film.files() == []
    refused = site.cli("queue", "move", job_id, "NOWHERE")
    assert refused.returncode == 2 and "unknown printer 'NOWHERE'" in refused.stderr


def test_cups_down_and_back(site: Site) -> None:
    site.cups.stop()
    status, job_id = _print(site, "WHILE DOWN")
    assert status == 0
    client = PrintClient(site.server.port, called="FILM")
    _, printer = client.get(sop_class.Printer, PRINTER)
    assert (printer.PrinterStatus, printer.PrinterStatusInfo) == ("WARNING", "PRINTER DOWN")
    client.release()
    listing = site.cli("printers", "--json")
    film = next(p for p in json.loads(listing.stdout) if p["printer"] == "FILM")
    assert film["status_info"] == "PRINTER DOWN" and film["jobs"] == {"pending": 1}
    time.sleep(1.0)
    assert site.jobs()[0]["state"] == "pending" and site.jobs()[0]["last_error"]
    site.cups.start()
    site.film.wait_for(1, timeout=40)
    site.wait(job_id, "done")
    assert len(site.film.files()) == 1


def test_preview_png_and_pdf(site: Site, tmp_path: Path) -> None:
    _, job_id = _print(site, "PREVIEW")
    png, pdf = tmp_path / "film.png", tmp_path / "film.pdf"
    site.wait(job_id, "done")
    unwritable = site.cli("queue", "preview", job_id, "-o", str(tmp_path / "no" / "film.png"))
    assert unwritable.returncode == 1 and "Traceback" not in unwritable.stderr
    assert unwritable.stderr.startswith("printserver: cannot write")
    assert site.cli("queue", "preview", job_id, "-o", str(png)).returncode == 0
    assert site.cli("queue", "preview", job_id, "-o", str(pdf)).returncode == 0
    from PIL import Image

    with Image.open(png) as picture:
        assert max(picture.size) == 1200 and picture.size[0] < picture.size[1]  # 8x10 portrait
        pixels = np.asarray(picture)
    assert pixels[5, 5] == 0 and 0 < pixels[600, 480] < 255  # black border, the image
    assert pdf.read_bytes().startswith(b"%PDF")


def test_disk_space_guard_refuses_films(cups_queue: Any, tmp_path: Path) -> None:
    printers = '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
    extra = f'min_free_mb = 100000000\n[cups]\nserver = "{cups_queue.server}"\n'
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers, extra)))
    try:
        client = PrintClient(running.port, called="FILM")
        _, printer = client.get(sop_class.Printer, PRINTER)
        assert (printer.PrinterStatus, printer.PrinterStatusInfo) == ("FAILURE", "PRINT BUFF FULL")
        _, session = client.session()
        _, box, reply = client.film_box(session)
        refused = client.gray(box_uids(reply)[0], 1, np.zeros((8, 8), np.uint16))
        assert refused.Status == 0xC605 and "disk is full" in refused.ErrorComment  # no spill
        status, _ = client.action(sop_class.BasicFilmBox, box)
        assert status.Status == 0xC602 and "disk full" in status.ErrorComment
        client.release()
        assert list((tmp_path / "spool" / "jobs").iterdir()) == []
    finally:
        running.server.stop()


def test_copies_reach_cups_and_a_job_stuck_there_is_flagged(site: Site) -> None:
    site.cups.lp("cupsdisable", "-h", site.cups.server, "film")  # CUPS holds it: no progress
    client = PrintClient(site.server.port, called="FILM")
    assert client.flat_film(700, FilmSessionLabel="COPIES", NumberOfCopies="3").Status == 0
    client.release()
    job_id = site.jobs()[0]["job_id"]
    cups_id = site.wait(job_id, "printing")["cups_job_id"]
    import cups

    attributes = cups.Connection(host=site.cups.server).getJobAttributes(cups_id)
    assert attributes["copies"] == 3
    deadline = time.monotonic() + 20
    while not site.jobs()[0]["stuck"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert site.jobs()[0]["stuck"]
    assert "STUCK" in site.cli("queue", "list").stdout
    site.cups.lp("cupsenable", "-h", site.cups.server, "film")
    site.wait(job_id, "done")


def test_completed_jobs_are_purged_after_the_retention_time(
    cups_queue: Any, tmp_path: Path
) -> None:
    printers = '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
    extra = (
        f'keep_done_days = 0.00002\nscan_interval = 0.3\n[cups]\nserver = "{cups_queue.server}"\n'
    )
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers, extra)))
    try:
        client = PrintClient(running.port, called="FILM")
        assert client.flat_film(700).Status == 0
        client.release()
        cups_queue.sink.wait_for(1)
        jobs = tmp_path / "spool" / "jobs"
        deadline = time.monotonic() + 20
        while any(jobs.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(jobs.iterdir()) == []  # done, then gone after 1.7 s
    finally:
        running.server.stop()
