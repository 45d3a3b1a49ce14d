"""Request data sets read in place (PS3.5 7.1, 7.5): every encoding of an image sequence,
cut and re-read by pydicom, and a film sent in Explicit VR printed again from its objects."""

from __future__ import annotations

import logging
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, sop_class
from pynetdicom.dsutils import decode, encode

from printserver.order.index import OrderIndex
from printserver.order.received import receive
from printserver.spool.operations import reprint
from tests.fuzz_cases import command_set
from tests.ghostscript import render_gray16
from tests.hostile_peer import p_data
from tests.print_client import GRAY_META, box_uids, reference
from tests.raw_scu import (
    IMPLICIT_LE,
    PRINT_JOB,
    RawAssociation,
    _event_response,
    one_image_film_box,
)
from tests.raw_scu import encode as encode_as
from tests.requestor import guard_reactor
from tests.scu import image_item
from tests.server_harness import directory_config, start_in_process, wait_for_jobs

GRAY = "BasicGrayscaleImageSequence"
FILM_SESSION, FILM_BOX = "1.2.840.10008.5.1.1.1", "1.2.840.10008.5.1.1.2"
GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
N_SET, N_ACTION, N_CREATE = 0x0120, 0x0130, 0x0140
PIXELS = np.arange(12, dtype=np.uint16).reshape(3, 4)


def _n_set(
    *, implicit: bool, undefined_sequence: bool, undefined_item: bool, extra: bytes = b""
) -> bytes:
    item = image_item(PIXELS)
    item.PixelData = item.PixelData + extra
    item.is_undefined_length_sequence_item = undefined_item
    ds = Dataset()
    ds.ImageBoxPosition = 1
    ds.Polarity = "REVERSE"
    ds.BasicGrayscaleImageSequence = Sequence([item])
    ds[GRAY].is_undefined_length = undefined_sequence
    ds.RequestedImageSize = "100"
    encoded = encode(ds, implicit, True)
    assert encoded is not None
    return encoded


ENCODINGS = [
    (implicit, sequence, item)
    for implicit in (True, False)
    for sequence in (True, False)
    for item in (True, False)
]


@pytest.mark.parametrize(("implicit", "undefined_sequence", "undefined_item"), ENCODINGS)
def test_pixels_are_found_in_place_and_cut_as_pydicom_reads_them(
    implicit: bool, undefined_sequence: bool, undefined_item: bool
) -> None:
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    raw = _n_set(
        implicit=implicit,
        undefined_sequence=undefined_sequence,
        undefined_item=undefined_item,
        extra=b"\x01\x02" * 5,
    )
    stream = BytesIO(raw)
    received = receive(stream, syntax)
    item = received.dataset.BasicGrayscaleImageSequence[0]
    assert (item.Rows, received.dataset.RequestedImageSize) == (3, 100)
    data = received.pixel_data(GRAY)
    assert data is not None and len(data) == 34
    assert np.shares_memory(
        np.frombuffer(data, np.uint8), np.frombuffer(stream.getbuffer(), np.uint8)
    )
    trimmed = receive(bytes(received.trimmed(GRAY, 24).encoded), syntax)
    assert len(trimmed.encoded) == len(raw) - 10
    reread = decode(BytesIO(bytes(trimmed.encoded)), implicit, True)
    assert reread.BasicGrayscaleImageSequence[0].PixelData == PIXELS.astype("<u2").tobytes()
    assert (reread.Polarity, reread.RequestedImageSize) == ("REVERSE", 100)
    erased = decode(BytesIO(bytes(received.without_images().encoded)), implicit, True)
    assert len(erased.BasicGrayscaleImageSequence) == 0 and erased.RequestedImageSize == 100


@pytest.mark.filterwarnings("ignore:Expected implicit VR")
def test_what_the_walker_cannot_follow_is_read_as_pydicom_reads_it() -> None:
    explicit = _n_set(implicit=False, undefined_sequence=True, undefined_item=True)
    received = receive(explicit, ImplicitVRLittleEndian)  # the wrong syntax: pydicom copes
    assert received.dataset.Polarity == "REVERSE"
    data = received.pixel_data(GRAY)
    assert data is not None and bytes(data) == PIXELS.astype("<u2").tobytes()
    assert receive(b"\x01\x02\x03", ImplicitVRLittleEndian).dataset == Dataset()
    assert receive(None, ImplicitVRLittleEndian).dataset == Dataset()


def test_an_explicit_vr_film_is_kept_as_sent_and_printed_again(tmp_path: Path) -> None:
    running = start_in_process(directory_config(tmp_path))
    ae = AE(ae_title="EXPLICIT")
    ae.add_requested_context(GRAY_META, [ExplicitVRLittleEndian])
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    try:
        assoc = guard_reactor(ae.associate("127.0.0.1", running.port, ae_title="PRINTSERVER"))
        assert assoc.is_established
        session, film = generate_uid(), generate_uid()
        assoc.send_n_create(None, sop_class.BasicFilmSession, session, meta_uid=GRAY_META, msg_id=1)
        box = Dataset()
        box.ImageDisplayFormat = "STANDARD\\1,1"
        box.FilmSizeID = "8INX10IN"
        box.ReferencedFilmSessionSequence = [reference(sop_class.BasicFilmSession, session)]
        _, reply = assoc.send_n_create(
            box, sop_class.BasicFilmBox, film, meta_uid=GRAY_META, msg_id=2
        )
        ramp = (np.arange(200 * 150).reshape(200, 150) % 4096).astype(np.uint16)
        image = Dataset()
        image.ImageBoxPosition = 1
        image.BasicGrayscaleImageSequence = [image_item(ramp)]
        status, _ = assoc.send_n_set(
            image,
            sop_class.BasicGrayscaleImageBox,
            box_uids(reply)[0],
            meta_uid=GRAY_META,
            msg_id=3,
        )
        assert status.Status == 0
        assert (
            assoc.send_n_action(
                None, 1, sop_class.BasicFilmBox, film, meta_uid=GRAY_META, msg_id=4
            )[0].Status
            == 0
        )
        assoc.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        index = OrderIndex.load(
            (running.spool / "jobs" / job.job_id / "objects" / "index.json").read_bytes()
        )
        assert [step.syntax for step in index.steps] == [
            ImplicitVRLittleEndian,
            ImplicitVRLittleEndian,
            ExplicitVRLittleEndian,
        ]
        again = reprint(running.server.store, job.job_id, order_only=True)
        wait_for_jobs(running.spool, 2, {"done"})
    finally:
        running.server.stop()
    first = render_gray16(running.server.store.document(job.job_id), 100)[0]
    second = render_gray16(running.server.store.document(again.job_id), 100)[0]
    assert np.array_equal(first, second)


def _image(*, seed: int, side: int) -> Dataset:
    """An image box N-SET's data set: a square 12-bit image of random pixels."""
    pixels = np.random.default_rng(seed).integers(0, 4096, (side, side), dtype=np.uint16)
    modification = Dataset()
    modification.ImageBoxPosition = 1
    modification.BasicGrayscaleImageSequence = Sequence([image_item(pixels)])
    return modification


def test_an_image_is_on_disk_while_it_arrives_and_its_job_links_that_file(
    tmp_path: Path,
) -> None:
    """An image N-SET's data set is written to the association's incoming file PDU by PDU:
    all but its last fragment is on disk before the last one is sent, and the job links
    that very file (same inode).  No copy of the image is assembled in memory."""
    running = start_in_process(directory_config(tmp_path))
    try:
        raw = RawAssociation(running.port, [(GRAY_META, [IMPLICIT_LE])], max_pdu=65536)
        box, image_box = one_image_film_box(raw)
        modification = _image(seed=3, side=1024)
        data = encode_as(modification, IMPLICIT_LE)
        context = raw.context(GRAY_META).context_id
        command = command_set(N_SET, GRAYSCALE_IMAGE_BOX, 9, dataset=True, instance=image_box)
        raw.sock.sendall(p_data(context, command, command=True, last=True))
        step = 65536 - 12
        for start in range(0, len(data) - step, step):
            raw.sock.sendall(p_data(context, data[start : start + step], command=False, last=False))
        last = len(data) - (len(data) - 1) % step - 1
        incoming = running.spool / "incoming"

        def written() -> int:
            return sum(path.stat().st_size for path in incoming.rglob("*.dcm"))

        deadline = time.monotonic() + 10
        while written() < last and time.monotonic() < deadline:
            time.sleep(0.01)
        assert written() == last, (written(), last)  # on disk before the message is complete
        raw.sock.sendall(p_data(context, data[last:], command=False, last=True))
        assert raw._response(raw.context(GRAY_META))[0].Status == 0
        (file,) = incoming.rglob("*.dcm")
        inode = file.stat().st_ino
        assert (
            raw.request(GRAY_META, N_ACTION, FILM_BOX, box, extra=[(0x00001008, "US", 1)])[0].Status
            == 0
        )
        raw.release()
        (job,) = wait_for_jobs(running.spool, 1, {"done"})
        objects = running.spool / "jobs" / job.job_id / "objects"
        assert inode in {path.stat().st_ino for path in objects.glob("*.dcm")}
    finally:
        running.server.stop()


def test_an_event_answered_in_the_middle_of_an_image_is_taken_as_its_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """pynetdicom's SCU answers an N-EVENT-REPORT from its own thread, so the answer can
    land between two fragments of the N-SET it is sending (PS3.8 E.2 forbids it; the
    modality is served anyway): the answer goes to the event, the image to its box."""
    caplog.set_level(logging.INFO, logger="printserver.net.events")
    running = start_in_process(directory_config(tmp_path))
    try:
        raw = RawAssociation(
            running.port, [(GRAY_META, [IMPLICIT_LE]), (PRINT_JOB, [IMPLICIT_LE])], max_pdu=65536
        )
        box, image_box = one_image_film_box(raw)
        modification = _image(seed=5, side=512)
        assert (
            raw.request(GRAY_META, N_SET, GRAYSCALE_IMAGE_BOX, image_box, modification)[0].Status
            == 0
        )
        action = [(0x00001008, "US", 1)]
        assert raw.request(GRAY_META, N_ACTION, FILM_BOX, box, extra=action)[0].Status == 0
        event, _ = raw._message(raw.context(PRINT_JOB))  # DONE (or PRINTING): not answered yet
        assert int(event.CommandField) == 0x0100

        context = raw.context(GRAY_META).context_id
        data = encode_as(modification, IMPLICIT_LE)
        half = len(data) // 2
        command = command_set(N_SET, GRAYSCALE_IMAGE_BOX, 99, dataset=True, instance=image_box)
        raw.sock.sendall(p_data(context, command, command=True, last=True))
        raw.sock.sendall(p_data(context, data[:half], command=False, last=False))
        answer = _event_response(event)
        raw.sock.sendall(p_data(raw.context(PRINT_JOB).context_id, answer, command=True, last=True))
        raw.sock.sendall(p_data(context, data[half:], command=False, last=True))
        response, _ = raw._response(raw.context(GRAY_META))
        assert int(response.MessageIDBeingRespondedTo) == 99 and response.Status == 0
        deadline = time.monotonic() + 10
        while not any("answered 0x0000" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the event's answer did not reach it"
            time.sleep(0.05)
        raw.release()
    finally:
        running.server.stop()
