"""Running ``solve`` against a wire server: in this process (fast, litellm imported once)
or as a real process, and the scripts the server plays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner
from wire.replies import Call, Reply
from wire.server import WireServer

#: Every provider's key variable, so that litellm never stops for a missing key.
KEYS = {name: "test-key" for name in (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY",
    "DEEPSEEK_API_KEY", "AZURE_API_KEY",
)} | {"AZURE_API_VERSION": "2024-10-21"}
#: Retries of the run start after a few milliseconds, not seconds.
CONFIG = "[model]\nretry_base_s = 0.01\n"


def quick_script(first: Reply | None = None) -> list[Reply]:
    """Fixing ``add()`` with reads and an edit only (no test run): a run of a second."""
    return [
        first or Reply(text="Reading.", calls=[Call.of("read_file", path="calc.py"),
                                                Call.of("grep", pattern="def add")]),
        Reply(calls=[Call.of("edit_file", path="calc.py", old="a - b", new="a + b")]),
        Reply(text="add() adds now."),
    ]


def fix_script(first: Reply | None = None) -> list[Reply]:
    """The model's side of fixing ``add()``; ``first`` replaces its first response."""
    return [
        first or Reply(text="Reading.", calls=[Call.of("run_tests"), Call.of("read_file", path="calc.py")]),
        Reply(calls=[Call.of("edit_file", path="calc.py", old="a - b", new="a + b")]),
        Reply(calls=[Call.of("run_tests")]),
        Reply(calls=[Call.of("await_futures")]),
        Reply(text="add() adds now."),
    ]


@dataclass
class Run:
    code: int
    output: str
    result: dict[str, Any]

    @property
    def reason(self) -> str:
        return str(self.result.get("exit_reason"))


def _args(server: WireServer, repo: Path, out: Path, extra: tuple[str, ...]) -> list[str]:
    config = out.parent / "wire.toml"
    config.write_text(CONFIG)
    return ["solve", "Fix add()", "--repo", str(repo), "--model", server.model, "--api-base",
            server.base_url, "--sandbox", "local", "--plain", "--out", str(out), "--config",
            str(config), "--max-turns", "15", *extra]


def _result(out: Path) -> dict[str, Any]:
    path = out / "result.json"
    return json.loads(path.read_text()) if path.exists() else {}


def solve_here(server: WireServer, repo: Path, out: Path, *extra: str) -> Run:
    """``solve`` through the real CLI code, in this process."""
    from asyncfc_agent.cli.app import app

    os.environ.update(KEYS)
    res = CliRunner().invoke(app, _args(server, repo, out, extra), catch_exceptions=True)
    text = res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback

        text += "".join(traceback.format_exception(res.exception))
    return Run(res.exit_code, text, _result(out))


def solve_process(server: WireServer, repo: Path, out: Path, home: Path, *extra: str) -> Run:
    """``solve`` as its own process, as a user runs it."""
    env = {**os.environ, **KEYS, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [sys.executable, "-m", "asyncfc_agent.cli", *_args(server, repo, out, extra)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    return Run(proc.returncode, proc.stdout + proc.stderr, _result(out))
