"""Git on the host, against a git directory it trusts and never one the workspace names.

Everything a sandbox can write (the whole work tree, its ``.git`` entry included) is
hostile data: a ``.git`` replaced by a directory whose config sets ``core.fsmonitor``
would otherwise run a command on the host at the next ``git status``. So every host git
call names its git directory and work tree explicitly (no discovery), takes no ``GIT_*``
variable from the environment, and switches off what config or attributes could make
it run: fsmonitor, hooks, pagers, external diff and textconv drivers, submodule recursion,
the ``ext::`` transport.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

AGENT_NAME = "asyncfc-agent"
AGENT_EMAIL = "asyncfc-agent@localhost"

#: Set on every call; ``-c`` wins over every config file and reaches child git processes.
SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    # the git directory is the user's; the work tree may belong to a sandbox's uid
    "safe.directory=*",
    "submodule.recurse=false",
    # a nested repository planted in the work tree is compared by commit, never entered
    "diff.ignoreSubmodules=dirty",
    "status.submoduleSummary=false",
    "protocol.ext.allow=never",
    "gc.auto=0",
    "maintenance.auto=false",
    "commit.gpgSign=false",
    "core.quotePath=true",
)

_OWN_ENV = {
    "GIT_AUTHOR_NAME": AGENT_NAME,
    "GIT_AUTHOR_EMAIL": AGENT_EMAIL,
    "GIT_COMMITTER_NAME": AGENT_NAME,
    "GIT_COMMITTER_EMAIL": AGENT_EMAIL,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
}


class WorkAreaError(Exception):
    """The repository cannot be prepared, committed to, or patched."""


def git_env() -> dict[str, str]:
    """The host environment without any inherited ``GIT_*`` variable, plus ours."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **_OWN_ENV}


def _run(
    prefix: list[str], args: tuple[str, ...], cwd: Path, *, check: bool, input: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    config = [item for pair in SAFE_CONFIG for item in ("-c", pair)]
    argv = ["git", "--no-pager", *prefix, *config, *args]
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, input=input, env=git_env(),
                              stdin=None if input is not None else subprocess.DEVNULL)
    except OSError as exc:
        raise WorkAreaError(f"cannot run git: {exc}") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()
        raise WorkAreaError(f"git {' '.join(args[:2])} failed: {detail or proc.returncode}")
    return proc


@dataclass(frozen=True)
class HostGit:
    """Git bound to one trusted git directory and, for a non-bare use, one work tree."""

    git_dir: Path
    work_tree: Path | None = None
    #: Read ``.gitattributes`` from this commit, not from the work tree: attributes a
    #: command wrote (a working-tree-encoding git cannot apply, a filter) would otherwise
    #: decide how, and whether, the tree can be committed.
    attr_source: str | None = None

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> bytes:
        """Run ``git args``; stdout as bytes. WorkAreaError when it fails and ``check``."""
        return self._run(args, check=check, input=input).stdout

    def _run(
        self, args: tuple[str, ...], *, check: bool, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        prefix = [f"--git-dir={self.git_dir}"]
        if self.work_tree is not None:
            prefix.append(f"--work-tree={self.work_tree}")
        if self.attr_source:
            prefix.append(f"--attr-source={self.attr_source}")
        # git applies and lists relative to its cwd: the work tree's top (no discovery
        # happens there: the git directory is given)
        cwd = self.work_tree if self.work_tree is not None else self.git_dir
        return _run(prefix, args, cwd, check=check, input=input)

    def text(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        return self.run(*args, check=check, input=input).decode("utf-8", "surrogateescape")

    def ok(self, *args: str) -> bool:
        """Whether ``git args`` exits 0 (for the questions git answers with its status)."""
        return self._run(args, check=False).returncode == 0

    def paths(self, *args: str) -> list[str]:
        """The NUL-separated paths a ``-z`` command prints."""
        return [p for p in self.text(*args).split("\0") if p]


def discover(path: Path, *args: str) -> str | None:
    """``git rev-parse args`` run in a directory of the user's (not a workspace), or None.

    Discovery is fine there: the user's own tree and git directory are not writable by
    any sandbox. The environment is scrubbed all the same.
    """
    proc = _run([], ("rev-parse", *args), path, check=False, input=None)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "surrogateescape")


def repo_root(path: Path) -> Path | None:
    """The top of the user's git work tree holding ``path``, with at least one commit."""
    out = discover(path, "--show-toplevel", "--verify", "HEAD")
    return Path(out.splitlines()[0]) if out else None


def for_repo(root: Path) -> HostGit:
    """The git of the user's repository at ``root`` (its own git directory and tree)."""
    out = discover(root, "--absolute-git-dir")
    if not out:
        raise WorkAreaError(f"{root} is not a git repository")
    return HostGit(Path(out.strip()), root)


def worktree_admin_dir(common: Path, worktree: Path) -> Path | None:
    """The git directory of linked worktree ``worktree``, found from the repository's side.

    Each ``<common>/worktrees/<name>/gitdir`` names the ``.git`` file of its worktree; the
    worktree's own ``.git`` is never read, since a sandbox may have rewritten it.
    """
    wanted = worktree.resolve()  # git records real paths
    admin = common / "worktrees"
    if not admin.is_dir():
        return None
    for entry in sorted(admin.iterdir()):
        try:
            named = Path((entry / "gitdir").read_text().strip())
        except OSError:
            continue
        if named.name == ".git" and named.parent.resolve() == wanted:
            return entry
    return None
    for entry in sorted(admin.iterdir()):
        try:
            if (entry / "gitdir").read_text().strip() == wanted:
                return entry
        except OSError:
            continue
    return None


def new_repo(root: Path, message: str) -> HostGit:
    """Make ``root`` a repository on branch main whose one commit holds all its files."""
    git = HostGit(root / ".git", root)
    git.run("init", "-q", "-b", "main")
    git.run("add", "-A")
    git.run("commit", "-q", "--no-verify", "-m", message)
    return git


def clone(source: str, dest: Path) -> HostGit:
    """A fresh clone of ``source`` at ``dest`` (its parent must exist)."""
    _run([], ("clone", "--quiet", "--", source, str(dest)), dest.parent, check=True, input=None)
    return HostGit(dest / ".git", dest)
