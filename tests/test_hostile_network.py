"""Hostile peers at the network edge: idle, silent, half-sent and oversized, over loopback.

Each test holds an attack open while a legitimate modality prints, and checks
that the attack costs the server neither association slots nor memory, and is
cut off within the configured time.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import sop_class

from printserver.config.sections import ServerConfig
from tests import hostile_peer as peer
from tests.fuzz_cases import GRAY_IMAGE_BOX, N_SET, command_set
from tests.print_client import GRAY_META, PrintClient, box_uids, output_files
from tests.raw_scu import IMPLICIT_LE, RawAssociation, encode, one_image_film_box
from tests.scu import image_item
from tests.server_harness import (
    InProcessServer,
    ServerProcess,
    config_text,
    directory_config,
    free_port,
    start_in_process,
)
from tests.test_tls import _client_context, _tls_config

pytestmark = [pytest.mark.integration, pytest.mark.timed]

ADVERTISED_PDU: int = ServerConfig.model_fields["max_pdu_size"].default
"""The Maximum Length the server advertises by default, which a modality sends in."""
FAST = "acse_timeout = 3\nsocket_timeout = 2\nnetwork_timeout = 4\ntls_handshake_timeout = 2\n"


@pytest.fixture
def fast_server(tmp_path: Path) -> Iterator[InProcessServer]:
    running = start_in_process(directory_config(tmp_path, server_extra=FAST))
    yield running
    running.server.stop()


def _process(tmp_path: Path, server_extra: str = "") -> ServerProcess:
    port = free_port()
    output = tmp_path / "output"
    text = config_text(
        tmp_path / "spool",
        port,
        f'[[printers]]\nae_title = "PRINTSERVER"\ndirectory = "{output}"\n',
    )
    text = text.replace('log_level = "DEBUG"', 'log_level = "INFO"')
    if server_extra:
        text = text.replace("[spool]\n", f"{server_extra}\n[spool]\n", 1)
    config = tmp_path / "printserver.toml"
    config.write_text(text)
    return ServerProcess(config, port, tmp_path, tmp_path / "server.log")


def _film_within(port: int, seconds: float, output: Path, count: int = 1) -> float:
    """Print one film as a modality would; returns how long the association took."""
    start = time.monotonic()
    client = PrintClient(port)
    assert client.established, "the legitimate modality could not associate"
    assert client.flat_film(1200).Status == 0
    client.release()
    took = time.monotonic() - start
    assert took < seconds, f"the film took {took:.1f} s"
    output_files(output, count, timeout=10)
    return took


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / 100.0


def test_connect_close_cycles_leave_every_slot_free(tmp_path: Path) -> None:
    running = start_in_process(directory_config(tmp_path, server_extra="max_associations = 2"))
    try:
        for _ in range(10):
            peer.connect(running.port).close()
        start = time.monotonic()
        first, second = PrintClient(running.port), PrintClient(running.port)
        assert first.established and second.established
        assert time.monotonic() - start < 2.0
        first.release()
        second.release()
    finally:
        running.server.stop()


def test_idle_and_half_open_sockets_hold_no_slot_and_are_cut_off(
    fast_server: InProcessServer, tmp_path: Path
) -> None:
    """Acceptance: 20 attacker sockets against 10 slots; a film still prints within 5 s."""
    port = fast_server.port
    rq = peer.associate_rq()
    idle = [peer.connect(port) for _ in range(10)]
    header_only = [peer.connect(port) for _ in range(5)]
    half_rq = [peer.connect(port) for _ in range(5)]
    for sock in header_only:
        sock.sendall(rq[:3])
    for sock in half_rq:
        sock.sendall(rq[: len(rq) // 2])
    opened = time.monotonic()
    try:
        _film_within(port, 5.0, tmp_path / "output")
        # half an A-ASSOCIATE-RQ: cut off by socket_timeout (2 s); silence: by acse_timeout (3 s)
        for sock in half_rq:
            assert peer.closed_by_peer(sock, opened + 4.0 - time.monotonic())
        for sock in idle + header_only:
            assert peer.closed_by_peer(sock, opened + 5.0 - time.monotonic())
    finally:
        for sock in idle + header_only + half_rq:
            sock.close()


def test_an_idle_association_is_aborted_after_the_network_timeout(
    fast_server: InProcessServer,
) -> None:
    sock = peer.connect(fast_server.port)
    sock.sendall(peer.associate_rq())
    reply = peer.read_pdu(sock)
    assert reply is not None and reply[0] == 0x02  # A-ASSOCIATE-AC
    start = time.monotonic()
    assert peer.closed_by_peer(sock, 8.0)
    assert 3.0 < time.monotonic() - start < 8.0
    sock.close()


def test_pending_connections_are_capped_per_address(tmp_path: Path) -> None:
    extra = FAST + "max_pending_connections = 8\nmax_pending_per_address = 4\n"
    running = start_in_process(directory_config(tmp_path, server_extra=extra))
    held = [peer.connect(running.port) for _ in range(4)]
    try:
        time.sleep(0.3)  # the server has counted them
        extra_one = peer.connect(running.port)
        assert peer.closed_by_peer(extra_one, 1.0), "a fifth unassociated connection was kept"
        extra_one.close()
        for sock in held:
            sock.close()
        time.sleep(0.3)
        _film_within(running.port, 5.0, tmp_path / "output")
    finally:
        for sock in held:
            sock.close()
        running.server.stop()


def test_idle_connections_cost_no_cpu(tmp_path: Path) -> None:
    server = _process(tmp_path, "acse_timeout = 30\n")
    server.start()
    assert server.process is not None
    pid = server.process.pid
    sockets: list[socket.socket] = []
    try:
        time.sleep(1.0)
        sockets = [peer.connect(server.port) for _ in range(20)]
        time.sleep(0.5)
        before = _cpu_seconds(pid)
        time.sleep(3.0)
        used = _cpu_seconds(pid) - before
        assert used < 0.3, f"20 idle connections cost {used:.2f} s of CPU in 3 s"
        assert all(not peer.closed_by_peer(sock, 0.01) for sock in sockets)  # still waited on
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def _advertised_max_length(ac_body: bytes) -> int:
    """Maximum Length Received (PS3.8 D.1) from an A-ASSOCIATE-AC's user information."""
    at = ac_body.index(b"\x51\x00\x00\x04")
    return int(struct.unpack(">L", ac_body[at + 4 : at + 8])[0])


def _stream_until_closed(sock: socket.socket, total: int) -> int:
    """Send zeros until ``total`` bytes or the server closes; returns the bytes sent."""
    chunk = bytes(1 << 20)
    sent = 0
    sock.settimeout(10.0)
    try:
        while sent < total:
            sent += sock.send(chunk)
    except (ConnectionError, TimeoutError):
        pass
    return sent


def _claim_4_gb(tmp_path: Path, server_extra: str, begin: Callable[[socket.socket], int]) -> None:
    """``begin`` on a fresh connection, then a PDU header claiming 4 GB and 256 MB streamed
    behind it: the server must cut the connection early and its RSS must barely move."""
    server = _process(tmp_path, server_extra)
    server.start()
    assert server.process is not None
    pid = server.process.pid
    try:
        _film_within(server.port, 10.0, tmp_path / "output")  # imports and caches warm
        before = peer.rss_kb(pid)
        sock = peer.connect(server.port)
        pdu_type = begin(sock)
        sock.sendall(peer.pdu_header(pdu_type, 0xFFFFFFFF))
        sent = _stream_until_closed(sock, 256 << 20)
        sock.close()
        assert sent < 64 << 20, f"{sent >> 20} MB were taken in before the connection closed"
        growth = peer.rss_kb(pid) - before
        assert growth < 64 * 1024, f"RSS grew by {growth} kB"
        _film_within(server.port, 5.0, tmp_path / "output", count=2)
    finally:
        server.stop()


def test_associate_rq_claiming_4_gb_is_refused_after_its_header(tmp_path: Path) -> None:
    _claim_4_gb(tmp_path, "", lambda sock: 0x01)


def test_p_data_claiming_4_gb_is_aborted_and_max_length_is_advertised(tmp_path: Path) -> None:
    def associate(sock: socket.socket) -> int:
        sock.sendall(peer.associate_rq())
        reply = peer.read_pdu(sock)
        assert reply is not None and reply[0] == 0x02
        assert _advertised_max_length(reply[1]) == 65536
        return 0x04

    _claim_4_gb(tmp_path, "max_pdu_size = 65536\n", associate)


def test_p_data_just_over_the_advertised_length_is_aborted(fast_server: InProcessServer) -> None:
    sock = peer.connect(fast_server.port)
    sock.sendall(peer.associate_rq())
    reply = peer.read_pdu(sock)
    assert reply is not None and reply[0] == 0x02
    limit = _advertised_max_length(reply[1])
    sock.sendall(peer.pdu_header(0x04, limit + 1))
    answer = peer.read_pdu(sock, timeout=5.0)
    assert answer is not None and answer[0] == 0x07  # A-ABORT
    assert peer.closed_by_peer(sock, 5.0)
    sock.close()


def test_silent_tcp_on_the_tls_port_blocks_no_tls_client(tmp_path: Path) -> None:
    tls_port = free_port()
    extra = FAST + _tls_config(tmp_path, tls_port, mutual=False)
    running = start_in_process(directory_config(tmp_path, server_extra=extra))
    silent = [peer.connect(tls_port) for _ in range(3)]
    opened = time.monotonic()
    try:
        start = time.monotonic()
        client = PrintClient(tls_port, tls=_client_context(tmp_path / "server.pem", None))
        assert client.established
        assert time.monotonic() - start < 2.0
        assert client.assoc.send_c_echo().Status == 0
        client.release()
        for sock in silent:  # tls_handshake_timeout = 2 s
            assert peer.closed_by_peer(sock, opened + 4.0 - time.monotonic())
    finally:
        for sock in silent:
            sock.close()
        running.server.stop()


def test_tls_garbage_is_closed_and_plain_port_unaffected(tmp_path: Path) -> None:
    tls_port = free_port()
    extra = FAST + _tls_config(tmp_path, tls_port, mutual=False)
    running = start_in_process(directory_config(tmp_path, server_extra=extra))
    try:
        sock = peer.connect(tls_port)
        sock.sendall(peer.associate_rq())  # DICOM in the clear on the TLS port
        assert peer.closed_by_peer(sock, 3.0)
        sock.close()
        context = _client_context(tmp_path / "server.pem", None)
        client = PrintClient(tls_port, tls=context)
        assert client.established
        client.release()
    finally:
        running.server.stop()
    assert isinstance(context, ssl.SSLContext)


def test_data_set_over_the_limit_is_answered_not_buffered(tmp_path: Path) -> None:
    config = directory_config(tmp_path, server_extra=FAST).model_copy()
    limits = config.limits.model_copy(update={"max_image_bytes": 1 << 20})
    running = start_in_process(config.model_copy(update={"limits": limits}))
    try:
        client = PrintClient(running.port)
        _, session = client.session()
        _, film_box, reply = client.film_box(session)
        box = box_uids(reply)[0]
        big = np.zeros((2048, 2048), np.uint16)  # 8 MiB against a 2 MiB data set limit
        status = client.gray(box, 1, big)
        assert status.Status == 0xC605
        assert "MiB" in str(status.ErrorComment)
        assert client.established  # answered, not aborted: the association goes on
        assert client.gray(box, 1, np.full((64, 64), 700, np.uint16)).Status == 0
        assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0
        client.release()
        output_files(tmp_path / "output", 1)
    finally:
        running.server.stop()


def test_500_mb_image_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    """Acceptance: a 500 MB N-SET costs well under 1.5 times its size.

    The modality writes its PDUs itself (tests/raw_scu.py), in the Maximum Length the server
    advertises, as pynetdicom's SCU does: pynetdicom spends ten seconds of CPU sending the
    500 MB, and beside other tests on a loaded machine took longer than its own DIMSE timeout.
    """
    server = _process(tmp_path)
    server.start()
    assert server.process is not None
    pid = server.process.pid
    try:
        _film_within(server.port, 10.0, tmp_path / "output")
        before = peer.rss_kb(pid)
        raw = RawAssociation(server.port, [(GRAY_META, [IMPLICIT_LE])], max_pdu=ADVERTISED_PDU)
        _, image_box = one_image_film_box(raw)
        modification = Dataset()
        modification.ImageBoxPosition = 1
        huge = np.zeros((16384, 16000), np.uint16)  # 500 MiB
        modification.BasicGrayscaleImageSequence = [image_item(huge)]
        data = memoryview(encode(modification, IMPLICIT_LE))
        del huge, modification
        context = raw.context(GRAY_META)
        command = command_set(N_SET, GRAY_IMAGE_BOX, 9, dataset=True, instance=image_box)
        peak: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                peak.append(peer.rss_kb(pid))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            raw.sock.sendall(peer.p_data(context.context_id, command, command=True, last=True))
            step = ADVERTISED_PDU - 6  # a PDV item's header takes 6 bytes of the PDU's length
            for start in range(0, len(data), step):
                fragment = bytes(data[start : start + step])
                last = start + step >= len(data)
                raw.sock.sendall(
                    peer.p_data(context.context_id, fragment, command=False, last=last)
                )
            status, _ = raw._response(context)
        finally:
            stop.set()
            watcher.join()
        assert status.Status == 0xC605
        raw.release()
        growth_mb = (max(peak) - before) / 1024
        assert growth_mb < 1.5 * 500, f"peak RSS grew by {growth_mb:.0f} MB"
        assert growth_mb < 300, f"peak RSS grew by {growth_mb:.0f} MB for a refused image"
    finally:
        server.stop()


def test_a_peer_asking_for_tiny_pdus_is_rejected(fast_server: InProcessServer) -> None:
    sock = peer.connect(fast_server.port)
    sock.sendall(peer.associate_rq(max_pdu=16))
    reply = peer.read_pdu(sock)
    assert reply is not None and reply[0] == 0x03  # A-ASSOCIATE-RJ
    sock.close()
    client = PrintClient(fast_server.port)
    assert client.established
    client.release()


def test_a_huge_data_set_on_a_request_other_than_n_set_is_answered(
    fast_server: InProcessServer,
) -> None:
    """Only an N-SET carries pixels; a 2 MiB Film Session N-CREATE is refused unread."""
    client = PrintClient(fast_server.port)
    ds = Dataset()
    ds.FilmSessionLabel = "X"
    ds.add_new(0x00091010, "OB", bytes(2 << 20))  # a private element nobody asked for
    status, _, _ = client.create(sop_class.BasicFilmSession, ds)
    assert status == 0x0213
    assert client.established
    assert client.flat_film(800).Status == 0  # the association goes on
    client.release()


def test_garbled_association_requests_hold_no_slot(fast_server: InProcessServer) -> None:
    """Requests that do not decode are refused before an association exists."""
    rq = bytearray(peer.associate_rq())
    rq[26] = 0xFF  # the calling AE title's first byte
    for _ in range(15):  # more than max_associations
        sock = peer.connect(fast_server.port)
        sock.sendall(rq)
        answer = peer.read_pdu(sock, timeout=5.0)
        assert answer is None or answer[0] == 0x07
        sock.close()
    truncated_item = bytearray(peer.associate_rq())
    truncated_item[-3] = 0xFF  # a user information sub-item claims more than the PDU holds
    sock = peer.connect(fast_server.port)
    sock.sendall(truncated_item)
    assert peer.closed_by_peer(sock, 5.0)
    sock.close()
    start = time.monotonic()
    client = PrintClient(fast_server.port)
    assert client.established and time.monotonic() - start < 2.0
    assert client.flat_film(900).Status == 0
    client.release()


def test_an_unknown_sop_class_is_answered_not_aborted(fast_server: InProcessServer) -> None:
    client = PrintClient(fast_server.port)
    ds = Dataset()
    ds.ImageBoxPosition = 1
    status, _ = client.assoc.send_n_set(
        ds, "1.2.3.4", "1.2.3.4.5", meta_uid=client.meta, msg_id=client.msg()
    )
    assert status.Status == 0x0118
    assert client.established
    assert client.flat_film(900).Status == 0
    client.release()


def test_a_malformed_abort_or_release_ends_only_its_own_connection(
    fast_server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    died: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(repr(args.exc_value)))
    for bad in (
        peer.pdu_header(0x07, 4) + bytes([0, 0, 3, 0]),  # A-ABORT source 3
        peer.pdu_header(0x07, 4) + bytes([0, 0, 2, 9]),  # provider reason 9
        peer.pdu_header(0x05, 4) + b"\x00" * 4,
    ):  # A-RELEASE-RQ, fine
        sock = peer.connect(fast_server.port)
        sock.sendall(peer.associate_rq())
        reply = peer.read_pdu(sock)
        assert reply is not None and reply[0] == 0x02
        sock.sendall(bad)
        assert peer.closed_by_peer(sock, 5.0)
        sock.close()
    client = PrintClient(fast_server.port)
    assert client.established and client.flat_film(700).Status == 0
    client.release()
    assert not died, f"a server thread died: {died}"
