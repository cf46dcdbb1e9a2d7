"""Where the agent works: a git worktree on its own branch, or a copy of a plain directory.

The user's working tree, index and HEAD are never touched: the worktree lives in the
user's data directory, its branch is new, and uncommitted changes of the user are copied
into it (and committed there first, so the agent's patch holds only its own changes).
Only ``--apply`` writes to the user's tree, and only after a check (``apply.py``).

Every git call goes through ``hostgit``, against the git directory recorded when the
work area was made (a copy's lives in the data directory, out of the sandbox's reach):
the work tree is hostile data, its ``.git`` entry included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..sandboxes.docker_spec import trusted_common_dir
from . import owners
from .hostgit import HostGit, WorkAreaError, for_repo, repo_root, worktree_admin_dir

__all__ = ["WorkArea", "WorkAreaConfig", "WorkAreaError", "data_dir", "prepare", "repo_root"]

#: Files larger than this stay out of commits and patches unless configured otherwise.
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass
class WorkAreaConfig:
    """How the agent's changes become a commit and a patch."""

    #: Files (new or changed) larger than this many bytes are left out of the commit and
    #: the patch, with a notice naming them: a sandbox can make a 20 GB sparse file, and
    #: its blob would land in the user's repository.
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES


def data_dir() -> Path:
    """The user's data directory for runs and worktrees (``ASYNCFC_HOME`` overrides it)."""
    if home := os.environ.get("ASYNCFC_HOME"):
        return Path(home).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "asyncfc-agent"


def worktrees_dir() -> Path:
    return data_dir() / "worktrees"


def slugify(text: str, limit: int = 40) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "task")
    slug = re.sub(r"[^a-z0-9]+", "-", first.lower()).strip("-")
    return slug[:limit].rstrip("-") or "task"


def _plain_file(path: Path) -> bool:
    return stat.S_ISREG(os.lstat(path).st_mode)


def shown(path: str) -> str:
    """A file name as a notice prints it: control characters and bad bytes escaped."""
    raw = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw)


@dataclass
class WorkArea:
    path: Path  # where the agent works
    source: Path  # the user's repository or directory
    is_git: bool
    branch: str | None  # the agent's branch in the user's repository
    base: str  # the commit the agent's changes are measured from
    git: HostGit  # the trusted git directory, with ``path`` as work tree
    repo: HostGit | None = None  # the user's repository (None for a copy)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    #: Files left out of commits for their size (repository-relative, as git prints them).
    left_out: set[str] = field(default_factory=set)
    _notices: list[str] = field(default_factory=list)
    _tamper_seen: bool = False

    @property
    def tree_git(self) -> HostGit:
        """Git on the work tree, attributes read from ``base`` (the work tree's are hostile)."""
        return dataclasses.replace(self.git, attr_source=self.base or None)

    # -- what the sandbox may have done ------------------------------------------------

    def dotgit_changed(self) -> str | None:
        """What is wrong with the work area's ``.git`` entry, or None if it is as git made it."""
        entry = self.path / ".git"
        if not self.is_git:
            return None if not os.path.lexists(entry) else "a .git entry appeared in the work area"
        with contextlib.suppress(OSError):
            text = entry.read_text(errors="replace") if _plain_file(entry) else ""
            named = text.strip().removeprefix("gitdir:").strip()
            if named and Path(named).resolve() == self.git.git_dir.resolve():
                return None
        kind = ("a symlink" if entry.is_symlink() else "a directory" if entry.is_dir()
                else "missing" if not os.path.lexists(entry) else "rewritten")
        return f"the work area's .git entry was changed ({kind})"

    def take_notices(self) -> list[str]:
        """Warnings gathered since the last call (a changed .git, files left out)."""
        notices, self._notices = self._notices, []
        return notices

    def _check(self) -> None:
        if self._tamper_seen:
            return
        if (problem := self.dotgit_changed()) is not None:
            self._tamper_seen = True
            self._notices.append(
                f"{problem} by a command in the sandbox: it is ignored, host git uses the "
                f"repository's own git directory"
            )

    def _stage(self) -> None:
        """``git add -A``, leaving out files over the size limit (never read, never hashed),
        special files (git refuses them and the whole add fails) and repositories nested in
        the work tree (never entered)."""
        self._check()
        skip, named = self._excluded()
        for why, names in named.items():
            new = sorted(set(names) - self.left_out)
            if new:
                self.left_out.update(new)
                self._notices.append(f"left out of the commit and the patch, {why}: "
                                     + ", ".join(shown(p) for p in new))
        excluded = [f":(exclude,literal){p}" for p in sorted(skip)]
        self.tree_git.run("add", "-A", "--", ".", *excluded)

    def _excluded(self) -> tuple[set[str], dict[str, list[str]]]:
        """What ``git add`` must not take, and what of it to name, by reason (a big file
        that kept its committed size is taken as unchanged: left out, not named)."""
        recorded: dict[str, int] = {}
        for line in self.tree_git.paths("ls-files", "-z", "--cached", "--format=%(objectsize) %(path)"):
            size, _, name = line.partition(" ")
            recorded[name] = int(size) if size.isdigit() else -1
        others = self.tree_git.paths("ls-files", "-z", "--others", "--exclude-standard")
        big, special = f"larger than {self.max_file_bytes} bytes", "not a file, link or directory"
        unreadable = "not readable (a command took the permission away)"
        named: dict[str, list[str]] = {big: [], special: [], unreadable: [],
                                       "git repositories nested in the work area": []}
        skip: set[str] = set()
        for name in [*recorded, *others]:
            if name.endswith("/"):
                skip.add(name)
                named["git repositories nested in the work area"].append(name)
                continue
            try:
                st = os.lstat(self.path / name)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > self.max_file_bytes:
                skip.add(name)
                if recorded.get(name) != st.st_size:
                    named[big].append(name)
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                skip.add(name)
                named[special].append(name)
            elif stat.S_ISREG(st.st_mode) and not os.access(self.path / name, os.R_OK):
                skip.add(name)
                named[unreadable].append(name)
        return skip, named

    # -- commits and patches -------------------------------------------------------------

    def commit(self, message: str) -> str | None:
        """Commit everything in the work area; the new commit, or None if nothing changed."""
        self._stage()
        if self.tree_git.ok("diff", "--cached", "--quiet", "--no-ext-diff", "HEAD"):
            return None
        self.tree_git.run("commit", "-q", "--no-verify", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.tree_git.text("rev-parse", "HEAD").strip()

    def patch(self) -> bytes:
        """The agent's changes, from ``base`` to the work area's current state, as bytes."""
        self._stage()
        return self.tree_git.run("diff", "--cached", "--binary", "--no-ext-diff", "--no-textconv",
                            "--no-color", self.base)

    def changed_files(self) -> list[str]:
        self._stage()
        return self.tree_git.paths("diff", "--cached", "--name-only", "-z", "--no-ext-diff", self.base)

    def remove(self) -> None:
        """Delete the work area; a git branch stays, unless it holds nothing new."""
        tip = None
        if self.repo is not None and self.branch:
            tip = self.repo.text("rev-parse", "--verify", "--quiet", f"refs/heads/{self.branch}",
                                 check=False).strip()
        # the folder first: nothing in it is run or followed (rmtree never follows links)
        shutil.rmtree(self.path, ignore_errors=True)
        # the worktree's registration, or a copy's git directory: ours, in both cases (and
        # nothing else, whatever a record says)
        git_dir = self.git.git_dir
        if git_dir.parent.name == "worktrees" or git_dir == self.path.with_name(self.path.name + ".git"):
            shutil.rmtree(git_dir, ignore_errors=True)
        if self.repo is not None and self.branch and tip == self.base:
            self.repo.run("branch", "-D", self.branch, check=False)
        owners.forget(self.path)


def prepare(
    source: Path, *, run_id: str, slug: str, carry_changes: bool = True,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> WorkArea:
    """A fresh work area for one run, outside the user's tree."""
    source = source.resolve()
    if not source.is_dir():
        raise WorkAreaError(f"{source} is not a directory")
    dest = worktrees_dir() / run_id
    dest.parent.mkdir(parents=True, exist_ok=True)
    root = repo_root(source)
    if root is None:
        return _copy(source, dest, max_file_bytes)
    repo = for_repo(root)
    branch = _free_branch(repo, f"asyncfc/{slug}")
    head = repo.text("rev-parse", "--verify", "HEAD").strip()
    # recorded before the worktree exists: a kill -9 from here on leaves a reapable record
    owners.record(dest, source=root, branch=branch, base=head)
    repo.run("worktree", "add", "-q", "-b", branch, str(dest), head)
    area = _linked(repo, root, dest, branch=branch, base=head, max_file_bytes=max_file_bytes)
    if carry_changes:
        _carry_over(repo, area)
        carried = area.commit("Uncommitted changes carried over from the working tree")
        if carried:
            area.base = carried
    owners.record(dest, source=root, branch=branch, git_dir=area.git.git_dir, base=area.base)
    return area


def _linked(
    repo: HostGit, root: Path, dest: Path, *, branch: str, base: str, max_file_bytes: int
) -> WorkArea:
    """The work area of worktree ``dest`` of ``repo``, its git directory found from the repo."""
    admin = worktree_admin_dir(trusted_common_dir(repo.git_dir), dest)
    if admin is None:
        raise WorkAreaError(f"{dest} is not a worktree of {root}")
    return WorkArea(path=dest, source=root, is_git=True, branch=branch, base=base,
                    git=HostGit(admin, dest),
                    repo=repo, max_file_bytes=max_file_bytes)


def _free_branch(repo: HostGit, wanted: str) -> str:
    name, n = wanted, 1
    while repo.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{name}"):
        n += 1
        name = f"{wanted}-{n}"
    return name


def _carry_over(repo: HostGit, area: WorkArea) -> None:
    diff = repo.run("diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv", "--no-color")
    if diff:
        area.git.run("apply", "--binary", "--whitespace=nowarn", "-", input=diff)
    root = repo.work_tree
    assert root is not None
    for rel in repo.paths("ls-files", "--others", "--exclude-standard", "-z"):
        src, dst = root / rel, area.path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink() or src.is_file():
            shutil.copy2(src, dst, follow_symlinks=False)


def _copy(source: Path, dest: Path, max_file_bytes: int) -> WorkArea:
    """A copy of a plain directory; its git directory lives beside it, never inside."""
    git_dir = dest.with_name(dest.name + ".git")
    owners.record(dest, source=source, branch=None, git_dir=git_dir)
    shutil.copytree(source, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "__pycache__"))
    git = HostGit(git_dir, dest)
    git.run("init", "-q")
    area = WorkArea(path=dest, source=source, is_git=False, branch=None, base="", git=git,
                    max_file_bytes=max_file_bytes)
    area._stage()
    git.run("commit", "-q", "--allow-empty", "--no-verify", "-m", "Baseline")
    area.base = area.head()
    return area


# -- interactive sessions: resuming on a kept branch, checkpoints, undo ------------------


@dataclass
class Undone:
    """What ``undo_last`` reverted."""

    target: str  # the commit the work area is back at
    dropped: str | None  # the checkpoint commit taken off the branch, if any
    subject: str  # that commit's subject ("" when only uncommitted changes went)
    files: list[str]  # the files that changed back


def attach(
    source: Path, *, run_id: str, branch: str, base: str,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> WorkArea:
    """A work area on an existing branch of ``source``, to continue an earlier session.

    The branch is checked out in a new worktree in the data directory (the user's tree
    stays as it is). A branch that was deleted because it held nothing new is made again
    at ``base``.
    """
    root = repo_root(source.resolve())
    if root is None:
        raise WorkAreaError(f"{source} is not a git repository with a commit: nothing to resume")
    repo = for_repo(root)
    dest = worktrees_dir() / run_id
    dest.parent.mkdir(parents=True, exist_ok=True)
    # a session that was killed leaves its worktree registered: forget the ones whose
    # folder is gone, so that the branch can be checked out again
    repo.run("worktree", "prune", check=False)
    owners.record(dest, source=root, branch=branch, base=base)
    if repo.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"):
        repo.run("worktree", "add", "-q", str(dest), branch)
    else:
        repo.run("worktree", "add", "-q", "-b", branch, str(dest), base)
    area = _linked(repo, root, dest, branch=branch, base=base, max_file_bytes=max_file_bytes)
    owners.record(dest, source=root, branch=branch, git_dir=area.git.git_dir, base=base)
    return area


def adopt(
    source: Path, path: Path, *, branch: str, base: str,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> WorkArea:
    """The worktree an earlier session left behind (its process died), as it is."""
    root = repo_root(source.resolve())
    if root is None:
        raise WorkAreaError(f"{source} is not a git repository with a commit: nothing to resume")
    repo = for_repo(root)
    area = _linked(repo, root, path, branch=branch, base=base, max_file_bytes=max_file_bytes)
    on = area.git.text("rev-parse", "--abbrev-ref", "HEAD", check=False).strip()
    if on != branch:
        raise WorkAreaError(f"{path} is not on {branch} (it is on {on or 'nothing'})")
    owners.record(path, source=root, branch=branch, git_dir=area.git.git_dir, base=base)
    return area


def undo_last(area: WorkArea) -> Undone | None:
    """Take the newest commit since ``base`` off the branch, with any changes made after it.

    None when there is nothing to undo (the work area is at ``base`` and clean). Commits
    before ``base`` (the user's, and their carried-over changes) are never touched.
    """
    git = area.tree_git
    area._stage()
    head = area.head()
    dirty = not git.ok("diff", "--cached", "--quiet", "--no-ext-diff", "HEAD")
    if head == area.base and not dirty:
        return None
    target, subject, dropped = area.base, "", None
    if head != area.base:
        dropped = head
        subject = git.text("log", "-1", "--format=%s").strip()
        parent = git.text("rev-parse", "HEAD~1", check=False).strip()
        if parent and git.ok("merge-base", "--is-ancestor", area.base, parent):
            target = parent
    files = git.paths("diff", "--cached", "--name-only", "-z", "--no-ext-diff", target)
    # the index holds every change (staged above), so a hard reset also removes new files
    git.run("reset", "-q", "--hard", target)
    return Undone(target=target, dropped=dropped, subject=subject, files=files)
