"""The directory sink: atomic, idempotent files named after the job."""

from __future__ import annotations

from pathlib import Path

from printserver.sinks.base import Submission
from printserver.sinks.directory import DirectorySink


def test_writes_atomically_and_rewrites_in_place(tmp_path: Path) -> None:
    document = tmp_path / "film.ps"
    document.write_bytes(b"%!PS-Adobe-3.0\nfirst\n")
    sink = DirectorySink("P", tmp_path / "out")
    created: list[int] = []
    assert sink.submit(Submission("printserver-1", document), created.append) is None
    assert created == []
    assert (tmp_path / "out" / "printserver-1.ps").read_bytes() == document.read_bytes()
    document.write_bytes(b"%!PS-Adobe-3.0\nsecond\n")
    sink.submit(Submission("printserver-1", document), created.append)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["printserver-1.ps"]
    assert (tmp_path / "out" / "printserver-1.ps").read_bytes().endswith(b"second\n")
    assert sink.status().ok


def test_unwritable_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    sink = DirectorySink("P", blocker / "out")
    assert not sink.status().ok
