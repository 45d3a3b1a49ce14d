"""DIMSE behaviour over loopback with a real pynetdicom SCU against the running SCP."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt, sop_class

from tests.print_client import PrintClient
from tests.requestor import guard_reactor
from tests.scu import GRAY_META, cell_images, connect, image_item, print_film
from tests.server_harness import InProcessServer, wait_for_jobs

pytestmark = pytest.mark.integration


def _new_film_box(assoc, session_uid: str, display_format: str = "STANDARD\\1,1"):  # type: ignore[no-untyped-def]
    box = Dataset()
    box.ImageDisplayFormat = display_format
    ref = Dataset()
    ref.ReferencedSOPClassUID = sop_class.BasicFilmSession
    ref.ReferencedSOPInstanceUID = session_uid
    box.ReferencedFilmSessionSequence = [ref]
    uid = generate_uid()
    status, reply = assoc.send_n_create(
        box, sop_class.BasicFilmBox, uid, meta_uid=GRAY_META, msg_id=3
    )
    return uid, status, reply


def test_echo_and_unknown_called_ae_is_rejected(server: InProcessServer) -> None:
    assoc = connect(server.port, "PRINTSERVER")
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()

    rejected = connect(server.port, "NOSUCHPRINTER")
    assert rejected.is_rejected
    answer = rejected.acceptor.primitive
    # rejected-permanent, by the DICOM UL service-user, called AE title not recognised
    assert (answer.result, answer.result_source, answer.diagnostic) == (1, 1, 7)


def test_film_session_without_uid_and_without_data_set(server: InProcessServer) -> None:
    """DCMTK sends both; the SCP must assign the UID and return it in the response command."""
    assigned: list[str] = []

    def on_recv(event: evt.Event) -> None:
        message = event.message
        if message.__class__.__name__ == "N_CREATE_RSP":
            uid = message.command_set.get("AffectedSOPInstanceUID")
            if uid:
                assigned.append(str(uid))

    ae = AE(ae_title="DCMLIKE")
    ae.add_requested_context(GRAY_META)
    assoc = guard_reactor(
        ae.associate(
            "127.0.0.1",
            server.port,
            ae_title="PRINTSERVER",
            evt_handlers=[(evt.EVT_DIMSE_RECV, on_recv)],
        )
    )
    assert assoc.is_established
    status, _ = assoc.send_n_create(None, sop_class.BasicFilmSession, None, meta_uid=GRAY_META)
    assert status.Status == 0
    assert len(assigned) == 1 and assigned[0].startswith("1.2.")
    # the assigned UID really names the session: a film box can reference it
    _, status, reply = _new_film_box(assoc, assigned[0])
    assert status.Status == 0 and len(reply.ReferencedImageBoxSequence) == 1
    # and a second session on the same association is refused
    status, _ = assoc.send_n_create(
        None, sop_class.BasicFilmSession, None, meta_uid=GRAY_META, msg_id=9
    )
    assert status.Status == 0x0111
    assoc.release()


def test_film_box_reply_lists_image_boxes_in_position_order(
    server: InProcessServer,
) -> None:
    assoc = connect(server.port, "PRINTSERVER")
    session_uid = generate_uid()
    status, reply = assoc.send_n_create(
        None, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META
    )
    assert status.Status == 0 and reply.MediumType == "BLUE FILM"
    _, status, reply = _new_film_box(assoc, session_uid, "STANDARD\\3,2")
    assert status.Status == 0
    items = reply.ReferencedImageBoxSequence
    assert len(items) == 6
    assert {str(i.ReferencedSOPClassUID) for i in items} == {sop_class.BasicGrayscaleImageBox}
    assert len({str(i.ReferencedSOPInstanceUID) for i in items}) == 6
    assert reply.FilmSizeID == "14INX17IN" and reply.FilmOrientation == "PORTRAIT"
    # unparsable layout → 0x0106 with a comment; the association carries on
    _, status, _ = _new_film_box(assoc, session_uid, "SPIRAL\\7")
    assert status.Status == 0x0106 and "SPIRAL" in status.ErrorComment
    # a film box referencing another session → 0x0117
    _, status, _ = _new_film_box(assoc, generate_uid())
    assert status.Status == 0x0117
    assoc.release()


def test_bad_image_box_requests_fail_cleanly_and_the_film_still_prints(
    server: InProcessServer,
) -> None:
    assoc = connect(server.port, "PRINTSERVER")
    session_uid = generate_uid()
    assoc.send_n_create(None, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META)
    box_uid, _, reply = _new_film_box(assoc, session_uid)
    image_box = str(reply.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID)
    pixels = cell_images(64, 64)[1]

    def n_set(item: Dataset | None, uid: str = image_box, position: int = 1) -> Dataset:
        modification = Dataset()
        modification.ImageBoxPosition = position
        if item is not None:
            modification.BasicGrayscaleImageSequence = [item]
        status, _ = assoc.send_n_set(
            modification, sop_class.BasicGrayscaleImageBox, uid, meta_uid=GRAY_META, msg_id=20
        )
        return status

    no_pixels = image_item(pixels)
    del no_pixels.PixelData
    status = n_set(no_pixels)
    assert status.Status == 0x0120 and "Pixel Data" in status.ErrorComment

    wrong_bits = image_item(pixels)
    wrong_bits.BitsStored = 20
    status = n_set(wrong_bits)
    assert status.Status == 0x0106 and "Bits Stored 20" in status.ErrorComment

    short = image_item(pixels)
    short.PixelData = short.PixelData[:100]
    assert n_set(short).Status == 0x0106

    assert n_set(image_item(pixels), uid=generate_uid()).Status == 0x0112
    assert n_set(image_item(pixels), position=2).Status == 0x0106
    assert n_set(None).Status == 0x0120

    # after all that, a good N-SET and a print still work on the same association
    assert n_set(image_item(pixels)).Status == 0
    status, _ = assoc.send_n_action(
        None, 1, sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META, msg_id=30
    )
    assert status.Status == 0
    status, _ = assoc.send_n_action(
        None, 7, sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META, msg_id=31
    )
    assert status.Status == 0x0123
    assoc.release()
    wait_for_jobs(server.spool, 1, {"done"})
    # and another association is served normally
    again = connect(server.port, "PRINTSERVER")
    assert again.is_established and again.send_c_echo().Status == 0
    again.release()


def test_empty_film_box_prints_with_warning_and_session_print_needs_a_film_box(
    server: InProcessServer,
) -> None:
    assoc = connect(server.port, "PRINTSERVER")
    session_uid = generate_uid()
    assoc.send_n_create(None, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META)
    status, _ = assoc.send_n_action(
        None, 1, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META, msg_id=5
    )
    assert status.Status == 0xC600
    box_uid, _, _ = _new_film_box(assoc, session_uid)
    status, _ = assoc.send_n_action(
        None, 1, sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META, msg_id=6
    )
    assert status.Status == 0xB603
    status, _ = assoc.send_n_action(
        None, 1, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META, msg_id=7
    )
    assert status.Status == 0xB602
    assoc.release()
    jobs = wait_for_jobs(server.spool, 2, {"done"})
    assert len(jobs) == 2


def test_printer_n_get_answers_everything_it_keeps(server: InProcessServer) -> None:
    assoc = connect(server.port, "PRINTSERVER")
    status, everything = assoc.send_n_get(
        [], sop_class.Printer, "1.2.840.10008.5.1.1.17", meta_uid=GRAY_META
    )
    assert status.Status == 0
    assert everything.PrinterStatus == "NORMAL" and everything.PrinterStatusInfo == "NORMAL"
    assert everything.PrinterName == "PRINTSERVER"
    module = (
        "Manufacturer",
        "ManufacturerModelName",
        "DeviceSerialNumber",
        "SoftwareVersions",
        "DateOfLastCalibration",
        "TimeOfLastCalibration",
    )
    assert all(keyword in everything for keyword in module)
    assert everything.DateOfLastCalibration == ""  # never calibrated: present, empty
    # an attribute the Printer does not keep (Film Destination) is left out, no failure
    wanted = [0x21100010, 0x21100030, 0x00181200, 0x20000040]
    status, some = assoc.send_n_get(
        wanted, sop_class.Printer, "1.2.840.10008.5.1.1.17", meta_uid=GRAY_META, msg_id=2
    )
    assert status.Status == 0
    assert some.PrinterStatus == "NORMAL" and some.PrinterName == "PRINTSERVER"
    assert "DateOfLastCalibration" in some and "PrinterStatusInfo" not in some
    assert "FilmDestination" not in some and "Manufacturer" not in some
    assoc.release()


def test_several_associations_print_at_once(server: InProcessServer) -> None:
    images = cell_images(128, 128)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def one_client(index: int) -> None:
        try:
            assoc = connect(server.port, "PRINTSERVER", calling_ae=f"CLIENT{index}")
            results.append(print_film(assoc, images, film_size="8INX10IN").statuses)
            assoc.release()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert len(results) == 4
    for statuses in results:
        assert set(statuses.values()) == {0}, statuses
    jobs = wait_for_jobs(server.spool, 4, {"done"})
    assert sorted(job.calling_ae for job in jobs) == [f"CLIENT{i}" for i in range(4)]
    output = Path(server.config.printers[0].directory or "")
    assert len(list(output.glob("*.ps"))) == 4


def test_state_does_not_leak_into_the_next_association(server: InProcessServer) -> None:
    first = connect(server.port, "PRINTSERVER")
    session_uid = generate_uid()
    first.send_n_create(None, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META)
    box_uid, _, _ = _new_film_box(first, session_uid)
    first.abort()
    second = connect(server.port, "PRINTSERVER")
    status, _ = second.send_n_action(None, 1, sop_class.BasicFilmBox, box_uid, meta_uid=GRAY_META)
    assert status.Status == 0x0112
    status, _ = second.send_n_create(
        None, sop_class.BasicFilmSession, session_uid, meta_uid=GRAY_META
    )
    assert status.Status == 0
    second.release()


def test_an_idle_association_sleeps_until_a_request_arrives(server: InProcessServer) -> None:
    """The association's thread is woken by a request, a release, an abort or its idle
    timer (every 0.5 s at most), not by a poll: pynetdicom's own looks 1000 times a second."""
    client = PrintClient(server.port)
    (acceptor,) = [t for t in threading.enumerate() if t.name.startswith("AcceptorThread")]
    status = Path(f"/proc/self/task/{acceptor.native_id}/status")

    def wakeups() -> int:
        found = re.search(r"voluntary_ctxt_switches:\s+(\d+)", status.read_text())
        assert found
        return int(found[1])

    before = wakeups()
    time.sleep(2.0)
    assert wakeups() - before <= 10
    assert client.flat_film(900).Status == 0  # and a request is served as it arrives
    client.release()
    acceptor.join(10)
    assert not acceptor.is_alive()  # the release ended it
