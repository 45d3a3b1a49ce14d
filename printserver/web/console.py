"""The console inside ``printserver serve``: uvicorn serving the application from a thread.

The socket is bound in :meth:`WebConsole.start`, so a port in use stops the server at
start-up with the reason instead of failing later in the thread.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import uvicorn

from printserver.config import Config
from printserver.sinks.base import Sink
from printserver.spool.store import SpoolStore
from printserver.web.app import Console, create_app
from printserver.web.connections import ConnectionLimits, protocol_class
from printserver.web.security import Gate

LOG = logging.getLogger(__name__)
STARTUP_TIMEOUT = 10.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(64)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    return listener


class WebConsole:
    """The operator web console of one print server (``[web]`` in the configuration)."""

    def __init__(
        self, config: Config, sinks: Mapping[str, Sink], wake: Sequence[Callable[[], None]] = ()
    ) -> None:
        self.settings = config.web
        gate = Gate(
            config.web.users,
            config.web.session_minutes * 60,
            secure=config.web.certificate is not None,
        )
        self.console = Console(config, SpoolStore(config.spool.directory), sinks, gate, wake)
        self.address: tuple[str, int] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.address is not None
        host, port = self.address
        scheme = "https" if self.settings.certificate else "http"
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self) -> tuple[str, int]:
        """Bind, serve from a daemon thread, and return the bound address."""
        listener = _bind(self.settings.host, self.settings.port)
        self.address = (self.settings.host, int(listener.getsockname()[1]))
        settings = self.settings
        server_config = uvicorn.Config(
            create_app(self.console),
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            http=protocol_class(
                ConnectionLimits(settings.request_seconds, settings.connections_per_address)
            ),
            ws="none",
            timeout_keep_alive=5,
            limit_concurrency=None,  # connections.py bounds them, per address and in all
            ssl_certfile=str(settings.certificate) if settings.certificate else None,
            ssl_keyfile=str(settings.private_key) if settings.private_key else None,
        )
        try:
            server_config.load()  # here, so that a bad certificate stops the start with its reason
        except BaseException:
            listener.close()
            raise
        self._server = uvicorn.Server(server_config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, name="web-console", daemon=True
        )
        self._thread.start()
        self._wait_started()
        LOG.info("web console on %s", self.url)
        return self.address

    def _wait_started(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web console did not start; see the log above")
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (requests in flight get ``timeout`` seconds) and its pools."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.console.close()
