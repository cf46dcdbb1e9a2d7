"""Where interactive sessions are recorded, and how one is resumed.

Each repository has a folder in the data directory with its prompt history and an index
naming its last session; a session's run folder keeps its conversation (``messages.json``)
and its state (``session.json``). A resumed session continues on the earlier one's branch,
in the worktree it left when its process died with the session open.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sandboxes.containers import process_alive
from . import workarea
from .config import RunConfig
from .events import Event
from .session import Session

if TYPE_CHECKING:
    from .interactive import Interactive

#: The task of a session that starts without one; the first message replaces it.
DEFAULT_TASK = "interactive session"
#: Version of session.json; a newer file is refused rather than half read.
STATE_VERSION = 1


class ResumeError(Exception):
    """There is no earlier session to resume, or its record cannot be read."""


def repl_dir(repo: Path) -> Path:
    """The folder of one repository's interactive sessions: prompt history, last session."""
    root = workarea.repo_root(repo) or repo.resolve()
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-") or "repo"
    return workarea.data_dir() / "repl" / f"{name}-{digest}"


def history_file(repo: Path) -> Path:
    return repl_dir(repo) / "history"


@dataclass
class Saved:
    """An earlier session, as its run folder recorded it."""

    run_id: str
    run_dir: Path
    task: str
    branch: str | None
    base: str
    model: str
    mode: str
    user_turns: int
    messages: list[dict[str, Any]]
    notes: list[str]
    unfinished: list[dict[str, Any]]
    worktree: Path | None = None
    pid: int | None = None  # the process that had the session open
    closed: bool = False  # False: that process may still run, or died with it open
    last_future: int = 0  # the number of its last future: a resumed session goes on after it


def load_last(repo: Path) -> Saved:
    """The last session of ``repo``; ResumeError when there is none or it cannot be read."""
    index = repl_dir(repo) / "last.json"
    if not index.is_file():
        raise ResumeError(f"no earlier session of {repo.resolve()} to resume")
    try:
        run_dir = Path(json.loads(index.read_text(encoding="utf-8"))["run_dir"])
        state = json.loads((run_dir / "session.json").read_text(encoding="utf-8"))
        messages = json.loads((run_dir / "messages.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResumeError(f"the last session's record cannot be read ({index}): {exc}") from None
    if state.get("version", 0) > STATE_VERSION:
        raise ResumeError(f"{run_dir / 'session.json'} is from a newer asyncfc-agent")
    return Saved(
        run_id=state["run_id"], run_dir=run_dir, task=state.get("task", DEFAULT_TASK),
        branch=state.get("branch"), base=state["base"], model=state["model"],
        mode=state["mode"], user_turns=int(state.get("user_turns", 0)), messages=messages,
        notes=list(state.get("notes", [])), unfinished=list(state.get("unfinished", [])),
        worktree=Path(state["worktree"]) if state.get("worktree") else None,
        pid=state.get("pid"), closed=bool(state.get("closed", False)),
        last_future=int(state.get("last_future", 0)),
    )


def write_json(path: Path, data: Any) -> None:
    """Write through a temporary file, so a crash never leaves a torn record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class ResumedSession(Session):
    """A session that continues on the branch of an earlier one."""

    def __init__(self, saved: Saved, repo: Path, config: RunConfig, **kwargs: Any) -> None:
        super().__init__(saved.task, repo, config, **kwargs)
        self.saved = saved
        self.first_future_id = saved.last_future + 1

    def kept_worktrees(self) -> set[str]:
        kept = super().kept_worktrees()
        if self.saved.worktree is not None:
            kept.add(self.saved.worktree.name)
        return kept

    def prepare_area(self) -> workarea.WorkArea:
        saved = self.saved
        if not saved.branch:
            raise workarea.WorkAreaError(
                "the earlier session worked on a copy (not a git repository): it cannot be resumed"
            )
        left = saved.worktree if not saved.closed and saved.worktree else None
        if left is not None and left.is_dir():
            if saved.pid is not None and process_alive(saved.pid):
                raise workarea.WorkAreaError(
                    f"the last session is still open in process {saved.pid} (worktree {left}): "
                    "leave it first"
                )
            # its process died with the session open: go on where it was, with the changes
            # it had not committed yet
            return workarea.adopt(self.repo, left, branch=saved.branch, base=saved.base,
                                  max_file_bytes=self.config.workarea.max_file_bytes)
        return workarea.attach(self.repo, run_id=self.run_id, branch=saved.branch, base=saved.base,
                               max_file_bytes=self.config.workarea.max_file_bytes)


def new_session(
    repo: Path,
    config: RunConfig,
    *,
    saved: Saved | None = None,
    subscribers: list[Callable[[Event], None]] | None = None,
) -> Session:
    """The session of an interactive run: on a new branch, or on ``saved``'s branch."""
    if saved is not None:
        return ResumedSession(saved, repo, config, subscribers=subscribers)
    if config.branch_slug is None:
        config.branch_slug = "session-" + time.strftime("%Y%m%d-%H%M")
    return Session(DEFAULT_TASK, repo, config, subscribers=subscribers)


def resume_note(saved: Saved) -> str:
    note = ("This session was resumed in a new process. Futures of the earlier process are "
            f"gone; new ones are numbered from f{saved.last_future + 1}.")
    lost = [f"{f['id']} ({f['tool']}, {f['state']})" for f in saved.unfinished]
    if lost:
        note += " Results you never received: " + ", ".join(lost) + "."
    return note


def record(inter: Interactive, **extra: Any) -> Path:
    """Write the conversation and the session's state to the run folder, and name the
    session as the repository's last (once it has been spoken to)."""
    session = inter.session
    out = session.out_dir
    area = session.area
    state = {
        "version": STATE_VERSION,
        "run_id": session.run_id,
        "task": session.task,
        "repo": str(area.source if area else session.repo.resolve()),
        "branch": area.branch if area else None,
        "base": area.base if area else None,
        "worktree": str(area.path) if area else None,
        "model": session.model.config.model,
        "mode": inter.mode.value,
        "user_turns": inter.user_turns,
        "resumed_from": inter.saved.run_id if inter.saved else None,
        "notes": inter.notes,
        "unfinished": [
            {"id": f.id, "tool": f.tool, "state": f.state.value}
            for f in inter.executor.futures.values() if not f.delivered
        ],
        "last_future": inter.executor.last_seq,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "pid": os.getpid(),
        "closed": False,
        **extra,
    }
    write_json(out / "messages.json", inter.agent.messages)
    write_json(out / "session.json", state)
    if inter.user_turns:  # a session never spoken to must not hide the one before it
        write_json(repl_dir(session.repo) / "last.json",
                    {"run_id": session.run_id, "run_dir": str(out)})
    return out
