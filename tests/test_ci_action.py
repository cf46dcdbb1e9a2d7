"""The GitHub Action (action.yml) and the example workflow of docs/ci.md: their references
agree with each other and with what ``ci`` writes, and the action's run script, executed
by bash as a runner would, fixes the bug and pushes the branch."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import make_repo
from test_ci import add_remote

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "github"
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
STEP_OUTPUTS = {"status", "exit-code", "exit-reason", "reason", "branch", "commit", "pushed",
                "result", "summary", "patch"}


def step(name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)
    return found


def workflows() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "ci.md").read_text()
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_the_action_is_composite_and_uploads_even_on_failure() -> None:
    assert ACTION["runs"]["using"] == "composite"
    uses = [s.get("uses", "").split("@")[0] for s in ACTION["runs"]["steps"]]
    assert uses[0] == "actions/setup-python" and uses[-1] == "actions/upload-artifact"
    assert "always()" in ACTION["runs"]["steps"][-1]["if"]
    assert all("shell" in s for s in ACTION["runs"]["steps"] if "run" in s)


def test_the_action_references_only_what_exists() -> None:
    text = (ROOT / "action.yml").read_text()
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(ACTION["inputs"])
    outputs = {name: o["value"] for name, o in ACTION["outputs"].items()}
    assert set(outputs) == STEP_OUTPUTS
    assert all(v == f"${{{{ steps.run.outputs.{k} }}}}" for k, v in outputs.items())
    # expressions stay out of the script: inputs reach it as variables
    assert "${{" not in step("Run asyncfc-agent ci")["run"]


def test_the_example_workflow_uses_the_action_as_declared() -> None:
    job = workflows()[0]["jobs"]["fix"]
    agent = next(s for s in job["steps"] if s.get("id") == "agent")
    assert set(agent["with"]) <= set(ACTION["inputs"])
    assert {k for k, i in ACTION["inputs"].items() if i.get("required")} <= set(agent["with"])
    used = set(re.findall(r"steps\.agent\.outputs\.([\w-]+)", yaml.safe_dump(job)))
    assert used and used <= set(ACTION["outputs"])
    assert "gh pr create" in job["steps"][-1]["run"] and "--head \"$BRANCH\"" in job["steps"][-1]["run"]
    assert workflows()[0]["permissions"]["contents"] == "write"


@pytest.fixture
def runner(tmp_path: Path) -> dict[str, str]:
    """The environment a runner gives the action's run step, with the checkout as its cwd."""
    add_remote(make_repo(tmp_path), tmp_path / "remote.git")
    bin_dir = tmp_path / "bin"  # the command pip would have installed
    bin_dir.mkdir()
    shim = bin_dir / "asyncfc-agent"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m asyncfc_agent.cli "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "temp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update({
        f"IN_{name.upper().replace('-', '_')}": str(spec.get("default", ""))
        for name, spec in ACTION["inputs"].items()
    })
    env.update({
        "PATH": f"{bin_dir}:{env['PATH']}", "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_EVENT_PATH": str(FIXTURES / "event_issues_labeled.json"),
        "IN_MODEL": f"scripted/{FIXTURES / 'scripts' / 'fix.yaml'}", "IN_SANDBOX": "local",
        "ASYNCFC_HOME": str(tmp_path / "home"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    })
    return env


def test_the_run_script_solves_pushes_and_fills_the_outputs(runner: dict[str, str], tmp_path: Path) -> None:
    script = step("Run asyncfc-agent ci")["run"]
    # as the runner runs a bash step, in the checkout
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=tmp_path / "calc", env=runner, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output").read_text().splitlines())
    branch = "asyncfc/issue-7-add-subtracts-instead-of-adding"
    assert outputs["dir"] == str(tmp_path / "temp" / "asyncfc-result")
    assert set(outputs) >= STEP_OUTPUTS and outputs["branch"] == branch and outputs["pushed"] == "true"
    assert outputs["result"] == str(tmp_path / "temp" / "asyncfc-result" / "report.json")
    assert subprocess.run(["git", "branch", "--list"], cwd=tmp_path / "remote.git", text=True,
                          capture_output=True, check=True).stdout.split() == [branch]
    result_dir = Path(outputs["dir"])
    assert {"report.json", "run"} <= {p.name for p in result_dir.iterdir()}
    assert {"result.json", "patch.diff", "summary.md", "trajectory.jsonl"} <= {
        p.name for p in (result_dir / "run").iterdir()}
    assert (tmp_path / "summary").read_text().startswith("## asyncfc-agent: solved")
