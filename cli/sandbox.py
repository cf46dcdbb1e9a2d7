"""``sandbox build|image|ls|prune|run``: manage and debug sandboxes."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..sandboxes.base import ExecResult
    from ..sandboxes.config import SandboxConfig

app = typer.Typer(
    help="Build the sandbox image, list, prune and try sandboxes.", no_args_is_help=True
)

#: Exit statuses of ``sandbox run`` that are not the command's own (as ``docker run``).
EXIT_SANDBOX_ERROR = 125
EXIT_TIMED_OUT = 124
EXIT_INTERRUPTED = 130


@contextlib.contextmanager
def _errors_to_exit(code: int = 1) -> Iterator[None]:
    from ..sandboxes.base import SandboxError

    try:
        yield
    except SandboxError as exc:
        typer.echo(f"asyncfc-agent: {exc}", err=True)
        raise typer.Exit(code) from None


@app.command("build")
def build(
    offline: Annotated[bool, typer.Option(
        "--offline", help="Build from Debian packages (debootstrap + import); pulls no image."
    )] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the image exists.")] = False,
    mirror: Annotated[str | None, typer.Option(
        help="Debian mirror for --offline; default: the one apt uses."
    )] = None,
) -> None:
    """Build the default sandbox image, unless its recipe's image exists already."""
    from ..sandboxes.image import build_image

    started = time.monotonic()

    def progress(line: str) -> None:
        from .sanitize import sanitize  # what a build step printed

        typer.echo(f"[{time.monotonic() - started:6.1f}s] {sanitize(line)}", err=True)

    with _errors_to_exit():
        result = build_image(offline=offline, force=force, mirror=mirror, progress=progress)
    if result.built:
        typer.echo(f"built {result.image} ({result.method}) in {result.seconds:.0f} s")
    else:
        typer.echo(f"{result.image} is up to date")
    from ..sandboxes.engine import connect
    from ..sandboxes.image import stale_images

    with contextlib.suppress(Exception):  # only a hint: never fail a build over it
        if old := stale_images(connect()):
            typer.echo(f"{len(old)} image(s) of earlier recipes take space: "
                       "`asyncfc-agent sandbox prune --images` removes them", err=True)


@app.command("image")
def image() -> None:
    """Print the default image's tag; exit 1 if the engine does not have it."""
    from ..sandboxes.engine import connect, image_present
    from ..sandboxes.image import default_image, missing_image_message

    tag = default_image()
    typer.echo(tag)
    with _errors_to_exit():
        present = image_present(connect(), tag)
    if not present:
        typer.echo(f"asyncfc-agent: {missing_image_message(tag)}", err=True)
        raise typer.Exit(1)


@app.command("ls")
def ls() -> None:
    """List sandbox containers, with their session and whether its process still runs."""
    from ..sandboxes.containers import list_containers
    from ..sandboxes.engine import connect

    with _errors_to_exit():
        found = list_containers(connect())
    rows = [("NAME", "STATUS", "SESSION", "ROLE", "OWNER", "CREATED")]
    for c in found:
        owner = {True: "alive", False: "dead", None: f"on {c.host}"}[c.owner_alive]
        rows.append((c.name, c.status, c.session, c.role, f"pid {c.pid} {owner}", c.created))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@app.command("prune")
def prune(
    all_sessions: Annotated[bool, typer.Option(
        "--all", help="Remove every sandbox container, also of sessions still running."
    )] = False,
    images: Annotated[bool, typer.Option(
        "--images", help="Also remove default images built from earlier recipes."
    )] = False,
) -> None:
    """Remove the containers and worktrees of sessions whose process has ended on this host."""
    from ..agent.owners import reap
    from ..sandboxes.containers import prune as prune_containers
    from ..sandboxes.engine import connect
    from ..sandboxes.image import remove_stale_images

    # worktrees first: they need no engine (their uncommitted work goes on their branch)
    for path in reap():
        typer.echo(f"removed worktree {path} (its work is on its branch)")
    with _errors_to_exit():
        client = connect()
        removed = prune_containers(client, all_sessions=all_sessions)
        for c in removed:
            typer.echo(f"removed {c.name} (session {c.session})")
        typer.echo(f"{len(removed)} container(s) removed")
        if images:
            gone, kept = remove_stale_images(client)
            for tag in gone:
                typer.echo(f"removed image {tag}")
            for tag, why in kept:
                typer.echo(f"kept image {tag}: {why}", err=True)
            typer.echo(f"{len(gone)} image(s) removed")


@app.command("run")
def run(
    command: Annotated[list[str], typer.Argument(
        help="The command after --; one argument is run by the shell, several as argv."
    )],
    repo: Annotated[Path, typer.Option(help="Repository to run in.")] = Path("."),
    sandbox: Annotated[str, typer.Option(help="docker or local.")] = "docker",
    in_place: Annotated[bool, typer.Option(
        "--in-place", help="Mount the repository itself, not a throwaway copy: "
        "the command can change your files (and, under root, they are handed to the "
        "sandbox user)."
    )] = False,
    timeout: Annotated[float | None, typer.Option(help="Seconds before the command is killed.")] = None,
    image: Annotated[str | None, typer.Option(help="Image to use instead of the default.")] = None,
    network: Annotated[str, typer.Option(help="Docker network mode.")] = "none",
    memory: Annotated[str, typer.Option(help="Memory limit.")] = "2g",
) -> None:
    """Run one command in a fresh sandbox of a repository; exit with its exit status."""
    from ..sandboxes.config import SandboxConfig

    repo = repo.resolve()
    if not repo.is_dir():
        typer.echo(f"asyncfc-agent: {repo} is not a directory", err=True)
        raise typer.Exit(2)
    with _errors_to_exit(EXIT_SANDBOX_ERROR):
        config = SandboxConfig(image=image, network=network, memory=memory)
    try:
        with _workspace(repo, in_place=in_place) as workspace:
            code = asyncio.run(_run(command, workspace, sandbox, config, timeout_s=timeout,
                                    protect_git=in_place))
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    raise typer.Exit(code)


async def _run(
    argv: list[str], workspace: Path, kind: str, config: SandboxConfig, *,
    timeout_s: float | None, protect_git: bool = False,
) -> int:
    from ..sandboxes.base import SandboxError
    from ..sandboxes.factory import make_sandbox
    from ..sandboxes.local import WARNING

    if kind == "local":
        typer.echo(f"warning: {WARNING}", err=True)
    command: str | list[str] = argv[0] if len(argv) == 1 else argv
    session = f"run-{uuid.uuid4().hex[:8]}"
    try:
        # in place, the repository's own .git is mounted read-only: a command must not
        # plant config (fsmonitor, hooks) that the user's next git command would run
        dotgit = workspace / ".git"
        git_dir = dotgit if protect_git and dotgit.is_dir() and not dotgit.is_symlink() else None
        async with make_sandbox(kind, workspace, session_id=session, config=config,
                                git_dir=git_dir) as box:
            result = await box.exec(command, timeout_s=timeout_s, on_output=_write)
    except SandboxError as exc:
        typer.echo(f"asyncfc-agent: {exc}", err=True)
        return EXIT_SANDBOX_ERROR
    return _exit_status(result, timeout_s)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _exit_status(result: ExecResult, timeout: float | None) -> int:
    if result.timed_out:
        typer.echo(f"asyncfc-agent: the command timed out after {timeout:g} s", err=True)
        return EXIT_TIMED_OUT
    code = result.exit_code if result.exit_code is not None else EXIT_SANDBOX_ERROR
    return 128 - code if code < 0 else code  # killed by a signal, as the shell says it


@contextlib.contextmanager
def _workspace(repo: Path, *, in_place: bool) -> Iterator[Path]:
    """The repository itself, or a throwaway copy of it (the default)."""
    if in_place:
        yield repo
        return
    base = Path(tempfile.gettempdir()).resolve()
    if base == repo or repo in base.parents:  # a copy of /tmp cannot live in /tmp
        base = repo.parent
    try:
        if base == repo:
            raise OSError("it has no parent folder")
        scratch = Path(tempfile.mkdtemp(prefix="asyncfc-run-", dir=base))
    except OSError as exc:
        typer.echo(f"asyncfc-agent: no room for a copy of {repo} ({exc}); use --in-place", err=True)
        raise typer.Exit(EXIT_SANDBOX_ERROR) from None
    try:
        copy = scratch / repo.name
        _copy_tree(repo, copy)
        yield copy
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_tree(src: Path, dest: Path) -> None:
    done = subprocess.run(
        ["cp", "-a", "--reflink=auto", str(src), str(dest)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        typer.echo(f"asyncfc-agent: cannot copy {src}: {done.stderr.strip()}", err=True)
        raise typer.Exit(EXIT_SANDBOX_ERROR)
