"""docs/conformance.md is what the server does: regenerated from the enforcing code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from printserver.config import ServerConfig
from printserver.conformance import conformance_statement
from printserver.net import status
from printserver.net.scp import ACCEPTED_SOP_CLASSES, build_ae

DOC = Path(__file__).resolve().parent.parent / "docs" / "conformance.md"


def test_the_committed_statement_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == conformance_statement(), (
        "docs/conformance.md is stale: run `printserver conformance -o docs/conformance.md`"
    )


def test_the_statement_lists_what_the_ae_accepts() -> None:
    text = conformance_statement()
    supported = {str(cx.abstract_syntax) for cx in build_ae(ServerConfig()).supported_contexts}
    assert supported == set(ACCEPTED_SOP_CLASSES)
    for uid in supported:
        assert f"| {uid} | SCP |" in text
    for code in (*status.FAILURES, *status.warnings()):
        assert f"0x{code:04X}" in text


def test_cli_writes_it(tmp_path: Path) -> None:
    out = tmp_path / "statement.md"
    subprocess.run(
        [sys.executable, "-m", "printserver", "conformance", "-o", str(out)], check=True, timeout=60
    )
    assert out.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
