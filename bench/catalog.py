"""The workloads: each a folder with a repository template, a script and an issue.

A workload folder holds ``workload.toml`` (``description``, and optionally ``issue``,
``script``, ``order``, ``quick_scale`` and a ``[targets]`` table), the issue text, the script of the scripted
model and ``repo/``, the repository the agent works on. Every run gets a fresh git copy
of ``repo/`` with ``BENCH_SCALE`` written at its root: the repository's tests and tools
read it and scale their waits and their work by it, so that ``--quick`` runs the same
trajectory on a smaller workload.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..agent.script import Script, load_script
from ..tools import BUILTIN

WORKLOADS_DIR = Path(__file__).parent / "workloads"
SCALE_FILE = "BENCH_SCALE"
CONTROL_CALLS = frozenset({"await_futures", "cancel_future"})


class WorkloadError(Exception):
    """A workload that cannot be found or read."""


@dataclass(frozen=True)
class Workload:
    name: str
    root: Path
    description: str
    issue: str
    script_path: Path
    repo: Path
    order: int = 100
    #: The scale of ``--quick`` runs.
    quick_scale: float = 0.1
    #: Figures the workload should reach (name in the report -> least value).
    targets: dict[str, float] = field(default_factory=dict)

    def script(self) -> Script:
        return load_script(self.script_path)


def load_workload(root: Path) -> Workload:
    """The workload in folder ``root``; checks that its script only calls known tools."""
    meta_path = root / "workload.toml"
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkloadError(f"{root} is not a workload: it has no workload.toml") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WorkloadError(f"{meta_path}: {exc}") from None
    repo = root / "repo"
    if not repo.is_dir():
        raise WorkloadError(f"workload {root.name}: no repo/ folder")
    issue_path = root / str(meta.get("issue", "issue.md"))
    try:
        issue = issue_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise WorkloadError(f"workload {root.name}: {exc}") from None
    workload = Workload(
        name=root.name,
        root=root,
        description=str(meta.get("description", "")),
        issue=issue,
        script_path=root / str(meta.get("script", "script.yaml")),
        repo=repo,
        order=int(meta.get("order", 100)),
        quick_scale=float(meta.get("quick_scale", 0.1)),
        targets={str(k): float(v) for k, v in (meta.get("targets") or {}).items()},
    )
    unknown = {
        c.name for t in workload.script().turns for c in t.tool_calls
    } - set(BUILTIN) - CONTROL_CALLS
    if unknown:
        raise WorkloadError(f"workload {root.name}: unknown tools {', '.join(sorted(unknown))}")
    return workload


def builtin() -> list[Workload]:
    """The workloads shipped with the package, in their order."""
    found = [load_workload(p) for p in sorted(WORKLOADS_DIR.iterdir()) if (p / "workload.toml").is_file()]
    return sorted(found, key=lambda w: (w.order, w.name))


def find(spec: str) -> Workload:
    """A shipped workload by name, or a workload folder by path."""
    for w in builtin():
        if w.name == spec:
            return w
    path = Path(spec).expanduser()
    if path.is_dir():
        return load_workload(path.resolve())
    names = ", ".join(w.name for w in builtin())
    raise WorkloadError(f"unknown workload {spec!r}; the workloads are: {names} (or a folder)")


def fresh_repo(workload: Workload, dest: Path, scale: float) -> Path:
    """A new git repository at ``dest`` holding the workload's repository at ``scale``."""
    from ..agent.hostgit import new_repo

    shutil.copytree(workload.repo, dest, ignore=shutil.ignore_patterns(
        "__pycache__", ".pytest_cache", "*.so", "*.o",
    ))
    (dest / SCALE_FILE).write_text(f"{scale:g}\n")
    new_repo(dest, f"{workload.name}: the repository before the task")
    return dest
