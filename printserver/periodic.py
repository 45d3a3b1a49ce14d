"""A daemon thread that does one thing every so often until it is stopped.

The systemd watchdog pings and the check of unanswered requests both run this
way; a leaf module, so that either may use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls ``tick()`` every ``interval`` seconds on a daemon thread named ``name``."""

    def __init__(self, name: str, interval: float, tick: Callable[[], None]) -> None:
        self.name = name
        self.interval = interval
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._tick()
