"""``printserver serve``: run the DICOM print server until SIGINT or SIGTERM."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

from printserver.config import Config
from printserver.terminal import EscapingFormatter


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (mallopt M_ARENA_MAX) before any thread starts.

    Every connection and association has a thread; glibc gives threads arenas
    of their own (up to eight per core), and the pages a film freed in one
    arena are not reused by the next film rendered in another.  Measured with
    20 idle connections held open: peak RSS 395 MB with the default, 192 MB
    with two arenas, the same as with none held open.  Not glibc: no-op.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def serve(config: Config) -> int:
    from printserver.server import PrintServer  # pulls in pynetdicom only when serving

    _limit_malloc_arenas()

    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=config.server.log_level, handlers=[handler])
    PrintServer(config).serve_forever()
    return 0
