"""The three entry points the tools and the command line share.

They block (parsing is CPU work): async callers run them in a thread.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..safefs import FsError, Root, kind_of, size_text, stat_path
from .errors import CodeNavError
from .files import MAX_FILE_BYTES
from .index import IndexStats, build_index, parse_file
from .languages import SUPPORTED_SUFFIXES, language_for
from .rank import rank_definitions
from .render import estimate_tokens, fit_map, render_outline
from .symbols import find_symbol, render_matches, similar_names

#: Token budget of a map when the caller gives none.
DEFAULT_MAP_TOKENS = 1024
#: References listed by ``find_symbol_text`` when the caller gives no limit.
DEFAULT_MAX_REFERENCES = 100


def outline_text(path: Path, display: str | None = None) -> str:
    """The outline of one file; ``display`` is how the header names it."""
    path = path.resolve()
    return outline_file(Root(path.parent), path.name, display or str(path))


def outline_file(root: Root, rel: str, display: str | None = None) -> str:
    """The outline of the file ``rel`` under ``root``, never read from outside it."""
    shown = display or rel
    try:
        st = stat_path(root, rel)
    except FsError as e:
        raise CodeNavError(str(e)) from None
    if st is None:
        raise CodeNavError(f"{shown}: no such file")
    if stat.S_ISDIR(st.st_mode):
        raise CodeNavError(f"{shown} is a directory, not a source file")
    if language_for(rel.rpartition("/")[2]) is None:
        raise CodeNavError(
            f"{shown}: unsupported language (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    if not stat.S_ISREG(st.st_mode):
        raise CodeNavError(f"{shown} is {kind_of(st.st_mode)}, not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise CodeNavError(f"{shown} is {size_text(st.st_size)}: outlines are made of files "
                           f"up to {size_text(MAX_FILE_BYTES)}")
    tags = parse_file(root, rel)
    if tags is None:
        raise CodeNavError(f"{shown}: not a readable text file")
    return render_outline(shown, tags)


def find_symbol_text(
    root: Path,
    name: str,
    *,
    within: str = "",
    max_references: int = DEFAULT_MAX_REFERENCES,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    git_dir: Path | None = None,
) -> str:
    """Definitions and references of ``name``, as text (``git_dir``: see ``source_files``)."""
    if not name.strip().rpartition(".")[2]:
        raise CodeNavError("give a name to look for")
    index = build_index(root, cache_dir=cache_dir, use_cache=use_cache, git_dir=git_dir)
    matches = find_symbol(index, name, within)
    if matches.definitions or matches.references:
        return render_matches(matches, index.root, max_references)
    text = f"no definition or reference of {matches.query}"
    if within:
        text += f" under {within}"
    similar = similar_names(index, name)
    return text + (f"; similar names: {', '.join(similar)}" if similar else "")


@dataclass(frozen=True)
class RepoMapResult:
    text: str
    #: Ranked definitions shown, of all definitions in the repository.
    shown: int
    definitions: int
    files_shown: int
    files: int
    #: Focus paths that are not indexed source files.
    unknown_focus: tuple[str, ...]
    stats: IndexStats

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)

    def summary(self) -> str:
        return (f"{self.shown} of {self.definitions} definitions, {self.files_shown} of "
                f"{self.files} files, ~{self.tokens} tokens")


def repo_map(
    root: Path,
    *,
    focus: Sequence[str] = (),
    max_tokens: int = DEFAULT_MAP_TOKENS,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    git_dir: Path | None = None,
) -> RepoMapResult:
    """The repository's most relevant definitions for ``focus`` (repository-relative
    posix paths) within ``max_tokens``."""
    index = build_index(root, cache_dir=cache_dir, use_cache=use_cache, git_dir=git_dir)
    # Every shown definition costs at least one token, so no more can fit.
    ranked = rank_definitions(index.files, set(focus), limit=max_tokens)
    fitted = fit_map(ranked, index.files, max_tokens)
    return RepoMapResult(
        text=fitted.text,
        shown=fitted.shown,
        definitions=sum(len(tags.definitions) for tags in index.files.values()),
        files_shown=len({r.path for r in ranked[: fitted.shown]}),
        files=len(index.files),
        unknown_focus=tuple(p for p in focus if p not in index.files),
        stats=index.stats,
    )
