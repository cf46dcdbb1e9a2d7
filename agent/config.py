"""Configuration: defaults, then config files, then the environment, then the command line.

Files, in order: ``$XDG_CONFIG_HOME/asyncfc-agent/config.toml`` (the user's), then
``asyncfc.toml`` at the repository root (the project's). Top-level keys: ``model``,
``api_base``, ``mode``, ``wake``, ``notify``; tables ``[agent]``, ``[executor]``,
``[tools]``, ``[model]``, ``[sandbox]``, ``[repl]`` with the fields of the matching config
class, and ``[mcp_servers.NAME]`` (see ``mcp_servers.config``; the repository's
``.mcp.json`` is read with its ``asyncfc.toml``). ``ASYNCFC_MODEL`` overrides
the model of the files.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..mcp_servers.config import McpConfigError, McpServerConfig, parse_table, read_mcp_json
from ..tools.base import ToolsConfig
from ..userconfig import user_config_path
from .executor import ExecutorConfig
from .loop import AgentConfig, Mode
from .model import ModelConfig
from .wake import ReplConfig
from .workarea import WorkAreaConfig


class ConfigError(Exception):
    """A config file or option that cannot be used."""


@dataclass
class SandboxSettings:
    """Which sandbox, and the options passed to it."""

    #: "docker", "local", or "auto" (docker when an engine is reachable, else local).
    kind: str = "docker"
    #: Options of the sandbox implementation (image, memory, network, ...).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    repl: ReplConfig = field(default_factory=ReplConfig)
    workarea: WorkAreaConfig = field(default_factory=WorkAreaConfig)
    #: Where result.json, trajectory.jsonl and patch.diff go (None: a new run folder).
    out_dir: Path | None = None
    #: Apply the patch to the user's working tree at the end.
    apply: bool = False
    #: Name of the agent's branch after "asyncfc/" (None: made from the task's first line).
    branch_slug: str | None = None
    #: Copy the user's uncommitted changes into the agent's worktree.
    carry_changes: bool = True
    #: After the model's answer, run the tests on the final revision if no test run did.
    verify: bool = False
    #: Seconds the whole run may take (None: no limit).
    timeout_s: float | None = None
    #: Config files that were read, for the run record.
    sources: list[str] = field(default_factory=list)
    #: MCP tool servers, by name (a later file's entry replaces an earlier one's).
    mcp_servers: dict[str, McpServerConfig] = field(default_factory=dict)


def executor_config(cfg: RunConfig) -> ExecutorConfig:
    """The executor's settings in the run's mode: memoized and speculative futures are
    async mode's (sync and parallel mode run each call as asked: the usual baselines)."""
    if cfg.agent.mode is Mode.ASYNC:
        return cfg.executor
    return dataclasses.replace(cfg.executor, memoize=False, speculate=False)


def load_config(repo: Path | None, explicit: Path | None = None) -> RunConfig:
    """The user's file, the project's, then ``explicit``; the project's may not loosen.

    ``asyncfc.toml`` is repository content, as untrusted as the code: a setting of it that
    loosens isolation (see ``project_guard``) is an error naming the key, unless the
    user's file or the ``--config`` file lists that key in ``trust_project``.
    """
    if explicit is not None and not explicit.is_file():
        raise ConfigError(f"config file {explicit} does not exist")
    cfg = RunConfig()
    user = _read(user_config_path())
    extra = _read(explicit) if explicit is not None else None
    trusted = _trusted(user, extra)
    if user is not None:
        apply_mapping(cfg, user[1], user[0])
        cfg.sources.append(user[0])
    if repo is not None:
        _project_servers(cfg, repo, trusted)
    project = _read(repo / "asyncfc.toml") if repo is not None else None
    if project is not None:
        from .project_guard import refuse_loosening

        if "trust_project" in project[1]:
            raise ConfigError(f"{project[0]}: trust_project belongs in your own config file ({user_config_path()})")
        # the project's servers are not refused here: the untrusted ones are left out when
        # the session starts, with the reason (blocked_reason)
        servers = project[1].pop("mcp_servers", None)
        refuse_loosening(cfg, project[1], project[0], trusted)
        apply_mapping(cfg, project[1], project[0])
        if servers is not None:
            _add_servers(cfg, servers, project[0], from_project=True, trusted=trusted)
        cfg.sources.append(project[0])
    if extra is not None:
        apply_mapping(cfg, extra[1], extra[0])
        cfg.sources.append(extra[0])
    if model := os.environ.get("ASYNCFC_MODEL"):
        cfg.model.model = model
    return cfg


def _project_servers(cfg: RunConfig, repo: Path, trusted: set[str]) -> None:
    try:
        cfg.mcp_servers.update(read_mcp_json(repo, trusted=trusted))
    except McpConfigError as exc:
        raise ConfigError(str(exc)) from None


def _add_servers(cfg: RunConfig, data: Any, origin: str, *, from_project: bool,
                 trusted: set[str] | None = None) -> None:
    try:
        cfg.mcp_servers.update(parse_table(data, origin, from_project=from_project, trusted=trusted))
    except McpConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def _read(path: Path) -> tuple[str, dict[str, Any]] | None:
    if not path.is_file():
        return None
    try:
        return str(path), tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _trusted(*files: tuple[str, dict[str, Any]] | None) -> set[str]:
    """The keys a project file may loosen: ``trust_project`` of the user's files."""
    keys: set[str] = set()
    for file in files:
        if file is None:
            continue
        value = file[1].pop("trust_project", [])
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{file[0]}: trust_project must be a list of keys like \"sandbox.network\"")
        keys.update(value)
    return keys


def apply_file(cfg: RunConfig, path: Path) -> None:
    read = _read(path)
    if read is not None:
        apply_mapping(cfg, read[1], read[0])


def apply_mapping(cfg: RunConfig, data: dict[str, Any], origin: str) -> None:
    sections: dict[str, Any] = {
        "agent": cfg.agent, "executor": cfg.executor, "tools": cfg.tools, "model": cfg.model,
        "repl": cfg.repl,
        "workarea": cfg.workarea,
    }
    for key, value in data.items():
        if key in ("model", "api_base") and not isinstance(value, dict):
            _set(cfg.model, key, value, origin)
        elif key in ("wake", "notify"):
            _set(cfg.repl, key, value, origin)
        elif key == "mode":
            cfg.agent.mode = _mode(value, origin)
        elif key == "sandbox":
            _sandbox(cfg.sandbox, value, origin)
        elif key == "mcp_servers":
            _add_servers(cfg, value, origin, from_project=False)
        elif key in sections and isinstance(value, dict):
            for k, v in value.items():
                _set(sections[key], k, v, f"{origin} [{key}]")
        else:
            raise ConfigError(f"{origin}: unknown key {key!r}")
    if problem := cfg.repl.check():
        raise ConfigError(f"{origin}: {problem}")


def _mode(value: Any, origin: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ConfigError(f"{origin}: mode must be async, parallel or sync, not {value!r}") from None


def _sandbox(target: SandboxSettings, value: Any, origin: str) -> None:
    if isinstance(value, str):
        target.kind = value
        return
    if not isinstance(value, dict):
        raise ConfigError(f"{origin}: sandbox must be a table or a name")
    for k, v in value.items():
        if k == "kind":
            target.kind = str(v)
        else:
            target.options[k] = v


def _set(obj: Any, key: str, value: Any, origin: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    if key not in fields:
        raise ConfigError(f"{origin}: unknown key {key!r} (known: {', '.join(fields)})")
    current = getattr(obj, key)
    if key == "mode":
        value = _mode(value, origin)
    elif isinstance(current, bool) and not isinstance(value, bool):
        raise ConfigError(f"{origin}: {key} must be true or false")
    elif isinstance(current, int | float) and not isinstance(current, bool):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{origin}: {key} must be a number")
        value = type(current)(value)
    setattr(obj, key, value)
