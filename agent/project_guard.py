"""What a repository's own ``asyncfc.toml`` may not do: loosen the sandbox.

The file is repository content, written by whoever wrote the code, so it may tighten
isolation but never loosen it past what the defaults and the user's own config give. A
loosening key is refused with an error naming it, unless the user's config (or the
``--config`` file) lists the key in ``trust_project``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..sandboxes.config import SandboxConfig, size_in_bytes

if TYPE_CHECKING:
    from .config import RunConfig


def _size(value: Any) -> int:
    try:
        return size_in_bytes(str(value))
    except (ValueError, IndexError):
        return 0  # not a size: SandboxConfig says so with its own message


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


#: For each sandbox key: whether ``new`` is looser than ``current``.
_SANDBOX: dict[str, Callable[[Any, Any], bool]] = {
    "network": lambda new, cur: new != "none" and new != cur,
    "user": lambda new, cur: new != cur,
    "read_only_root": lambda new, cur: new is False and cur is not False,
    "mount_git": lambda new, cur: new is True and cur is not True,
    "docker_host": lambda new, cur: new != cur,
    "env": lambda new, cur: bool(new) and new != cur,
    "memory": lambda new, cur: _size(new) > _size(cur),
    "tmp_size": lambda new, cur: _size(new) > _size(cur),
    "max_file_size": lambda new, cur: _size(new) > _size(cur),
    "disk_reserve": lambda new, cur: _size(new) < _size(cur),
    "inode_reserve": lambda new, cur: _number(new) < _number(cur),
    "cpus": lambda new, cur: _number(new) > _number(cur),
    "pids_limit": lambda new, cur: _number(new) > _number(cur),
    # 0 switches the limit off
    "max_new_files": lambda new, cur: _number(cur) != 0 and not 0 < _number(new) <= _number(cur),
    # a container per long future: more of them at once, each with the full limits
    "isolation": lambda new, cur: new == "future" and cur != "future",
}

#: Limits of the agent itself, each loosened by a larger value: how much output the model
#: and the record take in, how long and how many commands run, what the user pays.
_CAPS: dict[str, tuple[str, ...]] = {
    "tools": ("output_limit", "command_timeout_s"),
    "executor": ("max_concurrency", "future_timeout_s", "output_event_limit"),
    "agent": ("max_turns", "max_cost_usd", "max_await_s"),
}


def refuse_loosening(cfg: RunConfig, data: dict[str, Any], origin: str, trusted: set[str]) -> None:
    """ConfigError naming every key of ``data`` (a project file) that loosens ``cfg``."""
    from .config import ConfigError

    loose = [key for key in _loosened(cfg, data) if key not in trusted]
    if loose:
        raise ConfigError(
            f"{origin} may not loosen the sandbox: {', '.join(loose)} (a repository's own "
            f"config file is as untrusted as its code; to accept, add the key to trust_project "
            f"in your config file, e.g. trust_project = [\"{loose[0]}\"])"
        )


def _loosened(cfg: RunConfig, data: dict[str, Any]) -> list[str]:
    found: list[str] = []
    sandbox = data.get("sandbox")
    if isinstance(sandbox, str):
        sandbox = {"kind": sandbox}
    if isinstance(sandbox, dict):
        defaults = SandboxConfig()
        for key, value in sandbox.items():
            if key == "kind":
                if value != "docker" and value != cfg.sandbox.kind:
                    found.append("sandbox.kind")
                continue
            current = cfg.sandbox.options.get(key, getattr(defaults, key, None))
            check = _SANDBOX.get(key)
            if check is not None and check(value, current):
                found.append(f"sandbox.{key}")
    model = data.get("model")
    api_base = data.get("api_base", model.get("api_base") if isinstance(model, dict) else None)
    if api_base is not None and api_base != cfg.model.api_base:
        found.append("api_base")
    # extra arguments of the provider's client can name another server as well
    # (api_base, base_url) and so send the user's key there
    if isinstance(model, dict) and model.get("extra") and model.get("extra") != cfg.model.extra:
        found.append("model.extra")
    area = data.get("workarea")
    if isinstance(area, dict) and _number(area.get("max_file_bytes")) > cfg.workarea.max_file_bytes:
        found.append("workarea.max_file_bytes")
    for section, keys in _CAPS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for key in keys:
            current = getattr(getattr(cfg, section), key)
            # no limit yet (max_cost_usd): any value tightens
            if key in table and current is not None and _number(table[key]) > current:
                found.append(f"{section}.{key}")
    return found
