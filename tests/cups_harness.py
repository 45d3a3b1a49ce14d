"""A private cupsd in a temporary directory, printing to a loopback socket sink.

Nothing here touches the system's CUPS: every path of the daemon lives in a
short directory under /tmp (its unix socket path must stay under 108 bytes),
it listens on that socket only, and its queue's device is a TCP listener on
127.0.0.1 that stores each job as its own file.
"""

from __future__ import annotations

import grp
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CUPSD = "/usr/sbin/cupsd"


class SocketSink:
    """A tiny AppSocket printer: each connection's bytes become one file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._stop = threading.Event()
        self._count = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._count += 1
            partial = self.directory / f".job-{self._count:04d}.part"
            with connection, open(partial, "wb") as out:
                connection.settimeout(60)
                while True:
                    try:
                        chunk = connection.recv(1 << 20)
                    except (TimeoutError, OSError):
                        break
                    if not chunk:
                        break
                    out.write(chunk)
            partial.rename(self.directory / f"job-{self._count:04d}.prn")

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("job-*.prn"))

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Path]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.files()) >= count:
                return self.files()
            time.sleep(0.05)
        raise TimeoutError(f"socket sink got {len(self.files())} of {count} jobs")

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(5)


_PPDS: dict[str, bytes] = {}
"""The PPD cupsd made from each driver model, by the first queue of this process that used
it.  The next queues get that same PPD with ``lpadmin -P``, so that cups-driverd does not
compile the driver again for each (half a second of CPU every time)."""


class PrivateCups:
    """cupsd with every path inside one temporary directory."""

    def __init__(self, tcp_port: int | None = None, *, tls: bool = False) -> None:
        if not Path(CUPSD).exists():
            raise RuntimeError("cupsd is not installed (apt-get install cups)")
        self.tcp_port = tcp_port  # also listen on 127.0.0.1:tcp_port (IPP over TCP)
        self.tls = tls  # a self-signed certificate made on first use, for IPP over TLS
        self.root = Path(tempfile.mkdtemp(prefix="pc", dir="/tmp"))
        os.chmod(self.root, 0o755)  # filters run as lp when cupsd runs as root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return str(self.root / "cups.sock")

    def _write_config(self) -> None:
        for sub in ("etc", "state", "cache", "spool/tmp", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(self.root / sub, 0o755)
        os.chmod(self.root / "spool/tmp", 0o1777)
        group = grp.getgrgid(os.getgid()).gr_name
        (self.root / "etc/cups-files.conf").write_text(
            f"ServerRoot {self.root}/etc\nStateDir {self.root}/state\n"
            f"CacheDir {self.root}/cache\nRequestRoot {self.root}/spool\n"
            f"TempDir {self.root}/spool/tmp\nErrorLog {self.root}/log/error_log\n"
            f"AccessLog {self.root}/log/access_log\nPageLog {self.root}/log/page_log\n"
            f"FileDevice Yes\nPrintcap {self.root}/printcap\nSystemGroup {group}\n"
            + (f"ServerKeychain {self.root}/ssl\nCreateSelfSignedCerts yes\n" if self.tls else "")
        )
        if self.tls:
            (self.root / "ssl").mkdir(mode=0o700, exist_ok=True)
        tcp = f"Listen 127.0.0.1:{self.tcp_port}\n" if self.tcp_port else ""
        (self.root / "etc/cupsd.conf").write_text(
            f"Listen {self.server}\n{tcp}Browsing No\nBrowseLocalProtocols none\n"
            "WebInterface No\nDefaultAuthType None\nJobRetryInterval 2\n"
            "PreserveJobHistory Yes\nLogLevel info\n"
            "<Location />\n  Order allow,deny\n  Allow 127.0.0.1\n  Allow @LOCAL\n</Location>\n"
            "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
        )

    def start(self) -> None:
        self._write_config()
        self.process = subprocess.Popen(
            [
                CUPSD,
                "-f",
                "-c",
                f"{self.root}/etc/cupsd.conf",
                "-s",
                f"{self.root}/etc/cups-files.conf",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(self.server).exists():
                with socket.socket(socket.AF_UNIX) as probe:
                    if probe.connect_ex(self.server) == 0:
                        return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"private cupsd did not start:\n{self.error_log()}")

    def lp(self, *command: str) -> None:
        subprocess.run(
            [*command],
            check=True,
            timeout=30,
            capture_output=True,
            env=dict(os.environ, CUPS_SERVER=self.server),
        )

    def add_queue(
        self, name: str, device_uri: str, model: str = "drv:///sample.drv/generic.ppd"
    ) -> None:
        """A queue ``name`` printing to ``device_uri``, its PPD made from the driver ``model``."""
        made = _PPDS.get(model)
        if made is None:
            source = ["-m", model]
        else:
            ppd = self.root / f"{name}.model.ppd"
            ppd.write_bytes(made)
            source = ["-P", str(ppd)]
        self.lp("lpadmin", "-h", self.server, "-p", name, "-E", "-v", device_uri, *source)
        if made is None:
            _PPDS[model] = (self.root / "etc/ppd" / f"{name}.ppd").read_bytes()
        self.accept(name)
        self.lp("cupsenable", "-h", self.server, name)

    def reject(self, name: str) -> None:
        self.lp("cupsreject", "-h", self.server, name)

    def accept(self, name: str) -> None:
        self.lp("cupsaccept", "-h", self.server, name)

    def error_log(self) -> str:
        path = self.root / "log/error_log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no error_log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class CupsQueue:
    cups: PrivateCups
    sink: SocketSink
    queue: str

    @property
    def server(self) -> str:
        return self.cups.server


@pytest.fixture
def socket_sink(tmp_path: Path) -> Iterator[SocketSink]:
    sink = SocketSink(tmp_path / "device")
    yield sink
    sink.stop()


@pytest.fixture
def private_cups() -> Iterator[PrivateCups]:
    cupsd = PrivateCups()
    cupsd.start()
    yield cupsd
    cupsd.remove()


@pytest.fixture
def cups_queue(private_cups: PrivateCups, socket_sink: SocketSink) -> CupsQueue:
    """A PostScript queue ``film`` whose device is the loopback socket sink."""
    private_cups.add_queue("film", f"socket://127.0.0.1:{socket_sink.port}/?snmp=false")
    return CupsQueue(private_cups, socket_sink, "film")
