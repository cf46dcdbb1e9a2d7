"""One real demo run per test session (the CLI in a subprocess, the local sandbox), shared
by the tests of the JSON stream, the report and its HTML page."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DemoRun:
    out: Path  # the run's folder: trajectory.jsonl, result.json, patch.diff
    returncode: int
    stdout: str
    stderr: str

    @property
    def trajectory(self) -> Path:
        return self.out / "trajectory.jsonl"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.trajectory.read_text().splitlines()]


def cli_env(home: Path) -> dict[str, str]:
    return {**os.environ, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "asyncfc_agent.cli", *args]


@functools.cache
def demo_json_run(base: Path) -> DemoRun:
    """``demo --json`` once, below ``base`` (the session's temporary folder)."""
    out = base / "demo-json-run"
    proc = subprocess.run(
        cli("demo", "--json", "--sandbox", "local", "--out", str(out)),
        capture_output=True, text=True, env=cli_env(base / "demo-home"), timeout=240,
    )
    return DemoRun(out, proc.returncode, proc.stdout, proc.stderr)
