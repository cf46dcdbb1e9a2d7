"""Owner records of work areas, and reaping the ones whose process died.

Each work area ``<data>/worktrees/<run id>`` has a record beside it (never inside, where
a sandbox could rewrite it): the process that made it (pid and start time, so a recycled
pid is not taken for the owner), the host, the user's repository, the branch, the base
commit and the trusted git directory. A ``kill -9`` leaves the record behind; the next
run and ``sandbox prune`` find it, commit what the dead run left uncommitted on its
branch (no work is lost), and remove the folder, its registration in the user's
repository, and its branch when that holds nothing new.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ..sandboxes.containers import process_alive, process_start

SUFFIX = ".owner.json"


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def record(
    path: Path, *, source: Path, branch: str | None, git_dir: Path | None = None, base: str = ""
) -> None:
    """Write (or rewrite, taking it over) the record of work area ``path``."""
    pid = os.getpid()
    data = {
        "pid": pid, "pid_start": process_start(pid), "host": socket.gethostname(),
        "path": str(path), "source": str(source), "branch": branch,
        "git_dir": str(git_dir) if git_dir else None, "base": base,
    }
    target = _record_path(path)
    tmp = target.with_name(f".{target.name}.{pid}.tmp")
    tmp.write_text(json.dumps(data) + "\n")
    os.replace(tmp, target)


def forget(path: Path) -> None:
    _record_path(path).unlink(missing_ok=True)


def _orphans(root: Path, keep: Collection[str]) -> list[dict[str, Any]]:
    found = []
    for rec in sorted(root.glob(f"*{SUFFIX}")):
        try:
            data = json.loads(rec.read_text())
            pid = int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        path = Path(str(data.get("path", "")))
        if data.get("host") != socket.gethostname() or path.name in keep:
            continue
        if path != root / rec.name.removesuffix(SUFFIX):
            continue  # not a record this module wrote
        if not process_alive(pid, str(data.get("pid_start", ""))):
            found.append(data)
    return found


def reap(keep: Collection[str] = ()) -> list[str]:
    """Remove the work areas of dead processes (not those named in ``keep``). Blocks.

    Returns the folders removed. Quiet: what cannot be removed now is left for later.
    """
    from .workarea import worktrees_dir

    root = worktrees_dir()
    if not root.is_dir():
        return []
    reaped = []
    for data in _orphans(root, keep):
        path = Path(data["path"])
        with contextlib.suppress(Exception):
            _reap_one(data, path)
        if not os.path.lexists(path):
            forget(path)
            reaped.append(str(path))
    return reaped


def reap_run(run_id: str) -> None:
    """Remove the work area of run ``run_id`` whoever made it (its run was stopped). Blocks."""
    from .workarea import worktrees_dir

    path = worktrees_dir() / run_id
    try:
        data = json.loads(_record_path(path).read_text())
    except (OSError, ValueError):
        _remove_unrecorded(path)
        return
    with contextlib.suppress(Exception):
        _reap_one(data, path)
    if not os.path.lexists(path):
        forget(path)


def _remove_unrecorded(path: Path) -> None:
    """A worktree without a record (made before records existed): its registration is the
    one its ``.git`` names only if that registration names it back, so a rewritten ``.git``
    cannot point the clean-up at anything else."""
    from .hostgit import worktree_admin_dir

    named = None
    with contextlib.suppress(OSError, ValueError):
        if stat.S_ISREG(os.lstat(path / ".git").st_mode):
            named = Path((path / ".git").read_text().strip().removeprefix("gitdir:").strip())
    shutil.rmtree(path, ignore_errors=True)
    if named is not None and named.parent.name == "worktrees":
        registered = worktree_admin_dir(named.parent.parent, path)
        if registered is not None and registered.resolve() == named.resolve():
            shutil.rmtree(registered, ignore_errors=True)


def _reap_one(data: dict[str, Any], path: Path) -> None:
    from .hostgit import HostGit, for_repo
    from .workarea import WorkArea

    git_dir = Path(data["git_dir"]) if data.get("git_dir") else None
    source = Path(data["source"])
    repo = for_repo(source) if data.get("branch") else None
    branch = data.get("branch")
    base = str(data.get("base") or "")
    if git_dir is None:  # killed while its worktree was being made: nothing of it to keep
        shutil.rmtree(path, ignore_errors=True)
        if repo is not None and branch:
            repo.run("worktree", "prune", check=False)
            tip = repo.text("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
            if tip.strip() == base:
                repo.run("branch", "-D", branch, check=False)
        return
    area = WorkArea(path=path, source=source, is_git=repo is not None, branch=branch, base=base,
                    git=HostGit(git_dir, path), repo=repo)
    if repo is not None and path.is_dir() and git_dir.is_dir() and base:
        # what the dead run had not committed goes on its branch
        area.commit(f"asyncfc-agent: work left uncommitted by run {path.name}")
    area.remove()
