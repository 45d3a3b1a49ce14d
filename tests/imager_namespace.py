"""DCMTK's ``dcmprscp`` as the film imager behind our server, in a network namespace.

dcmprscp binds every interface, so it only runs in a namespace of its own
(``unshare -n``, loopback up), where this script also runs our server and the
modalities.  Run as ``python -m tests.imager_namespace OUT.json`` by
``tests/test_dicom_printer.py``.  Two films reach our server, one from a
pynetdicom SCU and one from DCMTK's ``dcmprscu``; our DICOM printer sends them on
to dcmprscp, which stores them as Stored Print and Hardcopy Grayscale Image objects.
What it stored, and what was sent, are written to OUT.json for the test to compare.

``python -m tests.imager_namespace OUT.json composed``: our printer composes instead
(``mode = "composed"``, 100 dpi); one pynetdicom film of :func:`ramps` goes through, and
the pixels of the one image dcmprscp stored are written to OUT.npy beside OUT.json.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom

from printserver.config import parse_config
from printserver.model.sop_classes import GRAYSCALE_IMAGE_BOX
from printserver.order.index import OrderIndex
from printserver.order.received import receive
from printserver.spool.store import SpoolStore
from tests.dcmtk import (
    DCMPRSCP_SECTION,
    dcmprscp_config,
    print_with_dcmtk,
    write_ct_like_image,
)
from tests.print_client import PrintClient, box_uids
from tests.server_harness import (
    config_text,
    free_port,
    start_in_process,
    wait_for_jobs,
    wait_for_port,
)

STORED_PRINT = "1.2.840.10008.5.1.1.27"
HARDCOPY_GRAYSCALE = "1.2.840.10008.5.1.1.29"
IMAGER = "DCMPRSCP"


def _die_with_parent() -> None:
    """dcmprscp ends with this script, however it ends (PR_SET_PDEATHSIG, SIGTERM)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)


def _digest(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype="<u2").tobytes()).hexdigest()


def ramps() -> list[np.ndarray]:
    base = np.arange(64 * 80, dtype=np.int64).reshape(64, 80) * 4095 // (64 * 80 - 1)
    return [((base + shift) % 4096).astype(np.uint16) for shift in (0, 1024, 2048, 3072)]


def _stored(database: Path) -> list[dict[str, Any]]:
    """Each Stored Print dcmprscp kept: its display format and, per box, the image's digest."""
    images: dict[str, dict[str, Any]] = {}
    prints = []
    for path in sorted(database.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        if ds.SOPClassUID == HARDCOPY_GRAYSCALE:
            images[ds.SOPInstanceUID] = {
                "bits": int(ds.BitsStored),
                "digest": _digest(ds.pixel_array),
                "shape": list(ds.pixel_array.shape),
            }
            np.save(database / f"{ds.SOPInstanceUID}.npy", ds.pixel_array)
        elif ds.SOPClassUID == STORED_PRINT:
            prints.append(ds)
    films = []
    for stored in prints:
        box = stored.FilmBoxContentSequence[0]
        boxes = {}
        for item in stored.ImageBoxContentSequence:
            uid = item.ReferencedImageSequence[0].ReferencedSOPInstanceUID
            boxes[int(item.ImageBoxPosition)] = images.get(uid)
        films.append({"format": str(box.ImageDisplayFormat), "boxes": boxes})
    return films


def _received(spool: Path, title: str) -> list[str]:
    """Digests of the images our server received for the job called ``title``, by position
    of their N-SETs: what the modality sent, as the spool kept it."""
    store = SpoolStore(spool)
    job = next(job for job in store.list() if job.title == title)
    index = OrderIndex.load((store.path(job.job_id) / "objects" / "index.json").read_bytes())
    digests = []
    for step in index.steps:
        if step.operation == "N-SET" and step.class_uid == GRAYSCALE_IMAGE_BOX:
            data = (store.path(job.job_id) / "objects" / step.file).read_bytes()
            pixels = receive(data, step.syntax).pixel_data("BasicGrayscaleImageSequence")
            digests.append(hashlib.sha256(bytes(pixels or b"")).hexdigest())
    return digests


def main(out: Path, composed: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="imager-") as tmp:
        root = Path(tmp)
        imager = root / "imager"
        for sub in ("database", "spool", "log"):
            (imager / sub).mkdir(parents=True)
        imager_port = free_port()
        (imager / "dcmprscp.cfg").write_text(dcmprscp_config(IMAGER, imager_port))
        process = subprocess.Popen(
            ["dcmprscp", "-c", "dcmprscp.cfg", "-p", DCMPRSCP_SECTION],
            env=dict(os.environ, TCP_NODELAY="1"),
            cwd=imager,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            wait_for_port(imager_port)
            printer = (
                f'[[printers]]\nae_title = "PRINTSERVER"\n{"dpi = 100" if composed else ""}\n'
                f'[printers.dicom]\nhost = "127.0.0.1"\nport = {imager_port}\n'
                f'called_ae = "{IMAGER}"\ntimeout = 30\nmode = '
                f'"{"composed" if composed else "as_sent"}"\n'
            )
            config = parse_config(config_text(root / "spool", 0, printer))
            ours = start_in_process(config)
            try:
                sent = ramps()
                client = PrintClient(ours.port)
                _, session = client.session()
                _, box, reply = client.film_box(session, "STANDARD\\2,2", FilmSizeID="8INX10IN")
                for position, (uid, image) in enumerate(zip(box_uids(reply), sent, strict=True), 1):
                    client.gray(uid, position, image)
                client.action("1.2.840.10008.5.1.1.2", box)
                client.release()
                jobs = wait_for_jobs(root / "spool", 1, {"done", "held", "failure"}, timeout=60)
                if composed:
                    time.sleep(0.5)  # dcmprscp writes its database as each association ends
                    _write_composed(out, jobs, imager / "database")
                    return
                dcmtk_image = write_ct_like_image(root / "ct.dcm", 128, 96, level=1500)
                work = root / "dcmprscu"
                work.mkdir()
                result = print_with_dcmtk(
                    work,
                    [dcmtk_image],
                    "127.0.0.1",
                    ours.port,
                    "PRINTSERVER",
                    layout=(1, 1),
                    filmsize="8INX10IN",
                )
                jobs = wait_for_jobs(root / "spool", 2, {"done", "held", "failure"}, timeout=60)
            finally:
                ours.server.stop()
            time.sleep(0.5)  # dcmprscp writes its database as each association ends
            answer = {
                "jobs": sorted((job.title, str(job.state), job.last_error or "") for job in jobs),
                "dcmprscu_errors": result.errors,
                "sent": {str(n): _digest(image) for n, image in enumerate(sent, 1)},
                "dcmtk_sent": _received(root / "spool", "DCMPRSCU film"),
                "stored": _stored(imager / "database"),
            }
        finally:
            process.terminate()
            process.wait(10)
    out.write_text(json.dumps(answer, indent=2))


def _write_composed(out: Path, jobs: list[Any], database: Path) -> None:
    stored = _stored(database)
    uids = sorted(database.rglob("*.npy"))
    if len(uids) == 1:
        np.save(out.with_suffix(".npy"), np.load(uids[0]))
    answer = {
        "jobs": [(job.title, str(job.state), job.last_error or "") for job in jobs],
        "stored": stored,
    }
    out.write_text(json.dumps(answer, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), composed=sys.argv[2:] == ["composed"])
