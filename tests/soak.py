"""The soak: several modalities printing short films one association after another, under load.

Each modality is its own process running pynetdicom, as a console would: for
every film it opens an association, creates a Film Session (labelled with the
film's name) and a ``STANDARD\\1,2`` Film Box, sets both Image Boxes, prints
with N-ACTION, deletes the Film Box and the Film Session, and releases.  Slow
modalities pause between messages, fast ones do not.  Beside the server run two
busy CPU loops and a writer that fsyncs and syncs the disk without pause.

The server is a real ``printserver serve`` process printing to a private cupsd
whose device is a loopback socket sink (tests/cups_harness.py), so every film
can be counted where it comes out: by its ``%%Title``, exactly once.

Run by hand (the release check)::

    .venv/bin/python -m tests.soak --modalities 4 --associations 200

``tests/test_soak.py`` runs a bounded form of it in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cups_harness import PrivateCups, SocketSink
from tests.requestor import guard_reactor
from tests.server_harness import REPO, ServerProcess, config_text, free_port

DIMSE_TIMEOUT = 20.0
"""What a modality waits for each answer, as the consoles that reported hangs did."""

SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
SYNC = (
    "import os, time\nend = time.monotonic() + {seconds}\nblock = os.urandom(1 << 20)\n"
    "while time.monotonic() < end:\n"
    "    with open({path!r}, 'wb') as f:\n"
    "        for _ in range(4): f.write(block)\n"
    "        f.flush(); os.fsync(f.fileno())\n"
    "    os.sync()\n"
)


@dataclass
class Association:
    """One modality's association, as it saw it."""

    modality: str
    label: str
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    error: str = ""
    client_log: list[str] = field(default_factory=list)
    """pynetdicom's own warnings and errors on the modality's side, with their times."""


def _film(assoc: Any, label: str, pause: float, record: Association) -> None:
    """The short film of the field report: two image N-SETs, N-ACTION, two N-DELETEs."""
    import numpy as np
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid
    from pynetdicom import sop_class

    from tests.print_client import GRAY_META, reference
    from tests.scu import image_item

    def step(name: str, send: Any) -> Any:
        if pause:
            time.sleep(pause)
        start = time.monotonic()
        reply = send()
        record.steps[name] = round(time.monotonic() - start, 4)
        status = reply[0] if isinstance(reply, tuple) else reply
        record.statuses[name] = int(status.Status) if status and "Status" in status else -1
        if record.statuses[name] != 0:
            raise RuntimeError(f"{name} answered {record.statuses[name]:#06x}")
        return reply

    session_uid, box_uid = generate_uid(), generate_uid()
    session = Dataset()
    session.FilmSessionLabel = label
    session.NumberOfCopies = "1"
    step(
        "create_session",
        lambda: assoc.send_n_create(
            session, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META, msg_id=1
        ),
    )
    box = Dataset()
    box.ImageDisplayFormat = "STANDARD\\1,2"
    box.FilmSizeID = "8INX10IN"
    box.ReferencedFilmSessionSequence = [reference(sop_class.BasicFilmSession, session_uid)]
    _, reply = step(
        "create_film_box",
        lambda: assoc.send_n_create(
            box, sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META, msg_id=2
        ),
    )
    image_boxes = [str(item.ReferencedSOPInstanceUID) for item in reply.ReferencedImageBoxSequence]
    for position, uid in enumerate(image_boxes, start=1):
        ds = Dataset()
        ds.ImageBoxPosition = position
        pixels = np.full((64, 64), 600 * position, np.uint16)
        ds.BasicGrayscaleImageSequence = [image_item(pixels)]
        step(
            f"set_image_{position}",
            lambda ds=ds, uid=uid, position=position: assoc.send_n_set(
                ds, sop_class.BasicGrayscaleImageBox, uid, meta_uid=GRAY_META, msg_id=2 + position
            ),
        )
    step(
        "action",
        lambda: assoc.send_n_action(
            None, 1, sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META, msg_id=10
        ),
    )
    step(
        "delete_film_box",
        lambda: assoc.send_n_delete(sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META, msg_id=11),
    )
    step(
        "delete_session",
        lambda: assoc.send_n_delete(
            sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META, msg_id=12
        ),
    )


def modality(port: int, called: str, name: str, count: int, pause: float) -> Iterator[Association]:
    """``count`` associations of one modality, one after another."""
    from pynetdicom import AE, sop_class

    from tests.print_client import GRAY_META

    heard: list[str] = []
    listener = _Listener(heard)
    logging.getLogger("pynetdicom").addHandler(listener)
    ae = AE(ae_title=name)
    ae.add_requested_context(GRAY_META)
    ae.add_requested_context(sop_class.Verification)
    ae.acse_timeout = ae.network_timeout = 30
    ae.dimse_timeout = DIMSE_TIMEOUT
    for index in range(count):
        label = f"{name}-{index:04d}"
        start = time.monotonic()
        record = Association(name, label, 0.0)
        assoc = guard_reactor(ae.associate("127.0.0.1", port, ae_title=called))
        try:
            if not assoc.is_established:
                raise RuntimeError("association not established")
            _film(assoc, label, pause, record)
            if not assoc.is_established:
                raise RuntimeError("association aborted")
            assoc.release()
        except Exception as exc:  # recorded and counted as a failed association
            record.error = f"{type(exc).__name__}: {exc}"
            if assoc.is_established:
                assoc.abort()
        record.seconds = round(time.monotonic() - start, 4)
        record.client_log, heard[:] = list(heard), []
        yield record


class _Listener(logging.Handler):
    def __init__(self, heard: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.heard = heard
        self.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.heard.append(self.format(record))


@contextmanager
def busy_machine(seconds: float, scratch: Path, loops: int = 2) -> Iterator[None]:
    """Busy CPU loops and a writer syncing the disk, for at most ``seconds``."""
    scripts = [SPIN.format(seconds=seconds)] * loops
    scripts.append(SYNC.format(seconds=seconds, path=str(scratch / "sync.bin")))
    load = [subprocess.Popen([sys.executable, "-c", script]) for script in scripts]
    try:
        yield
    finally:
        for process in load:
            process.kill()
            process.wait(10)


@dataclass
class Report:
    associations: list[Association]
    printed: list[str]
    warnings: list[str]

    @property
    def seconds(self) -> list[float]:
        return sorted(record.seconds for record in self.associations)

    @property
    def failed(self) -> list[Association]:
        return [record for record in self.associations if record.error]

    def percentile(self, q: float) -> float:
        values = self.seconds
        return values[min(len(values) - 1, int(q * len(values)))]

    def summary(self) -> str:
        values = self.seconds
        slowest = max(self.associations, key=lambda record: record.seconds)
        return (
            f"{len(values)} associations: p50 {statistics.median(values):.3f} s, "
            f"p99 {self.percentile(0.99):.3f} s, max {values[-1]:.3f} s "
            f"({slowest.label}: {slowest.steps}); {len(self.failed)} failed; "
            f"{len(self.printed)} films at the device, {len(set(self.printed))} distinct; "
            f"{len(self.warnings)} WARNING lines"
        )


TITLE = re.compile(rb"^%%Title: \(?([^()\s]+)", re.MULTILINE)


def _titles(sink: SocketSink) -> list[str]:
    titles = []
    for path in sink.files():
        found = TITLE.search(path.read_bytes()[:4096])
        titles.append(found.group(1).decode() if found else f"?{path.name}")
    return titles


def soak(
    modalities: int,
    associations: int,
    work: Path,
    *,
    busy: int = 2,
    slow_pause: float = 0.05,
    unanswered_warning: float = 5.0,
) -> Report:
    """Run the whole soak in ``work``; every film must reach the socket sink before it returns.
    The server warns of a request unanswered for ``unanswered_warning`` seconds."""
    sink = SocketSink(work / "device")
    cups = PrivateCups()
    cups.start()
    server: ServerProcess | None = None
    try:
        cups.add_queue("film", f"socket://127.0.0.1:{sink.port}/?snmp=false")
        port = free_port()
        printers = '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
        text = config_text(work / "spool", port, printers, f'[cups]\nserver = "{cups.server}"\n')
        text = text.replace("[server]\n", f"[server]\nunanswered_warning = {unanswered_warning}\n")
        config = work / "printserver.toml"
        config.write_text(text.replace('log_level = "DEBUG"', 'log_level = "INFO"'))
        server = ServerProcess(config, port, work, work / "server.log")
        server.start()
        records = _run_modalities(port, modalities, associations, work, busy, slow_pause)
        expected = sum(1 for record in records if "action" in record.statuses)
        with contextlib.suppress(TimeoutError):  # the report says how many came out
            sink.wait_for(expected, timeout=60 + expected * 0.5)
        time.sleep(1.0)  # a film printed twice would come out now
        warnings = [
            line
            for line in (work / "server.log").read_text(errors="replace").splitlines()
            if " WARNING " in line or " ERROR " in line or "Traceback" in line
        ]
        return Report(records, _titles(sink), warnings)
    finally:
        if server is not None:
            server.stop()
        cups.remove()
        sink.stop()


def _run_modalities(
    port: int, modalities: int, associations: int, work: Path, busy: int, slow_pause: float
) -> list[Association]:
    """Each modality in its own process; half of them slow."""
    commands = []
    for number in range(1, modalities + 1):
        pause = slow_pause if number % 2 == 0 else 0.0
        commands.append(
            [
                sys.executable,
                "-m",
                "tests.soak",
                "--modality",
                f"M{number}",
                "--port",
                str(port),
                "--associations",
                str(associations),
                "--pause",
                str(pause),
            ]
        )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    budget = 60 + associations * (DIMSE_TIMEOUT * 8 + 5)
    with busy_machine(budget, work, busy) if busy else contextlib.nullcontext():
        processes = [
            subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=REPO)
            for command in commands
        ]
        outputs = [process.communicate(timeout=budget)[0] for process in processes]
    records = []
    for output in outputs:
        for line in output.decode().splitlines():
            records.append(Association(**json.loads(line)))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modalities", type=int, default=4)
    parser.add_argument("--associations", type=int, default=200, help="per modality")
    parser.add_argument(
        "--busy", type=int, default=2, help="busy CPU loops beside the server (0: no load at all)"
    )
    parser.add_argument("--modality", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pause", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.modality:
        for record in modality(args.port, "FILM", args.modality, args.associations, args.pause):
            print(json.dumps(record.__dict__), flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="soak") as scratch:
        report = soak(args.modalities, args.associations, Path(scratch), busy=args.busy)
        print(report.summary())
        for record in report.failed:
            print(f"failed: {record.label} after {record.seconds} s: {record.error} {record.steps}")
            for line in record.client_log:
                print(f"  modality: {line}")
        for line in report.warnings[:20]:
            print(line)


if __name__ == "__main__":
    main()
