"""Delivery lanes: one delivery worker per printer, so one printer's fault stays with it.

A CUPS host that accepts connections and never answers holds the thread that
calls it until the call's deadline (``sinks/deadline.py``), again at every
retry.  With one lane per printer that thread is the hung printer's own: films
for every other printer keep flowing.  The lanes share the spool and its
guarantees (each job is advanced under its lock, exactly once to CUPS, resumed
after a crash); the first lane also takes jobs of printers no longer configured
and keeps the spool's retention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from printserver.sinks.base import Sink
from printserver.spool.store import SpoolStore
from printserver.spool.worker import SpoolWorker


class DeliveryLanes:
    """The delivery workers of all printers, started, woken and stopped together."""

    def __init__(self, store: SpoolStore, sinks: Mapping[str, Sink], **options: Any) -> None:
        names: list[str | None] = [*sorted(sinks)] or [None]
        self.lanes = [
            SpoolWorker(store, sinks, lane=name, strays=index == 0, **options)
            for index, name in enumerate(names)
        ]

    def start(self) -> None:
        for lane in self.lanes:
            lane.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every lane to stop, then wait for each (a lane inside a hung CUPS call is
        left behind at its deadline; the spool is consistent on disk at every moment)."""
        for lane in self.lanes:
            lane.halt()
        for lane in self.lanes:
            lane.stop(timeout / len(self.lanes))

    def wake(self) -> None:
        """A job was added or changed: every lane looks (each takes only its own)."""
        for lane in self.lanes:
            lane.wake()

    def alive(self) -> bool:
        """Every lane's thread is running (the watchdog's question)."""
        return all(lane.alive() for lane in self.lanes)
