"""Throughput of the server under N concurrent print clients, with DCMTK's dcmprscp beside it.

For each N of ``--clients`` a fresh server is started from its console script
with a configuration of its own (a free port on 127.0.0.1, a spool and a
directory printer in a temporary directory; with ``--cups`` a private cupsd
from ``tests/cups_harness.py`` whose queue prints to a loopback socket sink).
N pynetdicom SCUs, each its own process, start together and each prints the
film of ``bench_association.py`` (four 2048×2048 12-bit images,
``STANDARD\\2,2`` on 14INX17IN, TCP_NODELAY) ``--films`` times, one
association per film.  Printed per N: association time p50/p95, films per hour
from the first N-ACTION to the last document at the sink, latency from the
N-ACTION success to the document at the sink (p50), and the server's peak RSS
(VmHWM; one server per N, so the peak is that N's).

Then the same client against DCMTK's ``dcmprscp`` when it is installed.  It
binds every interface, so it runs in a network namespace of its own
(``unshare -n``) together with a child run of this script that drives the
clients and reports back in JSON.  dcmprscp serves one association at a time,
so it is measured with one client only; it stores Stored Print and Hardcopy
objects instead of rendering PostScript, so only the association time compares.

Run: ``.venv/bin/python bench/bench_server.py [--clients 1 4 8] [--films 3] [--cups]``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import json
import multiprocessing
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from types import FrameType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.uid import UID, generate_uid
from pynetdicom import AE, evt

REPO = Path(__file__).resolve().parent.parent
META = UID("1.2.840.10008.5.1.1.9")  # Basic Grayscale Print Management Meta
FILM_SESSION = UID("1.2.840.10008.5.1.1.1")
FILM_BOX = UID("1.2.840.10008.5.1.1.2")
GRAYSCALE_IMAGE_BOX = UID("1.2.840.10008.5.1.1.4")
PRINT_JOB = UID("1.2.840.10008.5.1.1.14")
CALLED_AE = "PRINTSERVER"
SUCCESS_OR_WARNING = {
    0x0000,
    0x0116,
    0xB600,
    0xB601,
    0xB602,
    0xB603,
    0xB604,
    0xB605,
    0xB609,
    0xB60A,
}
ANCHOR_MARK = "ANCHOR-RESULT "
DIMSE_TIMEOUT = 180.0
POLL_INTERVAL = 0.01
STEPS = (
    "A-ASSOCIATE",
    "N-CREATE session",
    "N-CREATE film box",
    "N-SET image 8 MB",
    "N-ACTION",
    "N-DELETE film box",
    "N-DELETE session",
    "A-RELEASE",
)
"""The round trips of one film, in order; each is timed from request sent to answer read."""
TITLE = re.compile(rb"%%Title: \((BENCH-[0-9]+-[0-9]+)\)")

Images = list[npt.NDArray[np.uint16]]
Results: TypeAlias = "Queue[tuple[int, list[dict[str, Any]] | str]]"
LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


# ---------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM when the benchmark itself dies, even by SIGKILL."""
    LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (libc is loaded before any fork)


def _stop(process: subprocess.Popen[bytes] | None, grace: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _sigterm_exits() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops what it started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{_tail(log)}")
        with socket.socket() as probe:
            probe.settimeout(1.0)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(
        f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s:\n{_tail(log)}"
    )


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return f"({path} unreadable)"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- the client


def _images() -> Images:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 4096, (2048, 2048), dtype=np.uint16) for _ in range(4)]


def image_item(pixels: npt.NDArray[np.uint16]) -> Dataset:
    item = Dataset()
    item.SamplesPerPixel, item.PhotometricInterpretation = 1, "MONOCHROME2"
    item.Rows, item.Columns = pixels.shape
    item.BitsAllocated, item.BitsStored, item.HighBit, item.PixelRepresentation = 16, 12, 11, 0
    item.PixelData = pixels.astype("<u2").tobytes()
    return item


@dataclass
class Film:
    """One film printed by one association; times from ``time.monotonic`` (system-wide)."""

    label: str
    started: float = 0.0
    released: float = 0.0
    action_sent: float = 0.0
    action_done: float = 0.0
    done_event: float = 0.0  # when the Print Job's DONE N-EVENT-REPORT arrived (ours only)
    waited: float = 0.0  # spent waiting for it before the release, not counted below
    error: str = ""
    steps: dict[str, list[float]] = field(default_factory=dict)
    """Seconds of each round trip, by step (:data:`STEPS`)."""

    def timed(self, step: str, began: float) -> None:
        self.steps.setdefault(step, []).append(time.monotonic() - began)

    @property
    def association(self) -> float:
        return self.released - self.started - self.waited

    @property
    def action_to_done(self) -> float | None:
        return self.done_event - self.action_sent if self.done_event else None


def _tests_importable() -> None:
    """The repository's ``tests`` package, whose harnesses the benchmark shares."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def guard_reactor(assoc: Any) -> Any:
    """pynetdicom's requestor with its lost-response race closed (tests/requestor.py)."""
    _tests_importable()
    from tests.requestor import guard_reactor as guard

    return guard(assoc)


def print_film(
    port: int, called_ae: str, label: str, images: Images, wait_done: bool = False
) -> Film:
    """One association: film session, film box, four image N-SETs, N-ACTION, deletes; with
    ``wait_done``, the release waits (up to a minute) for the Print Job's DONE event."""
    film = Film(label, started=time.monotonic())
    ae = AE(ae_title="BENCH")
    ae.acse_timeout, ae.dimse_timeout, ae.network_timeout = 30, DIMSE_TIMEOUT, DIMSE_TIMEOUT
    ae.add_requested_context(META)
    done = threading.Event()

    def on_event(event: Any) -> tuple[int, None]:
        if int(event.event_type) in (3, 4):  # DONE, FAILURE
            film.done_event = time.monotonic()
        return 0, None

    def on_sent(event: Any) -> None:
        # the release waits until the answer to DONE is on the wire: after its A-RELEASE-RQ
        # a requestor may send nothing more (PS3.8 9.2, Sta7), and pynetdicom's DIMSE_SENT
        # comes before the message is queued; the only P-DATA sent after DONE is its answer
        if film.done_event and type(event.pdu).__name__ == "P_DATA_TF":
            done.set()

    handlers = []
    if wait_done:
        ae.add_requested_context(PRINT_JOB)
        handlers = [(evt.EVT_N_EVENT_REPORT, on_event), (evt.EVT_PDU_SENT, on_sent)]
    began = time.monotonic()
    assoc = guard_reactor(
        ae.associate("127.0.0.1", port, ae_title=called_ae, evt_handlers=handlers)
    )
    if not assoc.is_established:
        film.error = "association not established"
        return film
    film.timed("A-ASSOCIATE", began)
    try:
        connection = assoc.dul.socket.socket if assoc.dul.socket is not None else None
        if connection is not None:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session_uid, box_uid = generate_uid(), generate_uid()
        session = Dataset()
        session.NumberOfCopies, session.FilmSessionLabel = "1", label
        began = time.monotonic()
        status, _ = assoc.send_n_create(session, FILM_SESSION, session_uid, meta_uid=META, msg_id=1)
        film.timed("N-CREATE session", began)
        _check(status, "film session N-CREATE")
        box = Dataset()
        box.ImageDisplayFormat, box.FilmSizeID = "STANDARD\\2,2", "14INX17IN"
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = (FILM_SESSION, session_uid)
        box.ReferencedFilmSessionSequence = [ref]
        began = time.monotonic()
        status, reply = assoc.send_n_create(box, FILM_BOX, box_uid, meta_uid=META, msg_id=2)
        film.timed("N-CREATE film box", began)
        _check(status, "film box N-CREATE")
        if reply is None or "ReferencedImageBoxSequence" not in reply:
            raise RuntimeError("film box N-CREATE: no image boxes in the reply")
        for position, (item, pixels) in enumerate(
            zip(reply.ReferencedImageBoxSequence, images, strict=True), start=1
        ):
            modification = Dataset()
            modification.ImageBoxPosition = position
            modification.BasicGrayscaleImageSequence = [image_item(pixels)]
            began = time.monotonic()
            status, _ = assoc.send_n_set(
                modification,
                GRAYSCALE_IMAGE_BOX,
                item.ReferencedSOPInstanceUID,
                meta_uid=META,
                msg_id=2 + position,
            )
            film.timed("N-SET image 8 MB", began)
            _check(status, f"image box {position} N-SET")
        film.action_sent = time.monotonic()
        status, _ = assoc.send_n_action(None, 1, FILM_BOX, box_uid, meta_uid=META, msg_id=20)
        film.action_done = time.monotonic()
        film.timed("N-ACTION", film.action_sent)
        _check(status, "film box N-ACTION")
        began = time.monotonic()
        assoc.send_n_delete(FILM_BOX, box_uid, meta_uid=META, msg_id=21)
        film.timed("N-DELETE film box", began)
        began = time.monotonic()
        assoc.send_n_delete(FILM_SESSION, session_uid, meta_uid=META, msg_id=22)
        film.timed("N-DELETE session", began)
        if wait_done:
            waiting = time.monotonic()
            done.wait(60)
            film.waited = time.monotonic() - waiting
        began = time.monotonic()
        assoc.release()
        film.timed("A-RELEASE", began)
    except Exception as exc:  # reported with the figures
        film.error = str(exc) or type(exc).__name__
        assoc.abort()
    film.released = time.monotonic()
    return film


def _check(status: Dataset, what: str) -> None:
    code = int(getattr(status, "Status", -1))
    if code not in SUCCESS_OR_WARNING:
        raise RuntimeError(
            f"{what}: status 0x{code & 0xFFFF:04X}" if code >= 0 else f"{what}: no answer"
        )


def _client(
    index: int,
    port: int,
    called_ae: str,
    films: int,
    barrier: Barrier,
    results: Results,
    wait_done: bool,
) -> None:
    """One SCU process: build the images, wait for the others, print ``films`` films."""
    _die_with_parent()
    try:
        images = _images()
        barrier.wait(120)
        done = [
            print_film(port, called_ae, f"BENCH-{index}-{number}", images, wait_done).__dict__
            for number in range(films)
        ]
        results.put((index, done))
    except BaseException as exc:
        results.put((index, f"client {index}: {exc!r}"))


def run_clients(
    port: int, called_ae: str, clients: int, films: int, wait_done: bool = False
) -> list[Film]:
    """``clients`` SCU processes started together; every film they printed."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients + 1)
    results: Results = context.Queue()
    workers: list[SpawnProcess] = [
        context.Process(
            target=_client,
            args=(i, port, called_ae, films, barrier, results, wait_done),
            daemon=True,
        )
        for i in range(clients)
    ]
    try:
        for worker in workers:
            worker.start()
        barrier.wait(120)
        collected: list[Film] = []
        deadline = time.monotonic() + 60 + 2 * DIMSE_TIMEOUT * films
        for _ in workers:
            try:
                _, answer = results.get(timeout=max(1.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("clients did not finish in time") from None
            if isinstance(answer, str):
                raise RuntimeError(answer)
            collected.extend(Film(**film) for film in answer)
        return collected
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.terminate()
                worker.join(5)


# ---------------------------------------------------------------- the sink


class SinkWatch:
    """Notes when each document first shows up in a directory (polled every 10 ms)."""

    def __init__(self, directory: Path, pattern: str) -> None:
        self.directory, self.pattern = directory, pattern
        self.seen: dict[Path, float] = {}
        self._baseline = set(self._list())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _list(self) -> list[Path]:
        return list(self.directory.glob(self.pattern)) if self.directory.is_dir() else []

    def _watch(self) -> None:
        while not self._stop.wait(POLL_INTERVAL):
            now = time.monotonic()
            for path in self._list():
                if path not in self._baseline and path not in self.seen:
                    self.seen[path] = now

    def wait(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{len(self.seen)} of {count} documents reached the sink within {timeout:.0f} s"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def arrivals(self) -> dict[str, float]:
        """Film label (from the DSC title) → arrival time; unlabelled ones by order."""
        found: dict[str, float] = {}
        unlabelled = 0
        for path, when in sorted(self.seen.items(), key=lambda item: item[1]):
            with open(path, "rb") as document:
                match = TITLE.search(document.read(8192))
            if match:
                found[match.group(1).decode()] = when
            else:
                found[f"#{unlabelled}"] = when
                unlabelled += 1
        return found


# ---------------------------------------------------------------- our server


@dataclass
class Figures:
    clients: int
    films: list[Film]
    first_action: float = 0.0
    last_at_sink: float = 0.0
    latencies: list[float] = field(default_factory=list)
    peak_rss_mb: float = float("nan")

    @property
    def good(self) -> list[Film]:
        return [film for film in self.films if not film.error]

    def association(self, percent: float) -> float:
        return _percentile([film.association for film in self.good], percent)

    @property
    def action_to_done(self) -> list[float]:
        """N-ACTION sent → the Print Job's DONE event received, of every film that heard it."""
        return [t for film in self.good if (t := film.action_to_done) is not None]

    @property
    def films_per_hour(self) -> float:
        span = self.last_at_sink - self.first_action
        return len(self.good) * 3600 / span if span > 0 else float("nan")


def _percentile(values: Sequence[float], percent: float) -> float:
    return float(np.percentile(values, percent)) if values else float("nan")


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "printserver"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "printserver"]


@contextlib.contextmanager
def _cups_queue(root: Path) -> Iterator[tuple[str, Path]]:
    """A private cupsd with a PostScript queue ``film`` → loopback socket sink."""
    _tests_importable()
    try:
        from tests.cups_harness import PrivateCups, SocketSink
    except ImportError as exc:
        raise RuntimeError(f"tests/cups_harness.py cannot be imported: {exc}") from exc

    sink = SocketSink(root / "device")
    cups = PrivateCups()
    try:
        cups.start()
        cups.add_queue("film", f"socket://127.0.0.1:{sink.port}/?snmp=false")
        yield cups.server, sink.directory
    finally:
        cups.remove()
        sink.stop()


def measure_ours(clients: int, films: int, use_cups: bool) -> Figures:
    with (
        tempfile.TemporaryDirectory(prefix="bench-server-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        root = Path(tmp)
        port = free_port()
        if use_cups:
            cups_server, sink_dir = stack.enter_context(_cups_queue(root))
            printer = f'cups_queue = "film"\ncups_server = "{cups_server}"\n'
            pattern = "job-*.prn"
        else:
            sink_dir = root / "output"
            printer = f'directory = "{sink_dir}"\n'
            pattern = "*.ps"
        config = root / "printserver.toml"
        config.write_text(
            f'[server]\nhost = "127.0.0.1"\nport = {port}\nlog_level = "WARNING"\n'
            f"max_associations = {max(10, clients + 2)}\n"
            f'[spool]\ndirectory = "{root}/spool"\n'
            f'[[printers]]\nae_title = "{CALLED_AE}"\n{printer}'
        )
        log = root / "server.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(
                [*_server_command(), "serve", "--config", str(config)],
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        stack.callback(_stop, server)
        _wait_for_port(port, server, log)
        warm = SinkWatch(sink_dir, pattern)
        try:
            film = print_film(port, CALLED_AE, "BENCH-warm-0", _images())
            if film.error:
                raise RuntimeError(f"warm-up film failed: {film.error}\n{_tail(log)}")
            warm.wait(1, 120)
        finally:
            warm.stop()
        watch = SinkWatch(sink_dir, pattern)
        try:
            done = run_clients(port, CALLED_AE, clients, films, wait_done=True)
            figures = Figures(clients, done)
            watch.wait(len(figures.good), 120 + 30 * len(done))
        finally:
            watch.stop()
        figures.peak_rss_mb = peak_rss_mb(server.pid)
        if server.poll() is not None:
            raise RuntimeError(f"the server exited during the run:\n{_tail(log)}")
        arrivals = watch.arrivals()
        good = figures.good
        if good:
            figures.first_action = min(film.action_sent for film in good)
            figures.last_at_sink = max(arrivals.values())
            by_order = sorted(good, key=lambda film: film.action_done)
            for number, film in enumerate(by_order):
                at_sink = arrivals.get(film.label, arrivals.get(f"#{number}"))
                if at_sink is not None:
                    figures.latencies.append(at_sink - film.action_done)
        return figures


# ---------------------------------------------------------------- dcmprscp


ANCHOR_ENVIRONMENT = {"TCP_NODELAY": "1"}
"""DCMTK leaves Nagle's algorithm on unless TCP_NODELAY is set in its environment; without
it every answer waits for the client's delayed ACK, and the anchor is handicapped."""
ANCHOR_MAX_PDU = 131072
"""dcmprscp's largest receive PDU (DCMTK's ASC_MAXIMUMPDUSIZE; tests/dcmtk.py writes its
configuration)."""
ANCHOR_SETTINGS = f"TCP_NODELAY=1, MaxPDU {ANCHOR_MAX_PDU} (its largest)"


def anchor_inside(films: int) -> None:
    """Inside the namespace: start dcmprscp, print with one client, answer in JSON."""
    _tests_importable()
    from tests.dcmtk import DCMPRSCP_SECTION, dcmprscp_config

    with tempfile.TemporaryDirectory(prefix="bench-dcmprscp-") as tmp:
        root = Path(tmp)
        for sub in ("database", "spool", "log"):
            (root / sub).mkdir()
        port = free_port()
        (root / "dcmprscp.cfg").write_text(dcmprscp_config(CALLED_AE, port, ANCHOR_MAX_PDU))
        log = root / "dcmprscp.log"
        process: subprocess.Popen[bytes] | None = None
        try:
            with open(log, "wb") as out:
                process = subprocess.Popen(
                    ["dcmprscp", "-c", "dcmprscp.cfg", "-p", DCMPRSCP_SECTION, "-ll", "warn"],
                    env=dict(os.environ, **ANCHOR_ENVIRONMENT),
                    cwd=root,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent,
                )
            _wait_for_port(port, process, log)
            warm = print_film(port, CALLED_AE, "BENCH-warm-0", _images())
            if warm.error:
                raise RuntimeError(f"warm-up film failed: {warm.error}\n{_tail(log)}")
            done = run_clients(port, CALLED_AE, 1, films)
            banner = subprocess.run(
                ["dcmprscp", "--version"], capture_output=True, text=True, timeout=10
            ).stdout
            version = next(iter(re.findall(r"dcmprscp v[0-9.]+", banner)), "dcmprscp")
            answer = {
                "films": [film.__dict__ for film in done],
                "peak_rss_mb": peak_rss_mb(process.pid),
                "version": version.strip(),
            }
        finally:
            _stop(process, 10)
        print(ANCHOR_MARK + json.dumps(answer), flush=True)


def measure_anchor(films: int) -> tuple[list[Film], float, str] | str:
    """dcmprscp in its own network namespace: the figures, or why they are missing."""
    missing = [tool for tool in ("dcmprscp", "unshare", "ip") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed"
    _tests_importable()
    from tests.dcmtk import in_network_namespace

    script = str(Path(__file__).resolve())
    command = in_network_namespace(
        [sys.executable, script, "--anchor-inside", "--films", str(films)]
    )
    child = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    limit = 120 + 2 * DIMSE_TIMEOUT * (films + 1)
    try:
        stdout, stderr = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _stop(child, 15)
        return f"no answer within {limit:.0f} s"
    except BaseException:
        _stop(child, 15)  # SIGTERM: the child stops dcmprscp before it exits
        raise
    for line in stdout.decode(errors="replace").splitlines():
        if line.startswith(ANCHOR_MARK):
            answer = json.loads(line[len(ANCHOR_MARK) :])
            return (
                [Film(**film) for film in answer["films"]],
                float(answer["peak_rss_mb"]),
                str(answer["version"]),
            )
    reason = (stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
    return f"exit status {child.returncode}: {reason}"


# ---------------------------------------------------------------- report


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value == value else "-"


def _step_p50(films: Sequence[Film], step: str) -> float:
    return _percentile([t for film in films for t in film.steps.get(step, [])], 50)


def print_steps(ours: Sequence[Film], anchor: Sequence[Film]) -> None:
    """Each round trip's p50 at one client, ours beside dcmprscp's: where the time goes."""
    print("round trips at 1 client, p50 (request sent → answer read by the client):")
    print(f"{'step':>20}  {'printserver':>12}  {'dcmprscp':>10}  {'ratio':>6}")
    for step in STEPS:
        mine, theirs = _step_p50(ours, step), _step_p50(anchor, step)
        ratio = f"{mine / theirs:.2f}" if theirs > 0 else "-"
        print(f"{step:>20}  {mine * 1000:>9.1f} ms  {theirs * 1000:>7.1f} ms  {ratio:>6}")


def _row(cells: Sequence[str]) -> str:
    widths = (8, 6, 10, 10, 8, 15, 8, 15, 8, 9)
    return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[1, 4, 8],
        help="numbers of concurrent clients, one server run each",
    )
    parser.add_argument("--films", type=int, default=3, help="films printed by each client")
    parser.add_argument(
        "--cups",
        action="store_true",
        help="print through a private cupsd to a loopback socket sink",
    )
    parser.add_argument("--no-anchor", action="store_true", help="skip dcmprscp")
    parser.add_argument("--anchor-inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.films < 1 or min(args.clients) < 1:
        parser.error("--clients and --films must be at least 1")
    _sigterm_exits()
    try:
        if args.anchor_inside:
            anchor_inside(args.films)
        else:
            report(args.clients, args.films, args.cups, not args.no_anchor)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def report(clients_list: Sequence[int], films: int, use_cups: bool, anchor: bool) -> None:
    """Measure every N, then dcmprscp, printing each line as soon as it is known."""
    began = time.monotonic()
    sink = "private cupsd → socket sink" if use_cups else "directory (PostScript files)"
    print(
        f"film: 4 × 2048×2048 12-bit, STANDARD\\2,2 on 14INX17IN; {films} films per client, "
        f"one association each; sink: {sink}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    print("printserver, a fresh server per row:")
    print(
        _row(
            (
                "clients",
                "films",
                "assoc p50",
                "assoc p95",
                "films/h",
                "ACTION→sink p50",
                "max",
                "ACTION→DONE p50",
                "max",
                "peak RSS",
            )
        )
    )
    ours: dict[int, Figures] = {}
    for clients in clients_list:
        try:
            figures = measure_ours(clients, films, use_cups)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"{clients:>8}  failed: {exc}", flush=True)
            continue
        ours[clients] = figures
        print(
            _row(
                (
                    str(clients),
                    f"{len(figures.good)}/{len(figures.films)}",
                    _seconds(figures.association(50)),
                    _seconds(figures.association(95)),
                    f"{figures.films_per_hour:.0f}",
                    _seconds(_percentile(figures.latencies, 50)),
                    _seconds(max(figures.latencies, default=float("nan"))),
                    _seconds(_percentile(figures.action_to_done, 50)),
                    _seconds(max(figures.action_to_done, default=float("nan"))),
                    f"{figures.peak_rss_mb:.0f} MB",
                )
            ),
            flush=True,
        )
        for film in figures.films:
            if film.error:
                print(f"  failed: {film.label}: {film.error}")
    if anchor:
        print(
            "dcmprscp (DCMTK) in its own network namespace, 1 client only (it serves one "
            f"association at a time), {ANCHOR_SETTINGS};\nit stores Stored Print and "
            "Hardcopy objects and renders no PostScript, so only the association time "
            "compares:",
            flush=True,
        )
        measured = measure_anchor(films)
        if isinstance(measured, str):
            print(f"  anchor skipped: {measured}")
        else:
            done, rss, version = measured
            reference = Figures(1, done, peak_rss_mb=rss)
            print(
                _row(
                    (
                        "1",
                        f"{len(reference.good)}/{len(done)}",
                        _seconds(reference.association(50)),
                        _seconds(reference.association(95)),
                        "-",
                        "-",
                        "-",
                        "-",
                        "-",
                        f"{rss:.0f} MB",
                    )
                )
                + f"  ({version})"
            )
            for film in done:
                if film.error:
                    print(f"  failed: {film.label}: {film.error}")
            if 1 in ours:
                print_steps(ours[1].good, reference.good)
                ratio = ours[1].association(50) / reference.association(50)
                print(
                    f"association time p50 at 1 client, printserver / dcmprscp "
                    f"({ANCHOR_SETTINGS}): {ratio:.2f}"
                )
    print(f"run took {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
