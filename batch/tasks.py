"""The tasks file of ``batch``: one JSON object per line, checked whole before anything runs.

A line names its task (``id``), the repository (``repo``: a local directory, a bare
repository, or a git URL to clone), the issue text (``issue``) and optionally a ``ref`` to
start from, the model, mode, sandbox and limits. What a line leaves out comes from the
command line (``Defaults``). Relative paths in a line (``repo``, ``scripted/PATH``) are
relative to the tasks file, so a file and its fixtures can move together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

#: A task id names its output folder: no separators, nothing hidden.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:", re.IGNORECASE)


class TaskFileError(Exception):
    """Lines that are not tasks; each error names its line."""

    def __init__(self, path: Path, errors: list[tuple[int, str]]) -> None:
        self.path = path
        self.errors = errors
        lines = [f"{path}:{line}: {message}" for line, message in errors]
        super().__init__("\n".join(lines))


class TaskSpec(BaseModel):
    """One line of the tasks file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    repo: str = Field(min_length=1)
    issue: str = Field(min_length=1)
    ref: str | None = Field(None, min_length=1)
    model: str | None = Field(None, min_length=1)
    api_base: str | None = None
    mode: Literal["async", "parallel", "sync"] | None = None
    sandbox: Literal["docker", "local", "auto"] | None = None
    max_turns: int | None = Field(None, ge=1)
    max_cost: float | None = Field(None, gt=0)
    timeout: float | None = Field(None, gt=0)
    verify: bool | None = None

    @property
    def is_url(self) -> bool:
        return bool(_URL.match(self.repo))


@dataclass(frozen=True)
class Defaults:
    """The command line's settings, for what a line leaves out."""

    model: str | None = None
    api_base: str | None = None
    mode: str | None = None
    sandbox: str | None = None
    config_file: str | None = None
    max_turns: int | None = None
    max_cost: float | None = None
    timeout: float | None = None
    verify: bool = False


@dataclass(frozen=True)
class Task:
    """A line made whole: its own settings over the defaults, its repository resolved."""

    spec: TaskSpec
    line: int
    #: The local directory, or the URL, as given but resolved against the tasks file.
    source: str
    #: Whether the worker clones ``source`` (a URL, a bare repository, or a ``ref``).
    clone: bool
    settings: Defaults

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def timeout(self) -> float | None:
        return self.settings.timeout


def load_tasks(path: Path, defaults: Defaults) -> list[Task]:
    """Every task of the file, or ``TaskFileError`` listing every bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(path, [(0, f"cannot read the file: {exc}")]) from None
    base = path.resolve().parent
    tasks: list[Task] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            task = parse_line(raw, number, base, defaults)
        except ValueError as exc:
            errors.append((number, str(exc)))
            continue
        if task.id in seen:
            errors.append((number, f"id {task.id!r} is already used on line {seen[task.id]}"))
            continue
        seen[task.id] = number
        tasks.append(task)
    if not tasks and not errors:
        errors.append((0, "no tasks: the file has no lines"))
    if errors:
        raise TaskFileError(path, errors)
    return tasks


def parse_line(raw: str, number: int, base: Path, defaults: Defaults) -> Task:
    """One line as a task; ``ValueError`` with a message fit for the user."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise ValueError("; ".join(_describe(e) for e in exc.errors())) from None
    if not spec.issue.strip():
        raise ValueError("issue: the issue is empty")
    if spec.model and spec.model.startswith("scripted/"):
        script = Path(spec.model.removeprefix("scripted/")).expanduser()
        spec = spec.model_copy(update={"model": f"scripted/{base / script}"})
    source, clone = _resolve_repo(spec, base)
    settings = merge(spec, defaults)
    _check_model(settings)
    return Task(spec=spec, line=number, source=source, clone=clone, settings=settings)


def merge(spec: TaskSpec, defaults: Defaults) -> Defaults:
    """The line's own settings over the command line's."""
    own: dict[str, Any] = {
        "model": spec.model, "api_base": spec.api_base, "mode": spec.mode,
        "sandbox": spec.sandbox, "max_turns": spec.max_turns, "max_cost": spec.max_cost,
        "timeout": spec.timeout, "verify": spec.verify,
    }
    return replace(defaults, **{k: v for k, v in own.items() if v is not None})


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(x) for x in error["loc"]) or "line"
    if error["type"] == "missing":
        return f"{where}: required"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key (known: {', '.join(TaskSpec.model_fields)})"
    return f"{where}: {error['msg']}"


def _resolve_repo(spec: TaskSpec, base: Path) -> tuple[str, bool]:
    if spec.is_url:
        return spec.repo, True
    path = (base / Path(spec.repo).expanduser()).resolve()
    if not path.is_dir():
        raise ValueError(f"repo: {path} is not a directory (nor a git URL)")
    bare = _git_probe(path, "--is-bare-repository") == "true"
    if spec.ref and not bare and _git_probe(path, "--is-inside-work-tree") != "true":
        raise ValueError(f"ref: {path} is not a git repository, so it has no ref {spec.ref!r}")
    return str(path), bare or spec.ref is not None


def _git_probe(path: Path, flag: str) -> str:
    from ..agent.hostgit import discover

    return (discover(path, flag) or "").strip()


def _check_model(settings: Defaults) -> None:
    """A scripted model's script must be there and well formed; other models are checked
    where they run (a key may exist only on the nodes)."""
    model = settings.model or ""
    if not model.startswith("scripted/"):
        return
    from ..agent.script import ScriptError, load_script

    try:
        load_script(model.removeprefix("scripted/"))
    except ScriptError as exc:
        raise ValueError(f"model: {exc}") from None
