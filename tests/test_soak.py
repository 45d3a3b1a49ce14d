"""Every request answered, under load: the soak, the requestor's race, and the request watch."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, sop_class

from printserver.metrics import render_metrics
from printserver.net.unanswered import HANDLING, WAITING, WRITING, RequestWatch
from printserver.print_queue import PrintQueue
from tests.print_client import GRAY_META, PrintClient, box_uids
from tests.requestor import guard_reactor
from tests.server_harness import InProcessServer, directory_config, start_in_process
from tests.soak import DIMSE_TIMEOUT, soak

# the bounded soak of `.ci/run`: about a minute on a 2-core machine; `python -m tests.soak`
# runs the release check (4 x 200)
SOAK_MODALITIES, SOAK_ASSOCIATIONS = 4, 40


@pytest.mark.alone
def test_the_soak_under_load_answers_every_request_and_prints_every_film_once(
    tmp_path: Path,
) -> None:
    """Behaviour, not speed (that is the release soak's and the benchmarks' to measure): every
    request is answered before the modality's DIMSE timeout gives up on it, and the server
    warns of none left that long, while the disk beside it syncs and the CPUs are busy."""
    report = soak(SOAK_MODALITIES, SOAK_ASSOCIATIONS, tmp_path, unanswered_warning=DIMSE_TIMEOUT)
    print(report.summary())
    assert len(report.associations) == SOAK_MODALITIES * SOAK_ASSOCIATIONS
    assert not report.failed, [(r.label, r.error, r.steps, r.client_log) for r in report.failed]
    assert sorted(report.printed) == sorted(r.label for r in report.associations), report.summary()
    assert not report.warnings, report.warnings[:5]


class _Descheduled(threading.Event):
    """A reactor checkpoint whose thread loses the CPU for a few ms right after passing it,
    as a loaded machine does now and then."""

    def wait(self, timeout: float | None = None) -> bool:
        passed = super().wait(timeout)
        time.sleep(random.uniform(0, 0.008))
        return passed


def _lost_responses(port: int, guarded: bool, associations: int) -> tuple[int, int, list[str]]:
    """Film Session N-CREATE and N-DELETE pairs with the reactor and the caller descheduled at
    the worst moments: (requests sent, responses lost, pynetdicom's warnings)."""
    heard: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: heard.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("pynetdicom").addHandler(handler)
    ae = AE(ae_title="RACE")
    ae.add_requested_context(GRAY_META)
    ae.dimse_timeout = 1
    sent = lost = 0
    try:
        for _ in range(associations):
            assoc = ae.associate("127.0.0.1", port, ae_title="PRINTSERVER")
            get_msg = assoc.dimse.get_msg

            def caller_descheduled(block: bool = False, get_msg: Any = get_msg) -> Any:
                if block:  # the caller loses the CPU right after sending its request
                    time.sleep(0.005)
                return get_msg(block)

            assoc.dimse.get_msg = caller_descheduled  # type: ignore[method-assign]
            if guarded:
                guard_reactor(assoc)
            assoc._reactor_checkpoint = _Descheduled()
            assoc._reactor_checkpoint.set()
            for message in range(1, 21, 2):
                uid, session = generate_uid(), Dataset()
                session.NumberOfCopies = "1"
                status, _ = assoc.send_n_create(
                    session, sop_class.BasicFilmSession, uid, meta_uid=GRAY_META, msg_id=message
                )
                sent += 1
                if "Status" not in status:
                    lost += 1
                    break
                status = assoc.send_n_delete(
                    sop_class.BasicFilmSession, uid, meta_uid=GRAY_META, msg_id=message + 1
                )
                sent += 1
                if "Status" not in status:
                    lost += 1
                    break
            if assoc.is_established:
                assoc.release()
    finally:
        logging.getLogger("pynetdicom").removeHandler(handler)
    return sent, lost, heard


def test_pynetdicom_requestor_loses_responses_its_reactor_takes_and_the_guard_keeps_them(
    server: InProcessServer,
) -> None:
    """The cause of the 20 s waits: the server answers at once, and pynetdicom's requestor
    reactor takes the answer away from the send_*() call waiting for it (tests/requestor.py)."""
    sent, lost, heard = _lost_responses(server.port, guarded=False, associations=4)
    assert lost >= 1, f"the race did not show in {sent} requests: the test no longer tests"
    assert any("Received unexpected N-" in line for line in heard), heard
    assert any("DIMSE timeout" in line for line in heard), heard
    sent, lost, heard = _lost_responses(server.port, guarded=True, associations=6)
    assert (sent, lost) == (120, 0), heard


def _slow_enqueue(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """A spool disk that takes ``seconds`` to make a film durable."""
    enqueue = PrintQueue.enqueue

    def slowly(self: PrintQueue, *args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return enqueue(self, *args, **kwargs)

    monkeypatch.setattr(PrintQueue, "enqueue", slowly)


@pytest.mark.timed
def test_a_request_unanswered_too_long_logs_one_warning_naming_where_it_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _slow_enqueue(monkeypatch, 1.6)
    config = directory_config(tmp_path, server_extra="unanswered_warning = 0.5")
    running = start_in_process(config)
    try:
        client = PrintClient(running.port, calling="SLOWDISK")
        _, session = client.session()
        _, box, reply = client.film_box(session)
        client.gray(box_uids(reply)[0], 1, np.full((16, 16), 900, np.uint16))
        with caplog.at_level(logging.WARNING, logger="printserver.net.unanswered"):
            status, _ = client.action(sop_class.BasicFilmBox, box)
        assert status.Status == 0  # late, but answered
        client.release()
        metrics = render_metrics(running.server.metrics).decode()
    finally:
        running.server.stop()
    late = [r.getMessage() for r in caplog.records if r.name == "printserver.net.unanswered"]
    assert len(late) == 1, late
    assert late[0].startswith("N-ACTION (message 4) of Basic Film Box SOP Class unanswered for")
    assert "from SLOWDISK at 127.0.0.1: in its handler, at " in late[0]
    assert "test_soak.py" in late[0] and "in slowly" in late[0]
    assert "printserver_requests_late_total 1.0" in metrics


def test_the_request_watch_follows_a_request_to_the_wire() -> None:
    late: list[int] = []
    watch = RequestWatch(5.0, lambda: late.append(1))
    key = (7, 3)
    watch.received(key, "from CT at 127.0.0.1", "N-SET (message 3)", None)
    assert watch.check(time.monotonic() + 4.9) == [] and watch.open_requests() == 1
    watch.handling(key, threading.get_ident())
    watch.answered(key, None, written_after=12)
    watch.written(7, 11)  # the response's last PDU is not out yet
    (pending,) = watch.check(time.monotonic() + 5.1)
    assert pending.stage == WRITING and late == [1]
    assert watch.check(time.monotonic() + 60) == []  # one warning per request
    watch.written(8, 12)  # another association's PDUs
    assert watch.open_requests() == 1
    watch.written(7, 12)
    assert watch.open_requests() == 0
    watch.received((7, 4), "from CT at 127.0.0.1", "N-GET (message 4)", None)
    watch.received((9, 1), "from MR at 127.0.0.1", "N-GET (message 1)", None)
    watch.forget(7)  # the association ended
    assert watch.open_requests() == 1
    # the DUL thread wrote the response before the association's thread said it queued it
    watch.received((9, 2), "from MR at 127.0.0.1", "N-SET (message 2)", None)
    watch.written(9, 4)
    watch.answered((9, 2), None, written_after=4)
    assert watch.open_requests() == 1  # only (9, 1) is left: message 2 is out
    assert [p.request for p in watch.check(time.monotonic() + 60)] == ["N-GET (message 1)"]
    assert {WAITING, HANDLING, WRITING} == {
        "waiting for its handler",
        "in its handler",
        "answer queued, not written",
    }
