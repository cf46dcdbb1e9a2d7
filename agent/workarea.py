"""Where the agent works: a git worktree on its own branch, or a copy of a plain directory.

The user's working tree, index and HEAD are never touched: the worktree lives in the
user's data directory, its branch is new, and uncommitted changes of the user are copied
into it (and committed there first, so the agent's patch holds only its own changes).
Only ``apply_patch`` (``--apply``) writes to the user's tree, and only after a check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

AGENT_NAME = "asyncfc-agent"
AGENT_EMAIL = "asyncfc-agent@localhost"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": AGENT_NAME,
    "GIT_AUTHOR_EMAIL": AGENT_EMAIL,
    "GIT_COMMITTER_NAME": AGENT_NAME,
    "GIT_COMMITTER_EMAIL": AGENT_EMAIL,
    "GIT_TERMINAL_PROMPT": "0",
}


class WorkAreaError(Exception):
    """The repository cannot be prepared, committed to, or patched."""


def data_dir() -> Path:
    """The user's data directory for runs and worktrees (``ASYNCFC_HOME`` overrides it)."""
    if home := os.environ.get("ASYNCFC_HOME"):
        return Path(home).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "asyncfc-agent"


def slugify(text: str, limit: int = 40) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "task")
    slug = re.sub(r"[^a-z0-9]+", "-", first.lower()).strip("-")
    return slug[:limit].rstrip("-") or "task"


def git(cwd: Path, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run git; ``safe.directory`` is set because a sandbox may own the worktree's files."""
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **_GIT_ENV},
    )
    if check and proc.returncode != 0:
        raise WorkAreaError(f"git {' '.join(args[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def repo_root(path: Path) -> Path | None:
    """The top of the git work tree holding ``path`` with at least one commit, or None."""
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", "rev-parse", "--show-toplevel", "--verify", "HEAD"],
        cwd=path, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.splitlines()[0])


@dataclass
class WorkArea:
    path: Path  # where the agent works
    source: Path  # the user's repository or directory
    is_git: bool
    branch: str | None  # the agent's branch in the user's repository
    base: str  # the commit the agent's changes are measured from

    def commit(self, message: str) -> str | None:
        """Commit everything in the work area; the new commit, or None if nothing changed."""
        git(self.path, "add", "-A")
        if not git(self.path, "status", "--porcelain"):
            return None
        git(self.path, "commit", "-q", "--no-verify", "-m", message)
        return git(self.path, "rev-parse", "HEAD").strip()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD").strip()

    def patch(self) -> str:
        """The agent's changes: from ``base`` to the work area's current state."""
        git(self.path, "add", "-A")
        return git(self.path, "diff", "--cached", "--binary", self.base)

    def changed_files(self) -> list[str]:
        git(self.path, "add", "-A")
        return git(self.path, "diff", "--cached", "--name-only", self.base).split()

    def remove(self) -> None:
        """Delete the work area; a git branch stays, unless it holds nothing new."""
        if self.is_git:
            git(self.source, "worktree", "remove", "--force", str(self.path), check=False)
            if self.branch and git(self.source, "rev-parse", self.branch, check=False).strip() == self.base:
                git(self.source, "branch", "-D", self.branch, check=False)
            git(self.source, "worktree", "prune", check=False)
        shutil.rmtree(self.path, ignore_errors=True)


def prepare(source: Path, *, run_id: str, slug: str, carry_changes: bool = True) -> WorkArea:
    """A fresh work area for one run, outside the user's tree."""
    source = source.resolve()
    if not source.is_dir():
        raise WorkAreaError(f"{source} is not a directory")
    dest = data_dir() / "worktrees" / run_id
    dest.parent.mkdir(parents=True, exist_ok=True)
    root = repo_root(source)
    if root is None:
        return _copy(source, dest)
    branch = _free_branch(root, f"asyncfc/{slug}")
    git(root, "worktree", "add", "-q", "-b", branch, str(dest), "HEAD")
    area = WorkArea(path=dest, source=root, is_git=True, branch=branch,
                    base=git(dest, "rev-parse", "HEAD").strip())
    if carry_changes:
        _carry_over(root, dest)
        carried = area.commit("Uncommitted changes carried over from the working tree")
        if carried:
            area.base = carried
    return area


def _free_branch(root: Path, wanted: str) -> str:
    name, n = wanted, 1
    while git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False).strip():
        n += 1
        name = f"{wanted}-{n}"
    return name


def _carry_over(root: Path, dest: Path) -> None:
    diff = git(root, "diff", "HEAD", "--binary")
    if diff:
        git(dest, "apply", "--binary", "--whitespace=nowarn", "-", input=diff)
    untracked = git(root, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    for rel in filter(None, untracked):
        src, dst = root / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink() or src.is_file():
            shutil.copy2(src, dst, follow_symlinks=False)


def _copy(source: Path, dest: Path) -> WorkArea:
    shutil.copytree(source, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "__pycache__"))
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "--allow-empty", "--no-verify", "-m", "Baseline")
    return WorkArea(path=dest, source=source, is_git=False, branch=None,
                    base=git(dest, "rev-parse", "HEAD").strip())


def apply_patch(area: WorkArea, patch_file: Path) -> None:
    """Apply the agent's patch to the user's tree, after checking that it applies."""
    if patch_file.stat().st_size == 0:
        return
    target = area.source
    check = subprocess.run(
        ["git", "apply", "--check", "--binary", str(patch_file)],
        cwd=target, capture_output=True, text=True,
    )
    if check.returncode != 0:
        raise WorkAreaError(
            f"the patch does not apply to {target} (changed since the run started?): "
            f"{check.stderr.strip().splitlines()[0] if check.stderr.strip() else 'conflict'}; "
            f"it is kept at {patch_file}"
        )
    subprocess.run(["git", "apply", "--binary", str(patch_file)], cwd=target, check=True)


# -- interactive sessions: resuming on a kept branch, checkpoints, undo ------------------


@dataclass
class Undone:
    """What ``undo_last`` reverted."""

    target: str  # the commit the work area is back at
    dropped: str | None  # the checkpoint commit taken off the branch, if any
    subject: str  # that commit's subject ("" when only uncommitted changes went)
    files: list[str]  # the files that changed back


def attach(source: Path, *, run_id: str, branch: str, base: str) -> WorkArea:
    """A work area on an existing branch of ``source``, to continue an earlier session.

    The branch is checked out in a new worktree in the data directory (the user's tree
    stays as it is). A branch that was deleted because it held nothing new is made again
    at ``base``.
    """
    root = repo_root(source.resolve())
    if root is None:
        raise WorkAreaError(f"{source} is not a git repository with a commit: nothing to resume")
    dest = data_dir() / "worktrees" / run_id
    dest.parent.mkdir(parents=True, exist_ok=True)
    # a session that was killed leaves its worktree registered: forget the ones whose
    # folder is gone, so that the branch can be checked out again
    git(root, "worktree", "prune", check=False)
    if git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip():
        git(root, "worktree", "add", "-q", str(dest), branch)
    else:
        git(root, "worktree", "add", "-q", "-b", branch, str(dest), base)
    return WorkArea(path=dest, source=root, is_git=True, branch=branch, base=base)


def adopt(source: Path, path: Path, *, branch: str, base: str) -> WorkArea:
    """The worktree an earlier session left behind (its process died), as it is."""
    root = repo_root(source.resolve())
    if root is None:
        raise WorkAreaError(f"{source} is not a git repository with a commit: nothing to resume")
    on = git(path, "rev-parse", "--abbrev-ref", "HEAD", check=False).strip()
    if on != branch:
        raise WorkAreaError(f"{path} is not on {branch} (it is on {on or 'nothing'})")
    return WorkArea(path=path, source=root, is_git=True, branch=branch, base=base)


def undo_last(area: WorkArea) -> Undone | None:
    """Take the newest commit since ``base`` off the branch, with any changes made after it.

    None when there is nothing to undo (the work area is at ``base`` and clean). Commits
    before ``base`` (the user's, and their carried-over changes) are never touched.
    """
    git(area.path, "add", "-A")
    head = area.head()
    dirty = bool(git(area.path, "status", "--porcelain").strip())
    if head == area.base and not dirty:
        return None
    target, subject, dropped = area.base, "", None
    if head != area.base:
        dropped = head
        subject = git(area.path, "log", "-1", "--format=%s").strip()
        parent = git(area.path, "rev-parse", "HEAD~1", check=False).strip()
        if parent and _descends(area.path, parent, area.base):
            target = parent
    files = git(area.path, "diff", "--cached", "--name-only", "-z", target).split("\0")
    # the index holds every change (add -A above), so a hard reset also removes new files
    git(area.path, "reset", "-q", "--hard", target)
    return Undone(target=target, dropped=dropped, subject=subject, files=[f for f in files if f])


def _descends(cwd: Path, commit: str, ancestor: str) -> bool:
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", "merge-base", "--is-ancestor", ancestor, commit],
        cwd=cwd, capture_output=True,
    )
    return proc.returncode == 0
