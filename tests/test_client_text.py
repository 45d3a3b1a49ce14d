"""Client text leaves the server safe: in PostScript, at CUPS, on the operator's terminal,
as job ids from the command line, and held to its VR at the DICOM edge."""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import sop_class

from printserver.net.status import status_dataset
from printserver.postscript.writer import DSC_TEXT_MAX, PageSpec, dsc_text, write_postscript
from printserver.sinks.base import SinkState, Submission
from printserver.sinks.cups import CupsSink
from printserver.spool.job import JobRequest, JobState
from printserver.spool.store import InvalidJobId, SpoolStore
from printserver.spool.worker import SpoolWorker
from printserver.terminal import EscapingFormatter, escape_controls
from tests.cups_harness import CupsQueue, PrivateCups, SocketSink
from tests.ghostscript import render_gray8
from tests.print_client import PrintClient, box_uids, output_files, reference
from tests.server_harness import (
    InProcessServer,
    config_text,
    directory_config,
    run_cli,
    start_in_process,
)

pytestmark = pytest.mark.integration
INVERT = "X\n{1 exch sub} settransfer\n%"
UNBALANCED = "DOE^JANE) CT\n) showpage ("
POSTSCRIPT_OPERATORS = [
    INVERT,
    UNBALANCED,
    ")",
    "(",
    "\\",
    "%%EOF",
    "\r\n%%EndComments\r",
    "\f{erasepage} exec",
    "<41> show",
    "\\)\\(\\\\",
    ")" * 300,
]
BROKEN = {"unbalanced": b"%!PS\n(unbalanced show\n", "undefined": b"%!PS\n/foo cvx exec\n"}


# 1. PostScript ---------------------------------------------------------------------------


def _not_one_string(text: str) -> bool:
    """True unless ``text`` is one PostScript string that closes at its last character."""
    if not text.startswith("("):
        return True
    depth, escaped = 0, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index != len(text) - 1
    return True  # never closed


@pytest.mark.parametrize(
    "value",
    [chr(code) for code in range(256)]
    + POSTSCRIPT_OPERATORS
    + ["".join(map(chr, range(256))), "\u202e\u2028\U0001f600"],
)
def test_dsc_text_is_one_printable_ascii_string(value: str) -> None:
    text = dsc_text(value)
    assert all(0x20 <= ord(char) <= 0x7E for char in text), ascii(text)
    assert not _not_one_string(text), text
    assert len(text) <= DSC_TEXT_MAX + 2


def _ps(path: Path, title: str, media: str = "14INX17IN") -> bytes:
    raster = np.full((48, 36), 1500, np.uint16)
    with open(path, "wb") as out:
        write_postscript(out, [PageSpec(36, 48, 72, media, lambda: raster)], title=title)
    return path.read_bytes()


def test_hostile_titles_and_media_render_like_plain_ones(tmp_path: Path) -> None:
    """The writer itself, given raw hostile strings: Ghostscript succeeds, pixels identical."""
    _ps(tmp_path / "plain.ps", "plain")
    plain = render_gray8(tmp_path / "plain.ps", 72)
    for number, title in enumerate([*POSTSCRIPT_OPERATORS, "".join(map(chr, range(256)))]):
        path = tmp_path / f"hostile-{number}.ps"
        data = _ps(path, title, media=title)
        header = data.split(b"%%EndComments\n", 1)[0].splitlines()
        assert all(line.startswith(b"%") for line in header), header
        assert all(
            line.startswith(b"%%")
            for line in data.split(b"\n")
            if b"settransfer" in line or b"showpage (" in line
        )
        pages = render_gray8(path, 72)  # raises when Ghostscript fails
        assert len(pages) == 1 and np.array_equal(pages[0], plain[0]), ascii(title)


def _labelled_film(port: int, label: str, annotation: str = "") -> int:
    client = PrintClient(port)
    status, session = client.session(FilmSessionLabel=label)
    format_id = {"AnnotationDisplayFormatID": "LABEL"} if annotation else {}
    _, box, reply = client.film_box(session, FilmSizeID="8INX10IN", **format_id)
    if annotation:
        (note,) = box_uids(reply, "ReferencedBasicAnnotationBoxSequence")
        client.annotate(note, 1, annotation)
    client.gray(box_uids(reply)[0], 1, np.full((16, 16), 1500, np.uint16))
    assert client.action(sop_class.BasicFilmBox, box)[0].Status in (0, 0x0116)
    client.release()
    return status


def test_hostile_labels_print_the_same_film(server: InProcessServer, tmp_path: Path) -> None:
    port = server.port
    statuses = [
        _labelled_film(port, "PLAIN"),
        _labelled_film(port, INVERT),
        _labelled_film(port, UNBALANCED),
        _labelled_film(port, "A)B", annotation="ANNOT-7c1 (x) %!"),
    ]
    films = output_files(tmp_path / "output", 4)
    rasters = [render_gray8(path, 20)[0] for path in films]  # raises when Ghostscript fails
    for raster in rasters[1:3]:
        assert np.array_equal(raster, rasters[0])
    assert statuses == [0, 0x0116, 0x0116, 0]  # the label's control characters were cleaned
    assert not np.array_equal(rasters[3], rasters[0])  # the annotation is ink on the film...
    assert b"ANNOT-7c1" not in films[3].read_bytes()  # ...and never PostScript text
    assert b"%%Title: (A\\)B)\n" in films[3].read_bytes()


# 2. What CUPS reports when the PostScript cannot be interpreted ----------------------------


@pytest.fixture
def raster_queue(private_cups: PrivateCups, socket_sink: SocketSink) -> CupsQueue:
    """A PCL laser queue: its filters run Ghostscript, unlike the PostScript ``cups_queue``."""
    device = f"socket://127.0.0.1:{socket_sink.port}/?snmp=false"
    private_cups.add_queue("raster", device, "drv:///sample.drv/laserjet.ppd")
    return CupsQueue(private_cups, socket_sink, "raster")


def _deliver(store: SpoolStore, sink: CupsSink, document: bytes) -> str:
    record = store.create(JobRequest(printer="FILM", title="t"), lambda out: out.write(document))
    worker = SpoolWorker(store, {"FILM": sink}, poll_interval=0.1)
    deadline = time.monotonic() + 60
    while not store.get(record.job_id).state.final and time.monotonic() < deadline:
        worker.run_once()
        time.sleep(0.1)
    return record.job_id


def test_a_film_ghostscript_fails_on_at_cups_ends_failed(
    raster_queue: CupsQueue, tmp_path: Path
) -> None:
    store = SpoolStore(tmp_path / "spool")
    store.open()
    sink = CupsSink("FILM", raster_queue.queue, raster_queue.server)
    for name, document in BROKEN.items():
        job = store.get(_deliver(store, sink, document))
        assert job.state is JobState.FAILURE, (name, job)
        assert job.state_info == "INVALID PAGE DES"
        assert job.last_error and "job-completed-with-errors" in job.last_error
        assert job.cups_job_id is not None
        assert sink.state(job.cups_job_id)[0] is SinkState.CANCELED  # cannot print later
    good = _ps(tmp_path / "good.ps", INVERT)  # our own writer, with a hostile title
    assert store.get(_deliver(store, sink, good)).state is JobState.DONE


def test_a_postscript_queue_reports_broken_postscript_completed(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    """The limit: no filter interprets PostScript on a PostScript queue (pstops copies it), so
    CUPS says completed whatever the printer makes of it.  The writer must be right."""
    sink = CupsSink("FILM", cups_queue.queue, cups_queue.server)
    document = tmp_path / "broken.ps"
    document.write_bytes(BROKEN["undefined"])
    job_id = sink.submit(Submission("printserver-broken", document), lambda _: None)
    assert job_id is not None
    deadline = time.monotonic() + 30
    while sink.state(job_id)[0] in (SinkState.PENDING, SinkState.PRINTING):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert sink.state(job_id)[0] is SinkState.DONE


# 3. The operator's terminal ---------------------------------------------------------------

HOSTILE_LABEL = "A\x1b[31mB\x07\nFAKE-ROW\x9b2J\\"


def _raw_controls(text: str) -> list[str]:
    return [char for char in text if char != "\n" and unicodedata.category(char) == "Cc"]


@pytest.mark.parametrize("code", [*range(0x20), *range(0x7F, 0xA0), 0x202E, 0x2028])
def test_escape_controls_leaves_nothing_a_terminal_acts_on(code: int) -> None:
    shown = escape_controls(f"a{chr(code)}b\\")
    assert shown.startswith("a\\") and shown.endswith("b\\\\") and shown.isprintable()


@pytest.fixture
def spool_site(tmp_path: Path) -> tuple[Path, SpoolStore, str]:
    """A configuration file, its spool and one job whose client text is hostile."""
    printers = f'[[printers]]\nae_title = "FILM"\ndirectory = "{tmp_path / "output"}"\n'
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, printers))
    store = SpoolStore(tmp_path / "spool")
    store.open()
    job = store.create(
        JobRequest(printer="FILM", calling_ae="CT\x1b]0;x\x07", title=HOSTILE_LABEL),
        lambda out: out.write(b"%!PS\n"),
    )
    store.update(job.job_id, lambda r: r.model_copy(update={"last_error": "jam\r\n\x85row"}))
    return config, store, job.job_id


def test_queue_list_and_show_escape_client_text(spool_site: tuple[Path, SpoolStore, str]) -> None:
    config, _, job_id = spool_site
    listing = run_cli(config, "queue", "list")
    assert listing.returncode == 0 and not _raw_controls(listing.stdout), ascii(listing.stdout)
    header, *rows = listing.stdout.splitlines()
    assert header.startswith("JOB") and len(rows) == 1 and rows[0].startswith(job_id)
    assert "A\\e[31mB\\a\\nFAKE-ROW\\x9b2J" in rows[0] and "jam\\r\\n\\x85row" in rows[0]
    shown = run_cli(config, "queue", "show", job_id)
    assert shown.returncode == 0 and not _raw_controls(shown.stdout), ascii(shown.stdout)
    lines = shown.stdout.splitlines()
    fields = {line[:18].strip(): line[20:] for line in lines[: lines.index("history:")]}
    assert len(fields) == 17 and not any(line.startswith("FAKE-ROW") for line in lines)
    assert fields["label"] == "A\\e[31mB\\a\\nFAKE-ROW\\x9b2J\\\\"
    assert fields["calling AE"] == "CT\\e]0;x\\a"
    raw = json.loads(run_cli(config, "queue", "show", job_id, "--json").stdout)
    assert raw["title"] == HOSTILE_LABEL  # JSON keeps the data; json.dumps escapes it


# 4. Job ids from the command line -----------------------------------------------------------

MALFORMED = [
    "",
    "x" * 300,
    "../jobs",
    "a/b",
    "..",
    ".",
    "bad\x1b[2Jid\x07",
    "lock",
    "20261122-194023-ABD56B",
]


def _tree(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


def test_malformed_job_ids_get_one_line_and_exit_2(
    spool_site: tuple[Path, SpoolStore, str],
) -> None:
    config, store, _ = spool_site
    before = _tree(store.root)
    runs = [("show", [job_id]) for job_id in MALFORMED]
    runs += [
        (action, MALFORMED)
        for action in ("cancel", "hold", "release", "retry", "reprint", "rerender")
    ]
    runs += [("move", ["../x", "FILM"]), ("preview", ["a/b"])]
    for action, args in runs:
        result = run_cli(config, "queue", action, *args)
        lines = result.stderr.splitlines()
        expected = len(MALFORMED) if args is MALFORMED else 1
        assert result.returncode == 2, (action, args, result.stderr)
        assert len(lines) == expected and "Traceback" not in result.stderr, result.stderr
        assert all(
            line.startswith("printserver: no job ")
            and "not a job id" in line
            and not _raw_controls(line)
            for line in lines
        ), result.stderr
        assert result.stdout == ""
    assert _tree(store.root) == before  # nothing created, nothing changed


def test_the_store_refuses_malformed_ids_and_ignores_stray_entries(
    spool_site: tuple[Path, SpoolStore, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, store, job_id = spool_site
    for job_id_bad in MALFORMED:
        with pytest.raises(InvalidJobId):
            store.path(job_id_bad)
    (store.jobs_dir / "lock").touch()  # what ``queue cancel ''`` used to leave
    (store.jobs_dir / "not-a-job").mkdir()
    with caplog.at_level(logging.ERROR):
        assert [job.job_id for job in store.list()] == [job_id]
    assert caplog.records == []


# 5. Strings held to their VR at the DICOM edge ------------------------------------------------


def _session(client: PrintClient, **attrs: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    status, _ = client.assoc.send_n_create(
        ds, sop_class.BasicFilmSession, generate_uid(), meta_uid=client.meta, msg_id=client.msg()
    )
    return status


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[InProcessServer]:
    running = start_in_process(directory_config(tmp_path / "strict", "strict = true"))
    yield running
    running.server.stop()


def test_lenient_printer_cleans_text_and_warns(server: InProcessServer, tmp_path: Path) -> None:
    client = PrintClient(server.port)
    status, session = client.session(
        FilmSessionLabel="DOE^JANE\x1b[2J\nCT", OwnerID="O" * 20, NumberOfCopies="0000000000001"
    )
    assert status == 0x0116
    status, _, reply = client.film_box(session, FilmSizeID="8INX10IN\n{1 exch sub} settransfer")
    assert status == 0x0116 and reply is not None and reply.FilmSizeID == "14INX17IN"
    status, box, reply = client.film_box(
        session, "STANDARD\\1,1\x07", FilmSizeID="8inx10in", AnnotationDisplayFormatID="LABEL"
    )
    assert status == 0x0116  # the bell in Image Display Format (ST) is cleaned away
    (note,) = box_uids(reply, "ReferencedBasicAnnotationBoxSequence")
    assert client.annotate(note, 1, "NOTE\x07" + "x" * 80).Status == 0x0116
    assert client.annotate(note, 1, "PLAIN NOTE").Status == 0
    client.gray(box_uids(reply)[0], 1, np.full((16, 16), 1500, np.uint16))
    assert client.action(sop_class.BasicFilmSession, session)[0].Status == 0xB602  # 2 films
    bad_reference = Dataset()
    bad_reference.ImageDisplayFormat = "STANDARD\\1,1"
    bad_reference.ReferencedFilmSessionSequence = [
        reference(sop_class.BasicFilmSession, session + "\x1b")
    ]
    assert client.create(sop_class.BasicFilmBox, bad_reference)[0] == 0x0106  # no UID to mend
    client.release()
    client = PrintClient(server.port)
    assert _session(client, FilmSessionLabel="L" * 100).Status == 0x0116
    client.release()
    (job,) = SpoolStore(server.spool).list()
    assert job.title == "DOE^JANE [2J CT" and job.copies == 1
    (film,) = output_files(tmp_path / "output", 1)
    data = film.read_bytes()
    assert b"%%PageMedia: (14INX17IN)\n" in data and b"settransfer" not in data
    assert b"%%PageMedia: (8INX10IN)\n" in data and box


def test_strict_printer_refuses_what_breaks_the_vr(strict_server: InProcessServer) -> None:
    client = PrintClient(strict_server.port)
    for attrs, comment in (
        ({"FilmSessionLabel": INVERT}, "FilmSessionLabel: control character 0x0A in LO"),
        ({"FilmSessionLabel": "L" * 65}, "FilmSessionLabel: 65 characters, LO allows 64"),
        ({"FilmSessionLabel": "A\\B"}, "FilmSessionLabel: 2 values where one is allowed"),
        ({"OwnerID": "O" * 17}, "OwnerID: 17 characters, SH allows 16"),
        ({"NumberOfCopies": "0000000000001"}, "NumberOfCopies: 13 characters, IS allows"),
        ({"MediumType": "BLUE\x1bFILM"}, "MediumType: not a valid CS (character 0x1B)"),
    ):
        status = _session(client, **attrs)
        assert status.Status == 0x0106 and str(status.ErrorComment).startswith(comment[:61]), (
            attrs,
            status,
        )
    assert (
        _session(
            client, FilmSessionLabel="DOE^JANE CT", OwnerID="OWNER", MediumType="blue film"
        ).Status
        == 0
    )  # code strings are upper-cased
    client.release()


def test_log_lines_escape_client_text() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord(
        "printserver.net",
        logging.WARNING,
        __file__,
        1,
        "N-CREATE refused for %s",
        ("X\x1b]0;owned\x07\nFORGED",),
        None,
    )
    line = formatter.format(record)
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    assert line == "WARNING N-CREATE refused for X\\e]0;owned\\a\\nFORGED"


def test_error_comments_are_one_printable_ascii_value() -> None:
    comment = status_dataset(0x0106, "bad \\ value\x1b[2J\nü").ErrorComment
    assert comment == "bad / value?[2J??"
