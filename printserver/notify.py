"""systemd's service notification protocol (sd_notify(3)): readiness, status, watchdog.

A datagram of ``KEY=value`` lines to the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (an abstract one when the name starts with ``@``).  A few
lines instead of a dependency: python-systemd needs libsystemd headers to
build, and the small sd_notify packages on PyPI are unmaintained.  Without
``$NOTIFY_SOCKET`` (not under systemd, or ``Type=simple``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

from printserver.periodic import Periodic

LOG = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send ``message`` (``READY=1``, ``STATUS=...``, ``WATCHDOG=1``, ``STOPPING=1``) to
    systemd; False when there is no one to tell or it cannot be sent."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:  # systemd gone or restarting: the server keeps serving
        LOG.warning("cannot notify systemd (%s): %s", message.split("=", 1)[0], exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings (half of ``WatchdogSec``, as sd_watchdog_enabled(3)
    advises), or None when systemd does not watch this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process (our parent, say)
    return int(usec) / 2e6


class Watchdog:
    """Pings ``WATCHDOG=1`` every ``interval`` seconds while ``alive()`` holds.

    When it stops holding (a worker thread died) the pings stop, and systemd
    restarts the service after ``WatchdogSec``; the spool resumes at the next start.
    """

    def __init__(self, alive: Callable[[], bool], interval: float) -> None:
        self.alive = alive
        self.interval = interval
        self._complained = False
        self._pings = Periodic("watchdog", interval, self._ping)

    def start(self) -> None:
        self._pings.start()

    def stop(self) -> None:
        self._pings.stop()

    def _ping(self) -> None:
        if self.alive():
            notify("WATCHDOG=1")
            self._complained = False
        elif not self._complained:
            LOG.error("a worker thread is gone: no watchdog ping, systemd will restart us")
            self._complained = True
