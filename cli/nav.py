"""``map`` and ``outline``: code navigation from the command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from .sanitize import sanitize


def map_command(
    repo: Annotated[
        Path, typer.Option("--repo", help="Repository to map.", show_default="current directory")
    ] = Path("."),
    tokens: Annotated[
        int | None,
        typer.Option("--tokens", min=16, help="Token budget of the map.", show_default="1024"),
    ] = None,
    focus: Annotated[
        list[Path] | None,
        typer.Option("--focus", help="A file you are working on; repeat for more."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Parse every file; neither read nor write the tag cache.")
    ] = False,
) -> None:
    """Print a map of the repository's most relevant definitions.

    Files come most central first, each with its definitions' line numbers and
    signatures. A summary goes to stderr, so the map alone can be redirected to a file.
    """
    from asyncfc_agent.codenav import DEFAULT_MAP_TOKENS, repo_map

    root = repo.resolve()
    if not root.is_dir():
        _fail(f"{repo} is not a directory")
    focus_paths = [_repo_relative(root, f) for f in focus or []]
    started = time.perf_counter()
    result = repo_map(root, focus=focus_paths, max_tokens=tokens or DEFAULT_MAP_TOKENS,
                      use_cache=not no_cache)
    seconds = time.perf_counter() - started
    for path in result.unknown_focus:
        typer.echo(f"warning: {path} is not a source file the map reads; it has no effect",
                   err=True)
    if result.text:
        typer.echo(sanitize(result.text))  # file names and code of the repository
    stats = result.stats
    typer.echo(f"{result.summary()} ({stats.parsed} files parsed, {stats.cached} from the "
               f"cache, {seconds:.2f} s)", err=True)


def outline_command(
    file: Annotated[Path, typer.Argument(help="Source file to outline.", show_default=False)],
) -> None:
    """Print the outline of a source file: its definitions, nested, with line ranges."""
    from asyncfc_agent.codenav import CodeNavError, outline_text

    try:
        typer.echo(sanitize(outline_text(file, str(file))))
    except CodeNavError as e:
        _fail(str(e))


def _repo_relative(root: Path, path: Path) -> str:
    """A focus path as given (from here, or from the repository root), relative to root."""
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, root / path]
    found = next((c.resolve() for c in candidates if c.exists()), None)
    if found is None:
        _fail(f"{path}: no such file")
    if not found.is_relative_to(root):
        _fail(f"{path} is outside the repository {root}")
    return found.relative_to(root).as_posix()


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {sanitize(message)}", err=True)
    raise typer.Exit(2)
