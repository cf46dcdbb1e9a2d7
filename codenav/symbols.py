"""Where a name is defined and where it is used, across the repository.

References are matched by name, as the tags record them: ``Shape.area`` narrows the
definitions to those inside ``Shape``, but the uses of ``area`` cannot be told apart
without type information, so all of them are listed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from .index import RepoIndex
from .tags import Definition

_MAX_LINE = 160
_SIMILAR = 8


@dataclass
class SymbolMatches:
    query: str
    name: str
    definitions: list[tuple[str, Definition]] = field(default_factory=list)
    references: list[tuple[str, int]] = field(default_factory=list)  # (path, line)


def find_symbol(index: RepoIndex, query: str, within: str = "") -> SymbolMatches:
    """Definitions of ``query`` (a name, or ``Scope.name``) and the uses of its name, in
    files under ``within`` (the whole repository when empty)."""
    scope, _, name = query.strip().rpartition(".")
    matches = SymbolMatches(query.strip(), name)
    for path in sorted(index.files):
        if within and path != within and not path.startswith(within.rstrip("/") + "/"):
            continue
        tags = index.files[path]
        matches.definitions.extend(
            (path, d) for d in tags.definitions if d.name == name and _in_scope(d, scope)
        )
        matches.references.extend((path, line) for line in tags.references.get(name, ()))
    return matches


def _in_scope(definition: Definition, scope: str) -> bool:
    return not scope or definition.scope == scope or definition.scope.endswith("." + scope)


def similar_names(index: RepoIndex, query: str) -> list[str]:
    """Defined names that contain the query or look like it, for a search that found
    nothing."""
    wanted = query.rpartition(".")[2].lower()
    names = sorted({d.name for tags in index.files.values() for d in tags.definitions})
    containing = [n for n in names if wanted and wanted in n.lower()]
    close = difflib.get_close_matches(wanted, names, n=_SIMILAR, cutoff=0.7)
    return list(dict.fromkeys(containing + close))[:_SIMILAR]


def render_matches(matches: SymbolMatches, root: Path, max_references: int) -> str:
    """Definitions (with signatures) first, then references with their lines' text."""
    lines = [f"definitions of {matches.query} ({len(matches.definitions)}):"]
    lines += [f"  {path}:{d.line}-{d.end_line}  {d.signature}" for path, d in matches.definitions]
    if not matches.definitions:
        lines.append("  (none found)")
    refs = matches.references
    files = len({path for path, _ in refs})
    lines.append(f"references to {matches.name} ({len(refs)} in {files} file{'s' * (files != 1)}):")
    texts = _LineReader(root)
    lines += [f"  {path}:{line}  {texts.line(path, line)}" for path, line in refs[:max_references]]
    if not refs:
        lines.append("  (none found)")
    elif len(refs) > max_references:
        lines.append(f"  [... {len(refs) - max_references} more; narrow the search with `path`]")
    return "\n".join(lines)


class _LineReader:
    """Lines of the files that have hits, each file read once."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lines: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        if path not in self._lines:
            try:
                text = (self._root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self._lines[path] = text.splitlines()
        lines = self._lines[path]
        text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 1] + "…"
