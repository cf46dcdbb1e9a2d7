"""Where the user's own config file is: the one file a repository cannot write."""

from __future__ import annotations

import os
from pathlib import Path


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/asyncfc-agent/config.toml`` (``~/.config`` without the variable)."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "asyncfc-agent" / "config.toml"
