"""README.md is what a newcomer reads first, and no link in it or in docs/ leads nowhere.

README.md stays short and opens with the two setup commands; the rest lives in docs/. Every
relative Markdown link of README.md and docs/*.md must name a file of the repository, and its
``#anchor`` a heading of that file, as GitHub makes the anchor from the heading's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
MAX_README_LINES = 300

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    """One link of a Markdown file: where it is and what it points at."""

    source: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.source.relative_to(REPO)}:{self.line}: ({self.target})"


def _fenced(text: str) -> Iterator[tuple[str, bool]]:
    """Each line of ``text``, and whether it belongs to a fenced code block (fences too)."""
    fence = ""
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            yield line, True
        elif opened:
            fence = opened.group(1)
            yield line, True
        else:
            yield line, False


def _prose(text: str) -> str:
    """``text`` with fenced code blocks and code spans blanked, line breaks kept."""
    lines = ["" if fenced else line for line, fenced in _fenced(text)]
    return _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), "\n".join(lines))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, spaces to '-', punctuation but - and _ dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of every heading of a Markdown file; a repeated one gets -1, -2, …"""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line, fenced in _fenced(path.read_text(encoding="utf-8")):
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[Link]:
    """Every inline link and image of a Markdown file, outside code."""
    text = _prose(path.read_text(encoding="utf-8"))
    return [
        Link(path, text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in _LINK.finditer(text)
    ]


def broken(link: Link, repo: Path = REPO) -> str | None:
    """Why a relative link leads nowhere, or None when it is alive (or not relative)."""
    if not link.target or _SCHEME.match(link.target) or link.target.startswith("//"):
        return None if link.target else "empty link"
    path_part, _, fragment = link.target.partition("#")
    target = (link.source.parent / unquote(path_part)).resolve() if path_part else link.source
    if not target.is_relative_to(repo.resolve()):
        return f"{path_part} is outside the repository"
    if not target.exists():
        return f"{path_part} does not exist"
    if not fragment:
        return None
    if target.suffix != ".md":
        return f"#{fragment} points into {target.name}, which has no headings"
    if unquote(fragment) not in anchors(target):
        return f"{target.relative_to(repo.resolve())} has no heading with anchor #{fragment}"
    return None


def test_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines, at most {MAX_README_LINES}: move the detail to docs/"
    )


def test_readme_opens_with_the_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md has no fenced code block"
    before = text[: block.start()]
    assert not re.search(r"^#{2,6} ", before, re.MULTILINE), (
        "README.md must open with the setup commands, before any section"
    )
    for command in ("bash setup.sh serve", "bash setup.sh test"):
        assert command in block.group(1), f"README.md's first code block lacks `{command}`"


def test_readme_points_at_every_doc() -> None:
    named = {
        (link.source.parent / link.target.partition("#")[0]).resolve()
        for link in links(README)
        if link.target and not _SCHEME.match(link.target)
    }
    missing = [str(doc.relative_to(REPO)) for doc in DOCS if doc.resolve() not in named]
    assert not missing, f"README.md does not link {missing}: add them to 'Where to read on'"


@pytest.mark.parametrize("document", [README, *DOCS], ids=lambda path: str(path.relative_to(REPO)))
def test_relative_links_lead_somewhere(document: Path) -> None:
    dead = [f"{link}: {why}" for link in links(document) if (why := broken(link)) is not None]
    assert not dead, "broken links:\n" + "\n".join(dead)


def test_slug_follows_github() -> None:
    assert (
        slug("Choices where the standard leaves room") == "choices-where-the-standard-leaves-room"
    )
    assert slug("As a service (systemd)") == "as-a-service-systemd"
    assert slug("One printer's fault stays with that printer") == (
        "one-printers-fault-stays-with-that-printer"
    )
    assert slug("`--json`") == "--json"
    assert slug("One film: `bench/bench_film.py`") == "one-film-benchbench_filmpy"
    assert slug("printserver — a print server") == "printserver--a-print-server"


def test_the_checker_finds_dead_links(tmp_path: Path) -> None:
    """A missing file, a missing heading or a way out fails; links inside code do not count."""
    (tmp_path / "docs").mkdir()
    target = tmp_path / "docs" / "target.md"
    target.write_text("# Target\n\n## Real heading\n\n## Real heading\n", encoding="utf-8")
    source = tmp_path / "README.md"
    source.write_text(
        "[ok](docs/target.md#real-heading) [ok too](docs/target.md#real-heading-1)\n"
        "[gone](docs/missing.md)\n"
        "[no such heading](docs/target.md#imagined)\n"
        "[outside](../elsewhere.md)\n"
        "[web](https://example.org/x) `[code](docs/missing.md)`\n"
        "```\n[fenced](docs/missing.md)\n```\n",
        encoding="utf-8",
    )
    found = links(source)
    assert [link.line for link in found] == [1, 1, 2, 3, 4, 5]
    reasons = [broken(link, repo=tmp_path) for link in found]
    assert reasons[0] is None and reasons[1] is None and reasons[5] is None
    assert reasons[2] == "docs/missing.md does not exist"
    assert reasons[3] == "docs/target.md has no heading with anchor #imagined"
    assert reasons[4] == "../elsewhere.md is outside the repository"
