"""The modality hears DONE: Print Job N-EVENT-REPORTs sent on their own (PS3.4 H.4.5.1.1).

Real pynetdicom SCUs over loopback, a private cupsd printing to a socket sink, and the
operator's command line in its own process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import evt, sop_class

from printserver.config import parse_config
from printserver.spool.job import JobState
from printserver.spool.store import SpoolStore
from tests.cups_harness import CupsQueue
from tests.print_client import OPTIONAL, PrintClient, box_uids, color_item
from tests.server_harness import (
    ServerProcess,
    config_text,
    free_port,
    run_cli,
    start_in_process,
    wait_for_jobs,
)

PRINT_JOB_SEQUENCE = 0x21000500
DONE, FAILURE = 3, 4


@dataclass
class Heard:
    """What one modality received, in order: responses by name, events with their times."""

    log: list[str] = field(default_factory=list)
    events: list[tuple[float, int, str, Dataset | None]] = field(default_factory=list)
    answer: Any = None  # a handler that does not answer: an Event never set
    arrived: threading.Event = field(default_factory=threading.Event)

    def handlers(self) -> list[Any]:
        return [(evt.EVT_DIMSE_RECV, self._received), (evt.EVT_N_EVENT_REPORT, self._event)]

    def _received(self, event: evt.Event) -> None:
        self.log.append(type(event.message).__name__)

    def _event(self, event: evt.Event) -> tuple[int, None]:
        self.arrived.set()
        if self.answer is not None:
            self.answer.wait(60)
        request: Any = event.request
        info = event.event_information if event.event_information else None
        uid = str(request.AffectedSOPInstanceUID)
        self.events.append((time.time(), int(event.event_type), uid, info))
        return 0, None

    def wait_for(self, event_type: int, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for e in self.events if e[1] == event_type) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"{count} events of type {event_type} did not come: {self.events}")


def _client(port: int, heard: Heard, *, color: bool = False, calling: str = "CT_ROOM1") -> Any:
    return PrintClient(port, "FILM", calling, color=color, handlers=heard.handlers())


def _print(
    client: PrintClient, *, color: bool = False, on_session: bool = False
) -> tuple[str, str]:
    """One film (two images); N-ACTION on the film box or session: the Print Job's UID and
    the Film Session's."""
    _, session = client.session(FilmSessionLabel="EVENTS")
    _, box, reply = client.film_box(session, "STANDARD\\1,2", FilmSizeID="8INX10IN")
    for position, uid in enumerate(box_uids(reply), start=1):
        if color:
            rgb = np.full((32, 32, 3), 60 * position, np.uint8)
            client.set_image(uid, position, color_item(rgb))
        else:
            client.gray(uid, position, np.full((32, 32), 900 * position, np.uint16))
    target = (sop_class.BasicFilmSession, session) if on_session else (sop_class.BasicFilmBox, box)
    status, answer = client.action(*target)
    assert status.Status == 0
    return str(answer[PRINT_JOB_SEQUENCE].value[0].ReferencedSOPInstanceUID), session


def _directory_server(tmp_path: Path, server_extra: str = "") -> Any:
    """A server in this process printing to a directory, as ``FILM``."""
    output = tmp_path / "output"
    printers = f'[[printers]]\nae_title = "FILM"\ndirectory = "{output}"\n'
    text = config_text(tmp_path / "spool", 0, printers)
    text = text.replace("[spool]", f"{server_extra}\n[spool]", 1)
    return start_in_process(parse_config(text))


def _cups_config(tmp_path: Path, queue: CupsQueue, port: int = 0) -> Path:
    path = tmp_path / "printserver.toml"
    printers = f'[[printers]]\nae_title = "FILM"\ncups_queue = "{queue.queue}"\n'
    path.write_text(
        config_text(tmp_path / "spool", port, printers, f'[cups]\nserver = "{queue.server}"\n')
    )
    return path


@pytest.mark.parametrize("color", [False, True], ids=["gray", "colour"])
@pytest.mark.parametrize("on_session", [False, True], ids=["film-box", "film-session"])
@pytest.mark.timed
def test_done_reaches_the_waiting_modality_within_two_seconds_of_the_film(
    cups_queue: CupsQueue, tmp_path: Path, color: bool, on_session: bool
) -> None:
    running = start_in_process(parse_config(_cups_config(tmp_path, cups_queue).read_text()))
    try:
        heard = Heard()
        client = _client(running.port, heard, color=color)
        print_job, session_uid = _print(client, color=color, on_session=on_session)
        (film,) = cups_queue.sink.wait_for(1, timeout=60)
        heard.wait_for(DONE)
        arrived, _, uid, info = next(e for e in heard.events if e[1] == DONE)
        assert uid == print_job  # the Print Job of the N-ACTION reply
        assert arrived - film.stat().st_mtime < 2.0
        assert info is not None and info.ExecutionStatusInfo == "NORMAL"
        assert info.FilmSessionLabel == "EVENTS" and info.PrinterName
        # no event before the N-ACTION response; types in order, none twice
        first_event = next(i for i, name in enumerate(heard.log) if "EVENT_REPORT" in name)
        action = next(i for i, name in enumerate(heard.log) if "N_ACTION" in name)
        assert action < first_event, heard.log
        types = [e[1] for e in heard.events]
        assert types == sorted(set(types)) and types[-1] == DONE
        status, job = client.get(sop_class.PrintJob, print_job, meta=False)
        assert status.Status == 0 and job.ExecutionStatus == "DONE"  # N-GET agrees
        assert client.delete(sop_class.BasicFilmSession, session_uid).Status == 0
        assert client.established
        client.release()
        assert client.assoc.is_released
    finally:
        running.server.stop()


@pytest.mark.timed
def test_an_operator_cancel_reaches_the_waiting_modality_as_failure(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    config = _cups_config(tmp_path, cups_queue)
    running = start_in_process(parse_config(config.read_text()))
    try:
        cups_queue.cups.stop()  # the film cannot be delivered: it waits in the spool
        heard = Heard()
        client = _client(running.port, heard)
        print_job, _ = _print(client)
        (job,) = wait_for_jobs(running.spool, 1, {"pending", "printing", "held"}, timeout=30)
        result = run_cli(config, "queue", "cancel", job.job_id)  # another process, as operators do
        assert result.returncode == 0, result.stderr
        heard.wait_for(FAILURE, timeout=10)
        arrived, _, uid, info = next(e for e in heard.events if e[1] == FAILURE)
        canceled = SpoolStore(running.spool).get(job.job_id)
        assert canceled.state is JobState.CANCELED
        assert uid == print_job and arrived - canceled.updated.timestamp() < 3.0
        assert info is not None and info.ExecutionStatusInfo
        assert DONE not in [e[1] for e in heard.events]
        client.release()
    finally:
        running.server.stop()


def test_without_print_job_negotiated_no_event_and_no_print_job_reference(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    running = start_in_process(parse_config(_cups_config(tmp_path, cups_queue).read_text()))
    try:
        heard = Heard()
        optional = tuple(uid for uid in OPTIONAL if uid != sop_class.PrintJob)
        client = PrintClient(
            running.port, "FILM", "US_ROOM2", optional=optional, handlers=heard.handlers()
        )
        _, session = client.session()
        _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
        client.gray(box_uids(reply)[0], 1, np.full((16, 16), 900, np.uint16))
        status, answer = client.action(sop_class.BasicFilmBox, box)
        assert status.Status == 0 and not answer
        cups_queue.sink.wait_for(1, timeout=60)
        wait_for_jobs(running.spool, 1, {"done"})
        time.sleep(1.5)  # longer than a channel's look
        assert heard.events == [] and not [n for n in heard.log if "EVENT_REPORT" in n]
        client.release()
    finally:
        running.server.stop()


def _three_films(port: int, calling: str, results: dict[str, list[int]]) -> None:
    heard = Heard()
    client = _client(port, heard, calling=calling)
    done = []
    for film in range(3):
        print_job, session_uid = _print(client)
        heard.wait_for(DONE, count=film + 1, timeout=120)
        done += [e[1] for e in heard.events if e[2] == print_job and e[1] == DONE]
        assert client.delete(sop_class.BasicFilmSession, session_uid).Status == 0
    client.release()
    results[calling] = done


def test_eight_modalities_each_hear_the_done_of_each_of_their_three_films(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    port = free_port()
    config = _cups_config(tmp_path, cups_queue, port)
    server = ServerProcess(config, port, tmp_path, tmp_path / "server.log")
    server.start()
    try:
        results: dict[str, list[int]] = {}
        threads = [
            threading.Thread(target=_three_films, args=(port, f"MOD{n}", results)) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert server.process is not None
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        peak_mb = (
            int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
            / 1024
        )
    finally:
        server.stop()
    assert sorted(results) == [f"MOD{n}" for n in range(8)], results
    assert all(done == [DONE] * 3 for done in results.values()), results
    print(f"8 modalities x 3 films, each waiting for DONE: server peak RSS {peak_mb:.0f} MB")
    assert peak_mb <= 400, peak_mb
    log = (tmp_path / "server.log").read_text()
    assert log.count(" DONE: N-EVENT-REPORT to ") == 24


@pytest.mark.timed
def test_a_modality_that_never_answers_an_event_is_cut_off_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = _directory_server(tmp_path, "dimse_timeout = 2.0")
    try:
        deaf = Heard(answer=threading.Event())  # its handler never returns in time
        silent = _client(running.port, deaf, calling="DEAF")
        _print(silent)
        started = time.monotonic()
        heard = Heard()
        other = _client(running.port, heard, calling="CT_ROOM2")
        _print(other)
        heard.wait_for(DONE, timeout=10)
        assert time.monotonic() - started < 5.0  # not held up by the deaf one
        other.release()
        deadline = time.monotonic() + 10
        while silent.established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not silent.established  # aborted after the 2 s DIMSE timeout
        deaf.answer.set()
    finally:
        running.server.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    cut = [w for w in warnings if "was not answered within 2 s" in w]
    assert len(cut) == 1 and "DEAF" in cut[0], warnings
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_an_association_waiting_for_done_outlives_the_network_timeout(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    config = _cups_config(tmp_path, cups_queue)
    text = config.read_text().replace("[spool]", "network_timeout = 2.0\n[spool]", 1)
    running = start_in_process(parse_config(text))
    try:
        cups_queue.cups.reject(cups_queue.queue)  # the film waits at the spool for a while
        heard = Heard()
        client = _client(running.port, heard)
        _print(client)
        time.sleep(4.0)  # twice the network timeout, waiting for DONE
        assert client.established
        cups_queue.cups.accept(cups_queue.queue)
        heard.wait_for(DONE, timeout=60)
        assert client.established
        client.release()
    finally:
        running.server.stop()


@pytest.mark.timed
def test_a_request_sent_while_an_event_waits_for_its_answer_is_answered(tmp_path: Path) -> None:
    running = _directory_server(tmp_path)
    try:
        heard = Heard(answer=threading.Event())  # holds the event's answer back
        client = _client(running.port, heard)
        print_job, _ = _print(client)
        assert heard.arrived.wait(30)  # the event is out, its answer not yet
        asked = time.monotonic()
        status, job = client.get(sop_class.PrintJob, print_job, meta=False)
        assert status.Status == 0 and job.ExecutionStatus == "DONE"
        assert time.monotonic() - asked < 2.0
        heard.answer.set()
        heard.wait_for(DONE, timeout=10)
        assert [e[1] for e in heard.events] == [DONE]
        assert client.established
        client.release()
    finally:
        running.server.stop()


@pytest.mark.parametrize("how", ["release", "abort"])
def test_a_modality_that_leaves_before_done_ends_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    running = _directory_server(tmp_path)
    try:
        heard = Heard()
        client = _client(running.port, heard)
        _print(client)
        client.release() if how == "release" else client.assoc.abort()
        wait_for_jobs(running.spool, 1, {"done"})
        time.sleep(1.5)  # longer than a channel's look
        threads = [t.name for t in threading.enumerate() if t.name.startswith("Events@")]
        assert threads == []  # the association's event thread is gone with it
    finally:
        running.server.stop()
    bad = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert bad == []


class _SlowReactor(threading.Event):
    """A requestor reactor that runs late, as on a loaded machine: 30 ms after each checkpoint."""

    def wait(self, timeout: float | None = None) -> bool:
        passed = super().wait(timeout)
        time.sleep(0.03)
        return passed


def test_events_crossing_a_busy_modality_s_requests_lose_nothing(tmp_path: Path) -> None:
    """The modality asks the Printer's status without pause while its films print, and its
    reactor runs late, so events and its requests cross: each request still gets its own
    answer, and each film's DONE arrives once."""
    running = _directory_server(tmp_path)
    try:
        heard = Heard()
        client = _client(running.port, heard)
        client.assoc._reactor_checkpoint = _SlowReactor()
        client.assoc._reactor_checkpoint.set()
        jobs = []
        for _ in range(3):
            print_job, session_uid = _print(client)
            jobs.append(print_job)
            assert client.delete(sop_class.BasicFilmSession, session_uid).Status == 0
        asked = 0
        deadline = time.monotonic() + 30
        while sum(1 for e in heard.events if e[1] == DONE) < 3 and time.monotonic() < deadline:
            status, printer = client.get(sop_class.Printer, "1.2.840.10008.5.1.1.17")
            assert status.Status == 0 and printer.PrinterStatus == "NORMAL"
            asked += 1
        assert sorted(e[2] for e in heard.events if e[1] == DONE) == sorted(jobs), heard.events
        assert asked > 0 and client.established
        client.release()
    finally:
        running.server.stop()
