"""Shared fixtures: a private cupsd with a loopback socket sink (tests/cups_harness.py) and the
print server run in-process or as its own process (tests/server_harness.py).

Under pytest-xdist (``bash setup.sh test``) two marks say how a test shares the machine:

* ``timed``: it asserts how long something takes, as a machine running only that test would
  measure it.  It runs ahead of the tests beside it: those, and the servers, clients and
  daemons they start, run at a niceness of :data:`BESIDE_TIMED`, so they take only the CPU
  time a timed test leaves.
* ``alone``: it loads the machine on purpose (the soak's busy loops) and asserts what its
  server still does; no other test of the run runs meanwhile.  A worker reaching such a test
  waits until the tests under way elsewhere end, and the other workers wait until it ends.
"""

from __future__ import annotations

import fcntl
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.cups_harness", "tests.server_harness"]

BESIDE_TIMED = 10
"""The niceness of an untimed test in a pytest-xdist worker: about a tenth of a timed test's
share of a busy CPU."""


@functools.cache
def _may_renice() -> bool:
    """Whether this process may go back to niceness 0 (root may; others keep their niceness)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 1)
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except PermissionError:
        return False
    return True


@pytest.fixture(autouse=True)
def _share_the_machine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Before any fixture starts a process or a thread (both inherit the niceness): take the
    run's machine lock, shared, or alone for an ``alone`` test, and set the worker's niceness,
    0 for a ``timed`` or ``alone`` test and :data:`BESIDE_TIMED` for the others."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    alone = request.node.get_closest_marker("alone") is not None
    first = alone or request.node.get_closest_marker("timed") is not None
    if _may_renice():
        os.setpriority(os.PRIO_PROCESS, 0, 0 if first else BESIDE_TIMED)
    run = tmp_path_factory.getbasetemp().parent  # shared by the workers of this run
    with _MachineLock(run, alone):
        yield


@functools.cache
def _lock_file(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


class _MachineLock:
    """The run's machine lock: shared by the tests that may run side by side, held alone by an
    ``alone`` test.  A turnstile taken before it keeps a waiting ``alone`` test from being
    overtaken by the tests that start after it asked."""

    def __init__(self, run: Path, alone: bool) -> None:
        self.turnstile = _lock_file(run / "machine.turnstile")
        self.lock = _lock_file(run / "machine.lock")
        self.alone = alone

    def __enter__(self) -> None:
        fcntl.flock(self.turnstile, fcntl.LOCK_EX)
        fcntl.flock(self.lock, fcntl.LOCK_EX if self.alone else fcntl.LOCK_SH)
        if not self.alone:
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        if self.alone:
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)
