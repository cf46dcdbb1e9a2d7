"""A run's configuration from its sources: files, the environment, then explicit options.

``solve``, ``ci``, ``repl`` and ``batch`` all build their ``RunConfig`` here, so a task of a
batch is configured exactly as the same options would configure ``solve``. Errors are
``ConfigError``; the commands turn them into their usage exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ConfigError, RunConfig, load_config

#: Overrides that belong to ``[agent]``; any other override is a field of ``RunConfig``.
AGENT_KEYS = frozenset({"max_turns", "max_cost_usd"})

NO_MODEL = (
    "no model: give --model (any litellm model string, e.g. openai/gpt-4.1), set "
    "ASYNCFC_MODEL, or put model = \"...\" in asyncfc.toml or "
    "~/.config/asyncfc-agent/config.toml; `asyncfc-agent demo` needs none"
)


def assemble(
    repo: Path,
    *,
    config_file: Path | None = None,
    model: str | None = None,
    api_base: str | None = None,
    mode: str | None = None,
    sandbox: str | None = None,
    out: Path | None = None,
    speculate: bool | None = None,
    memoize: bool | None = None,
    **overrides: Any,
) -> RunConfig:
    """The configuration of a run on ``repo``; options given here win over every file."""
    from .loop import Mode

    cfg = load_config(repo, config_file)
    if model:
        cfg.model.model = model
    if api_base:
        cfg.model.api_base = api_base
    if mode is not None:
        cfg.agent.mode = Mode(mode)
    if sandbox is not None:
        cfg.sandbox.kind = sandbox
    if out is not None:
        cfg.out_dir = out.resolve()
    if speculate is not None:
        cfg.executor.speculate = speculate
    if memoize is not None:
        cfg.executor.memoize = memoize
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg.agent if key in AGENT_KEYS else cfg, key, value)
    if not cfg.model.model:
        raise ConfigError(NO_MODEL)
    if cfg.model.scripted:
        cfg.model.model = f"scripted/{_checked_script(cfg.model.model)}"
    return cfg


def resolve_model(name: str) -> str:
    """A model name as the client takes it: a scripted one's path made absolute, and
    checked (ConfigError when it cannot be used)."""
    return f"scripted/{_checked_script(name)}" if name.startswith("scripted/") else name


def _checked_script(model: str) -> Path:
    from .script import ScriptError, load_script

    script = Path(model.removeprefix("scripted/")).expanduser()
    if not script.is_file():
        raise ConfigError(f"script {script} does not exist (model {model})")
    try:
        load_script(script)
    except ScriptError as exc:
        raise ConfigError(str(exc)) from None
    return script.resolve()
