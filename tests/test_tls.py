"""DICOM TLS (PS3.15 B.1) on its own port, with and without client certificates."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pynetdicom import sop_class

from printserver.net.scp import start_server
from printserver.server import PrintServer
from tests.print_client import PrintClient, box_uids
from tests.server_harness import (
    directory_config,
    free_port,
    release_port,
    start_in_process,
    wait_for_jobs,
)

pytestmark = pytest.mark.integration


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _client_context(server_cert: Path, client: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(server_cert))
    if client is not None:
        context.load_cert_chain(str(client[0]), str(client[1]))
    return context


def _tls_config(tmp_path: Path, port: int, *, mutual: bool) -> str:
    server_cert, server_key = _self_signed(tmp_path, "server")
    lines = [
        f'[server.tls]\nport = {port}\ncertificate = "{server_cert}"\n'
        f'private_key = "{server_key}"\n'
    ]
    if mutual:
        client_cert, _ = _self_signed(tmp_path, "modality")
        lines.append(f'ca_certificates = "{client_cert}"\nrequire_client_certificate = true\n')
    return "".join(lines)


def test_tls_port_prints_and_plain_tcp_there_is_refused(tmp_path: Path) -> None:
    port = free_port()
    config = directory_config(tmp_path, server_extra=_tls_config(tmp_path, port, mutual=False))
    running = start_in_process(config)
    try:
        assert running.server.tls_address == ("127.0.0.1", port)
        context = _client_context(tmp_path / "server.pem", None)
        client = PrintClient(port, tls=context)
        assert client.established
        assert client.assoc.send_c_echo().Status == 0
        _, session = client.session()
        _, film_box, reply = client.film_box(session)
        assert client.gray(box_uids(reply)[0], 1, np.full((32, 32), 900, np.uint16)).Status == 0
        assert client.action(sop_class.BasicFilmBox, film_box)[0].Status == 0
        client.release()
        wait_for_jobs(running.spool, 1, {"done"})
        plain = PrintClient(port)
        assert not plain.established
        clear = PrintClient(running.port)  # the plain port keeps working
        assert clear.established
        clear.release()
    finally:
        running.server.stop()


def test_client_certificate_is_required_when_configured(tmp_path: Path) -> None:
    port = free_port()
    config = directory_config(tmp_path, server_extra=_tls_config(tmp_path, port, mutual=True))
    running = start_in_process(config)
    try:
        anonymous = PrintClient(port, tls=_client_context(tmp_path / "server.pem", None))
        assert not anonymous.established
        known = (tmp_path / "modality.pem", tmp_path / "modality.key")
        client = PrintClient(port, tls=_client_context(tmp_path / "server.pem", known))
        assert client.established and client.assoc.send_c_echo().Status == 0
        client.release()
    finally:
        running.server.stop()


def test_a_tls_port_that_cannot_be_bound_leaves_no_plain_listener(tmp_path: Path) -> None:
    """Both listeners or neither: the plain port is closed again when the TLS one fails."""
    plain_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        tls_port = taken.getsockname()[1]
        config = directory_config(
            tmp_path, server_extra=_tls_config(tmp_path, tls_port, mutual=False)
        )
        server = config.server.model_copy(update={"port": plain_port})
        service = PrintServer(config).service
        with pytest.raises(OSError):
            start_server(server, service, config.limits.max_message_bytes)
    release_port(plain_port)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", plain_port))  # free again: nothing listens there
