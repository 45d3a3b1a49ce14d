"""Every failure and warning status, each from a request built to provoke it.

Also the association policies: strictness, calling-AE allowlists, requests
pynetdicom would drop, and eight clients printing at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import sop_class
from pynetdicom.dimse_primitives import N_ACTION

from tests.print_client import PrintClient, box_uids, color_item
from tests.scu import image_item
from tests.server_harness import (
    InProcessServer,
    directory_config,
    start_in_process,
    wait_for_jobs,
)

pytestmark = pytest.mark.integration
SMALL = np.full((64, 64), 1000, np.uint16)


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[InProcessServer]:
    # a spool of its own: it runs beside ``server``, and one spool has one server
    running = start_in_process(directory_config(tmp_path / "strict", "strict = true"))
    yield running
    running.server.stop()


def _film(
    client: PrintClient, display_format: str = "STANDARD\\1,1", **attrs: Any
) -> tuple[str, str, list[str]]:
    status, session = client.session()
    assert status == 0
    status, film_box, reply = client.film_box(session, display_format, **attrs)
    assert status == 0, hex(status)
    return session, film_box, box_uids(reply)


def _no_session_yet(client: PrintClient) -> tuple[int, str]:
    """0x0117: a Film Box before any Film Session."""
    return client.film_box("1.2.3")[0], ""


def _second_session(client: PrintClient) -> tuple[int, str]:
    """0x0111: a second Film Session on one association."""
    _film(client)
    return client.session()[0], ""


def _bad_display_format(client: PrintClient) -> tuple[int, str]:
    """0x0106: an Image Display Format that does not parse."""
    session, _, _ = _film(client)
    return client.film_box(session, "DIAGONAL\\7")[0], ""


def _no_such_image_box(client: PrintClient) -> tuple[int, str]:
    """0x0112: N-SET of an image box that does not exist."""
    _film(client)
    return _answer(client.gray("1.2.3.4", 1, SMALL))


def _image_sequence_missing(client: PrintClient) -> tuple[int, str]:
    """0x0120: the image sequence is missing."""
    _, _, (box,) = _film(client)
    ds = Dataset()
    ds.ImageBoxPosition = 1
    return _answer(client.set(sop_class.BasicGrayscaleImageBox, box, ds))


def _bits_stored_too_many(client: PrintClient) -> tuple[int, str]:
    """0x0106: Bits Stored that cannot be in 16 bits allocated."""
    _, _, (box,) = _film(client)
    item = image_item(SMALL)
    item.BitsStored = 20
    return _answer(client.set_image(box, 1, item))


def _colour_on_a_grayscale_box(client: PrintClient) -> tuple[int, str]:
    """0x0119: colour pixels on a grayscale box."""
    _, _, (box,) = _film(client)
    ds = Dataset()
    ds.ImageBoxPosition = 1
    ds.BasicColorImageSequence = [color_item(np.zeros((4, 4, 3), np.uint8))]
    return _answer(client.set(sop_class.BasicColorImageBox, box, ds))


def _action_type_two(client: PrintClient) -> tuple[int, str]:
    """0x0123: an Action Type other than 1."""
    _, film_box, _ = _film(client)
    return _answer(client.action(sop_class.BasicFilmBox, film_box, action=2)[0])


def _n_get_of_a_film_box(client: PrintClient) -> tuple[int, str]:
    """0x0211: N-GET is no operation of the Film Box class."""
    _, film_box, _ = _film(client)
    return _answer(client.get(sop_class.BasicFilmBox, film_box)[0])


def _image_wider_than_its_box(client: PrintClient) -> tuple[int, str]:
    """0xC603: Requested Image Size wider than the box, and FAIL asked for; the refused
    image is not kept, so printing the box gives B603 (empty film)."""
    _, film_box, (box,) = _film(client)
    status, comment = _answer(
        client.gray(box, 1, SMALL, RequestedImageSize="1000", RequestedDecimateCropBehavior="FAIL")
    )
    printed = client.action(sop_class.BasicFilmBox, film_box)[0].Status
    return status, f"{comment}; then 0x{printed:04X}"


def _delete_unknown_film_box(client: PrintClient) -> tuple[int, str]:
    """0x0112 on N-DELETE of an unknown film box."""
    _film(client)
    return _answer(client.delete(sop_class.BasicFilmBox, "1.2.3.4"))


def _session_without_film_boxes(client: PrintClient) -> tuple[int, str]:
    """C600: printing a session whose film boxes were all deleted."""
    session, film_box, _ = _film(client)
    assert client.delete(sop_class.BasicFilmBox, film_box).Status == 0
    return _answer(client.action(sop_class.BasicFilmSession, session)[0])


def _answer(status: Dataset) -> tuple[int, str]:
    return int(status.Status), str(getattr(status, "ErrorComment", ""))


FAILURES = [
    (_no_session_yet, 0x0117, ""),
    (_second_session, 0x0111, ""),
    (_bad_display_format, 0x0106, ""),
    (_no_such_image_box, 0x0112, ""),
    (_image_sequence_missing, 0x0120, "BasicGrayscaleImageSequence"),
    (_bits_stored_too_many, 0x0106, "Bits Stored 20"),
    (_colour_on_a_grayscale_box, 0x0119, ""),
    (_action_type_two, 0x0123, ""),
    (_n_get_of_a_film_box, 0x0211, ""),
    (_image_wider_than_its_box, 0xC603, "exceeds"),
    (_delete_unknown_film_box, 0x0112, ""),
    (_session_without_film_boxes, 0xC600, ""),
]


@pytest.mark.parametrize(
    ("provoke", "expected", "comment"),
    FAILURES,
    ids=[case[0].__name__.strip("_") for case in FAILURES],
)
def test_failures(server: InProcessServer, provoke: Any, expected: int, comment: str) -> None:
    client = PrintClient(server.port)
    try:
        status, said = provoke(client)
    finally:
        client.release()
    assert (hex(status), comment in said) == (hex(expected), True), said
    if provoke is _image_wider_than_its_box:
        assert said.endswith("then 0xB603")


def test_queue_full_is_c601_and_c602(server: InProcessServer) -> None:
    client = PrintClient(server.port)
    session, film_box, (box,) = _film(client)
    assert client.gray(box, 1, SMALL).Status == 0
    staging = server.spool / "tmp"
    staging.rmdir()
    staging.write_text("not a directory: the spool cannot take a job")
    try:
        box_full = client.action(sop_class.BasicFilmBox, film_box)[0]
        session_full = client.action(sop_class.BasicFilmSession, session)[0]
    finally:
        staging.unlink()
        staging.mkdir()
    assert box_full.Status == 0xC602 and "queue" in box_full.ErrorComment
    assert session_full.Status == 0xC601
    assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0
    client.release()


def test_warnings(server: InProcessServer) -> None:
    client = PrintClient(server.port)
    # B600: Memory Allocation is not supported
    assert client.session(MemoryAllocation="4096")[0] == 0xB600
    client.release()
    client = PrintClient(server.port)
    status, session = client.session()
    # 0x0116: an unknown Film Size ID is replaced by the default
    status, _, reply = client.film_box(session, FilmSizeID="99INX99IN")
    assert status == 0x0116 and reply.FilmSizeID == "14INX17IN"
    # B605: Max Density above the printer's
    status, _, reply = client.film_box(session, MaxDensity=999)
    assert status == 0xB605 and reply.MaxDensity == 320
    status, film_box, reply = client.film_box(session, "STANDARD\\2,1", FilmSizeID="8INX10IN")
    first, second = box_uids(reply)
    # B603: printing a film box with no image
    assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0xB603
    # B604, B60A, B609: images larger than their box
    assert client.gray(first, 1, SMALL, RequestedImageSize="500").Status == 0xB604
    assert (
        client.gray(
            first, 1, SMALL, RequestedImageSize="500", RequestedDecimateCropBehavior="DECIMATE"
        ).Status
        == 0xB60A
    )
    assert (
        client.gray(
            first, 1, SMALL, RequestedImageSize="500", RequestedDecimateCropBehavior="CROP"
        ).Status
        == 0xB609
    )
    wide = np.zeros((8, 3000), np.uint16)
    assert client.gray(second, 2, wide, MagnificationType="NONE").Status == 0xB604
    # B602: the session holds a film box without images (the first two above)
    assert client.action(sop_class.BasicFilmSession, session)[0].Status == 0xB602
    client.release()


def test_strict_printer_refuses_what_the_lenient_one_adjusts(
    strict_server: InProcessServer,
) -> None:
    client = PrintClient(strict_server.port)
    status, session = client.session(FilmSessionLabel="x")
    assert status == 0
    refused, _, _ = client.film_box(session, FilmSizeID="99INX99IN")
    assert refused == 0x0106
    assert client.film_box(session, PatientName="Not^Here")[0] == 0x0105
    ds = Dataset()
    ds.ImageDisplayFormat = "STANDARD\\1,1"
    assert client.create(sop_class.BasicFilmBox, ds)[0] == 0x0120  # no session reference
    status, _ = client.get(sop_class.Printer, "1.2.840.10008.5.1.1.17", [0x00100010])
    assert status.Status == 0x0105
    _, older, _ = client.film_box(session)
    _, newer, _ = client.film_box(session)
    ds = Dataset()
    ds.Trim = "YES"
    assert client.set(sop_class.BasicFilmBox, older, ds).Status == 0x0112  # not the last one
    assert client.set(sop_class.BasicFilmBox, newer, ds).Status == 0
    client.release()


def _send_without_instance(client: PrintClient, class_uid: str) -> int:
    """An N-ACTION without Requested SOP Instance UID, as FUJI FCR sends it."""
    request = N_ACTION()
    request.MessageID = client.msg()
    request.RequestedSOPClassUID = class_uid
    request.ActionTypeID = 1
    (context,) = [cx for cx in client.assoc.accepted_contexts if cx.abstract_syntax == client.meta]
    assoc: Any = client.assoc
    assoc._reactor_checkpoint.clear()  # keep the SCU's reactor from taking the response
    while not assoc._is_paused:
        time.sleep(0.001)
    try:
        assoc.dimse.send_msg(request, context.context_id)
        _, response = assoc.dimse.get_msg(block=True)
    finally:
        assoc._reactor_checkpoint.set()
    assert response is not None, "no answer: the request was dropped"
    return int(response.Status)


def test_n_action_without_instance_uid_is_answered(
    server: InProcessServer, strict_server: InProcessServer
) -> None:
    client = PrintClient(server.port)
    _, _, (box,) = _film(client)
    client.gray(box, 1, SMALL)
    assert _send_without_instance(client, sop_class.BasicFilmBox) == 0  # the current film box
    client.release()
    wait_for_jobs(server.spool, 1, {"done"})
    strict = PrintClient(strict_server.port)
    _, _, (box,) = _film(strict)
    assert _send_without_instance(strict, sop_class.BasicFilmBox) == 0x0112
    strict.release()


def test_calling_ae_allowlists(tmp_path: Path) -> None:
    config = directory_config(
        tmp_path,
        'allowed_calling_aes = ["CT1", "CT2"]',
        server_extra='allowed_calling_aes = ["CT1", "MR1"]',
    )
    running = start_in_process(config)
    try:
        allowed = PrintClient(running.port, calling="CT1")
        assert allowed.established and allowed.assoc.send_c_echo().Status == 0
        allowed.release()
        for caller in ("CT2", "MR1", "INTRUDER"):  # each fails one of the two lists
            client = PrintClient(running.port, calling=caller)
            assert client.assoc.is_rejected, caller
            answer = client.assoc.acceptor.primitive
            assert (answer.result, answer.result_source, answer.diagnostic) == (1, 1, 3)
    finally:
        running.server.stop()


def test_eight_associations_print_at_once(server: InProcessServer) -> None:
    statuses: dict[int, list[int]] = {}

    def one(index: int) -> None:
        client = PrintClient(server.port, calling=f"SCU{index}", color=index % 2 == 1)
        result = []
        _, film_box, boxes = _film(client, "STANDARD\\2,1", FilmSizeID="8INX10IN")
        for position, box in enumerate(boxes, start=1):
            if client.meta == sop_class.BasicColorPrintManagementMeta:
                rgb = np.full((100, 80, 3), 30 * index, np.uint8)
                result.append(int(client.set_image(box, position, color_item(rgb)).Status))
            else:
                result.append(int(client.gray(box, position, SMALL + index).Status))
        result.append(int(client.action(sop_class.BasicFilmBox, film_box)[0].Status))
        client.release()
        statuses[index] = result

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == {i: [0, 0, 0] for i in range(8)}
    jobs = wait_for_jobs(server.spool, 8, {"done"})
    assert sorted(job.calling_ae for job in jobs) == [f"SCU{i}" for i in range(8)]


def test_c605_image_larger_than_the_printer_takes(tmp_path: Path) -> None:
    running = start_in_process(directory_config(tmp_path, "max_image_pixels = 1000"))
    try:
        client = PrintClient(running.port)
        _, _, (box,) = _film(client)
        refused = client.gray(box, 1, SMALL)  # 4096 pixels
        assert refused.Status == 0xC605 and "64x64" in refused.ErrorComment
        assert client.gray(box, 1, np.zeros((20, 40), np.uint16)).Status == 0
        client.release()
    finally:
        running.server.stop()


def test_film_session_and_film_box_n_set(tmp_path: Path) -> None:
    running = start_in_process(
        directory_config(tmp_path, 'high_dpi = 640\nconfiguration_information = ["CS000", "CS005"]')
    )
    try:
        client = PrintClient(running.port)
        session, film_box, (box,) = _film(client, FilmSizeID="8INX10IN")
        ds = Dataset()
        ds.NumberOfCopies = "3"
        ds.PrintPriority = "LOW"
        ds.FilmDestination = "MAGAZINE"
        assert client.set(sop_class.BasicFilmSession, session, ds).Status == 0
        ds = Dataset()
        ds.NumberOfCopies = "0"
        assert client.set(sop_class.BasicFilmSession, session, ds).Status == 0x0106
        ds = Dataset()
        ds.MagnificationType = "REPLICATE"
        ds.Trim = "YES"
        ds.MaxDensity = 300
        ds.ConfigurationInformation = "CS005"
        assert client.set(sop_class.BasicFilmBox, film_box, ds).Status == 0
        ds = Dataset()
        ds.ConfigurationInformation = "CS005\\VENDOR_LUT=7"  # one unknown value: dropped
        assert client.set(sop_class.BasicFilmBox, film_box, ds).Status == 0x0116
        assert client.set(sop_class.BasicFilmBox, "1.2.3", ds).Status == 0x0112
        assert client.gray(box, 1, SMALL).Status == 0
        assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0
        # Requested Resolution ID HIGH renders at the printer's high_dpi
        status, high_box, reply = client.film_box(
            session, FilmSizeID="8INX10IN", RequestedResolutionID="HIGH"
        )
        assert status == 0 and reply.RequestedResolutionID == "HIGH"
        assert client.gray(box_uids(reply)[0], 1, SMALL).Status == 0
        assert client.action(sop_class.BasicFilmBox, high_box)[0].Status == 0
        client.release()
        standard, high = sorted(
            wait_for_jobs(running.spool, 2, {"done"}), key=lambda job: job.created
        )
        assert (standard.copies, standard.priority, standard.destination) == (3, "LOW", "MAGAZINE")
        sizes = []
        for job in (standard, high):
            data = (running.spool / "jobs" / job.job_id / "film.ps").read_bytes()
            sizes.append(data.split(b"/Width ", 1)[1].split(b" ", 1)[0])
        assert sizes == [b"2560", b"5120"]  # 8 inches at 320 and at 640 dpi
    finally:
        running.server.stop()
