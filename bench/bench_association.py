"""Time whole print associations against the server running as its own process.

A pynetdicom SCU prints the film of the field measurements: four 2048×2048
12-bit images, ``STANDARD\\2,2`` on 14INX17IN, over loopback with TCP_NODELAY.
Prints, per run, the whole association, the slowest image N-SET and the
N-ACTION; then the medians, and the server's peak RSS (VmHWM).  ``--max-pdu``
sets the Maximum Length the server advertises, to see what the PDU limit costs.
``--idle N`` holds N idle TCP connections open during the runs (they must cost
nothing).
Run: ``.venv/bin/python bench/bench_association.py [--runs 5] [--max-pdu 1048576]``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_server import free_port, guard_reactor, image_item, peak_rss_mb  # beside this script
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, sop_class

REPO = Path(__file__).resolve().parent.parent
META = sop_class.BasicGrayscalePrintManagementMeta


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the server did not start on port {port}")


def one_film(port: int, images: list[np.ndarray]) -> tuple[float, float, float]:
    """Whole association, slowest image N-SET and N-ACTION, in seconds."""
    start = time.perf_counter()
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(META)
    assoc = guard_reactor(ae.associate("127.0.0.1", port, ae_title="PRINTSERVER"))
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    session_uid, box_uid = generate_uid(), generate_uid()
    session = Dataset()
    session.NumberOfCopies = "1"
    assoc.send_n_create(session, sop_class.BasicFilmSession, session_uid, meta_uid=META, msg_id=1)
    box = Dataset()
    box.ImageDisplayFormat, box.FilmSizeID = "STANDARD\\2,2", "14INX17IN"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = (
        sop_class.BasicFilmSession,
        session_uid,
    )
    box.ReferencedFilmSessionSequence = [ref]
    _, reply = assoc.send_n_create(box, sop_class.BasicFilmBox, box_uid, meta_uid=META, msg_id=2)
    slowest = 0.0
    for position, (item, pixels) in enumerate(
        zip(reply.ReferencedImageBoxSequence, images, strict=True), start=1
    ):
        modification = Dataset()
        modification.ImageBoxPosition = position
        modification.BasicGrayscaleImageSequence = [image_item(pixels)]
        began = time.perf_counter()
        status, _ = assoc.send_n_set(
            modification,
            sop_class.BasicGrayscaleImageBox,
            item.ReferencedSOPInstanceUID,
            meta_uid=META,
            msg_id=2 + position,
        )
        slowest = max(slowest, time.perf_counter() - began)
        assert status.Status == 0, status
    began = time.perf_counter()
    status, _ = assoc.send_n_action(
        None, 1, sop_class.BasicFilmBox, box_uid, meta_uid=META, msg_id=20
    )
    action = time.perf_counter() - began
    assert status.Status in (0, 0xB603), status
    assoc.send_n_delete(sop_class.BasicFilmBox, box_uid, meta_uid=META, msg_id=21)
    assoc.send_n_delete(sop_class.BasicFilmSession, session_uid, meta_uid=META, msg_id=22)
    assoc.release()
    return time.perf_counter() - start, slowest, action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-pdu", type=int, default=None)
    parser.add_argument("--idle", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 4096, (2048, 2048), dtype=np.uint16) for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        pdu = f"max_pdu_size = {args.max_pdu}\n" if args.max_pdu else ""
        config = Path(tmp) / "printserver.toml"
        config.write_text(
            f'[server]\nport = {port}\nlog_level = "WARNING"\n{pdu}'
            f'[spool]\ndirectory = "{tmp}/spool"\n'
            f'[[printers]]\nae_title = "PRINTSERVER"\ndirectory = "{tmp}/output"\n'
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "printserver", "serve", "--config", str(config)], cwd=REPO
        )
        idle: list[socket.socket] = []
        try:
            _wait_for(port)
            idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
            one_film(port, images)  # warm-up
            runs = [one_film(port, images) for _ in range(args.runs)]
            for number, (whole, nset, action) in enumerate(runs, start=1):
                print(
                    f"run {number}: association {whole:.3f} s, slowest N-SET {nset * 1000:.0f} "
                    f"ms, N-ACTION {action * 1000:.0f} ms"
                )
            whole, nset, action = (statistics.median(column) for column in zip(*runs, strict=True))
            print(
                f"median of {args.runs}: association {whole:.3f} s, slowest N-SET "
                f"{nset * 1000:.0f} ms, N-ACTION {action * 1000:.0f} ms; server peak RSS "
                f"{peak_rss_mb(server.pid):.0f} MB; idle connections held: {len(idle)}"
            )
        finally:
            for sock in idle:
                sock.close()
            server.terminate()
            server.wait(20)


if __name__ == "__main__":
    main()
