"""Imports point downstream only, as docs/architecture.md draws the layers."""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from tests.server_harness import REPO

PACKAGE = REPO / "printserver"


def _ranks() -> dict[str, int]:
    """The table of docs/architecture.md: unit → rank."""
    text = (REPO / "docs" / "architecture.md").read_text()
    ranks: dict[str, int] = {}
    for rank, units in re.findall(r"^\| (\d+) \| (.+) \|$", text, re.MULTILINE):
        for unit in re.findall(r"`([a-z_]+)`", units):
            ranks[unit] = int(rank)
    assert ranks, "docs/architecture.md has no table of layers"
    return ranks


def _unit(module: str) -> str:
    """``printserver.net.session`` → ``net``; ``printserver`` → ``printserver``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) → where, for every import between two units."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target == "printserver" or target.startswith("printserver."):
                    source, imported = _unit(module), _unit(target)
                    if source != imported:
                        found[source, imported].append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_unit_has_a_place_in_the_table() -> None:
    ranks = _ranks()
    units = {
        _unit(".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"))
        for p in PACKAGE.rglob("*.py")
    }
    assert units - set(ranks) == set(), "add these to the table in docs/architecture.md"


def test_no_import_points_upstream() -> None:
    ranks = _ranks()
    upward = [
        f"{source} → {imported} ({', '.join(where)})"
        for (source, imported), where in _imports().items()
        if ranks.get(imported, -1) < ranks.get(source, -1)
    ]
    assert upward == []


def test_no_cycle_between_units() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, imported in _imports():
        graph[source].add(imported)
    done: set[str] = set()

    def visit(unit: str, path: list[str]) -> None:
        assert unit not in path, "import cycle: " + " → ".join([*path, unit])
        if unit in done:
            return
        for imported in sorted(graph[unit]):
            visit(imported, [*path, unit])
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, [])


def test_the_checks_see_a_known_import() -> None:
    """The walker finds imports at all (a broken walker would pass everything)."""
    imports = _imports()
    assert ("net", "order") in imports and ("spool", "sinks") in imports
    assert ("cli", "server") in imports  # an import inside a function counts
