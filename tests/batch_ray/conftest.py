"""The world of each module of the batch tests: its own repositories, scripts and data directory."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from support import FIX_SCRIPT, make_repo, write_script


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two repositories, the scripts, a data directory and the environment of every process."""
    root = tmp_path_factory.mktemp("batch")
    (root / "a").mkdir()
    (root / "b").mkdir()
    token = root / "ray-token"
    token.write_text(secrets.token_hex(32))
    env = {
        **os.environ,
        "ASYNCFC_HOME": str(root / "home"),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        # Ray's own token, kept with the tests rather than in the home folder
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
    }
    env.pop("RAY_ADDRESS", None)
    return {
        "root": root, "env": env, "home": root / "home",
        "repos": [make_repo(root / "a"), make_repo(root / "b")],
        "fix": write_script(root, FIX_SCRIPT, "fix.yaml"),
    }
