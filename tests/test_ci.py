"""``asyncfc-agent ci`` end to end: the real CLI in a subprocess, a real git repository with a
local bare repository as its remote, the scripted model through litellm, the local sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import make_repo, wait_for_event

FIXTURES = Path(__file__).parent / "fixtures" / "github"
SCRIPTS = FIXTURES / "scripts"
EVENT = FIXTURES / "event_issues_labeled.json"
BRANCH = "asyncfc/issue-7-add-subtracts-instead-of-adding"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


def add_remote(repo: Path, bare: Path) -> Path:
    git(bare.parent, "init", "-q", "--bare", bare.name)
    git(repo, "remote", "add", "origin", str(bare))
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The buggy calculator, committed, with a bare repository as ``origin``."""
    return add_remote(make_repo(tmp_path), tmp_path / "remote.git")


class CI:
    """Runs ``asyncfc-agent ci`` with the GitHub Actions files it writes to."""

    def __init__(self, tmp_path: Path, repo: Path) -> None:
        self.tmp, self.repo = tmp_path, repo
        self.out = tmp_path / "out"
        self.summary = tmp_path / "step_summary.md"
        self.outputs = tmp_path / "github_output"
        self.json = tmp_path / "report.json"
        self.env = {
            **os.environ, "ASYNCFC_HOME": str(tmp_path / "home"),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.outputs),
        }
        for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "GITHUB_API_URL", "GITHUB_TOKEN"):
            self.env.pop(name, None)

    def cmd(self, *args: str, script: str = "fix") -> list[str]:
        return [sys.executable, "-m", "asyncfc_agent.cli", "ci", "--repo", str(self.repo),
                "--model", f"scripted/{SCRIPTS / script}.yaml", "--sandbox", "local",
                "--out", str(self.out), "--json-out", str(self.json), *args]

    def __call__(self, *args: str, script: str = "fix", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(*args, script=script), capture_output=True, text=True,
                              env={**self.env, **env}, timeout=300)

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.json.read_text())
        return data


@pytest.fixture
def ci(tmp_path: Path, repo: Path) -> CI:
    return CI(tmp_path, repo)


def reason(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line a failure prints on stderr."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_a_fix_from_an_issue_event_is_pushed_and_reported(ci: CI, tmp_path: Path) -> None:
    proc = ci("--event-path", str(EVENT), "--push", "origin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    remote = tmp_path / "remote.git"
    assert git(remote, "branch", "--list", "asyncfc/*").split() == [BRANCH]
    assert "a + b" in git(remote, "show", f"{BRANCH}:calc.py")
    rep = ci.report()
    assert rep["status"] == "solved" and rep["exit_code"] == 0 and rep["exit_reason"] == "submitted"
    assert rep["reason"] == "solved: the tests pass on the final revision (f4)"
    assert rep["branch"] == BRANCH and git(remote, "rev-parse", BRANCH).strip() == rep["commit"]
    assert rep["push"] == {"remote": "origin", "branch": BRANCH, "pushed": True, "detail": ""}
    assert rep["issue"]["number"] == 7 and rep["issue"]["source"] == "event"
    assert rep["task"].startswith("Issue #7: add() subtracts instead of adding\n")
    assert rep["tests"] == {"future": "f4", "passed": True, "on_final_revision": True}
    assert rep["files_changed"] == ["calc.py"] and rep["patch_bytes"] > 0
    for key in ("mode", "model", "sandbox", "wall_s", "model_s", "tool_s", "turns", "tokens",
                "cost_usd", "futures", "patch_file"):
        assert key in rep, key
    assert [(f["id"], f["tool"], f["by"], f["outcome"], f["read_by_model"]) for f in rep["ledger"]] == [
        ("f1", "run_tests", "model", "exit 1", True), ("f2", "read_file", "model", "ok", True),
        ("f3", "edit_file", "model", "ok", True), ("f4", "run_tests", "model", "exit 0", True),
    ]
    assert all(f["duration_s"] is not None for f in rep["ledger"])
    assert "+    return a + b" in Path(rep["patch_file"]).read_text()
    summary = ci.summary.read_text()
    assert summary.startswith("## asyncfc-agent: solved\n")
    assert "[#7 add\\(\\) subtracts instead of adding](https://github.com/octo-org/calc/issues/7)" in summary
    assert f"`{BRANCH}` at `{rep['commit'][:12]}`, pushed to origin" in summary
    assert "| f4 | run\\_tests | model |" in summary and "| exit 0 | yes \\(await\\) |" in summary
    # the test run that decided, with its outcomes
    f1, f4 = (next(f for f in rep["futures"] if f["id"] == i) for i in ("f1", "f4"))
    assert (f1["tests"]["failed"], f4["tests"]["failed"], f4["tests"]["passed"]) == (1, 0, 1)
    assert "| Tests | f4: passed \\(1 passed\\), on the final revision |" in summary
    assert "```diff\n" in summary and "+    return a + b" in summary
    assert summary == (ci.out / "summary.md").read_text()
    outputs = dict(line.split("=", 1) for line in ci.outputs.read_text().splitlines())
    assert outputs["status"] == "solved" and outputs["branch"] == BRANCH
    assert outputs["pushed"] == "true" and outputs["exit-code"] == "0"
    assert outputs["result"] == str(ci.json)


def test_a_comment_event_brings_the_comment_into_the_task(ci: CI) -> None:
    proc = ci("--event-path", str(FIXTURES / "event_issue_comment.json"), script="answer")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    task = ci.report()["task"]
    assert task.startswith("Issue #7: add() subtracts instead of adding")
    assert task.endswith("Comment by @hubot:\n/asyncfc Keep the signature of add() as it is.")


def test_a_red_last_test_run_is_not_success(ci: CI, tmp_path: Path) -> None:
    proc = ci("--issue", "Fix add()", "--push", "origin", script="red")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert reason(proc) == "error: not solved: the tests fail on the final revision (f1)"
    rep = ci.report()
    assert rep["status"] == "unsolved" and rep["tests"]["passed"] is False
    assert rep["push"] is None and git(tmp_path / "remote.git", "branch", "--list") == ""
    assert ci.summary.read_text().startswith("## asyncfc-agent: not solved\n")


@pytest.mark.parametrize(("script", "code"), [("held", 0), ("held_red", 1)])
def test_an_answer_before_the_test_future_resolved_is_held_then_judged(
    ci: CI, script: str, code: int
) -> None:
    # the test run ends only once the model has answered: the answer surely comes first
    trajectory = ci.out / "trajectory.jsonl"
    (ci.repo / "test_slow.py").write_text(
        "import pathlib, time\n\n\ndef test_slow():\n"
        f"    path = pathlib.Path({str(trajectory)!r})\n"
        "    while '\"text\": \"Fixed.\"' not in path.read_text():\n"
        "        time.sleep(0.05)\n"
    )
    git(ci.repo, "add", "-A")
    git(ci.repo, "commit", "-qm", "slow")
    proc = ci("--issue", "Fix add()", script=script)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "answered with 1 future(s) pending: awaiting them" in proc.stdout
    rep = ci.report()
    runs = [f for f in rep["ledger"] if f["tool"] == "run_tests"]
    # the model's own run is the verdict: it was awaited and given to the model, not redone
    assert len(runs) == 1 and runs[0]["by"] == "model" and runs[0]["read_by_model"] is True
    assert rep["tests"] == {"future": runs[0]["id"], "passed": code == 0, "on_final_revision": True}
    events = [json.loads(line) for line in (ci.out / "trajectory.jsonl").read_text().splitlines()]
    answered = next(e["t"] for e in events if e["kind"] == "response_done" and e["text"] == "Fixed.")
    resolved = next(e["t"] for e in events if e["kind"] == "future_resolved" and e["future"] == runs[0]["id"])
    assert answered < resolved


def test_a_stale_last_test_run_makes_the_bot_run_the_tests(ci: CI) -> None:
    proc = ci("--issue", "Fix add()", script="stale")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no test run on the final revision: running the tests" in proc.stdout
    rep = ci.report()
    first, last = rep["ledger"][0], rep["ledger"][-1]
    assert first["tool"] == "run_tests" and first["stale"] is True and first["outcome"] == "exit 1"
    assert last == {**last, "tool": "run_tests", "by": "bot", "outcome": "exit 0",
                    "read_by_model": False}
    assert rep["tests"] == {"future": last["id"], "passed": True, "on_final_revision": True}
    assert f"| {last['id']} | run\\_tests | bot |" in ci.summary.read_text()


def test_a_limit_hit_exits_4(ci: CI) -> None:
    proc = ci("--issue", "Fix add()", "--max-turns", "1")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert reason(proc).startswith("error: limit hit: max_turns after 1 turns")
    assert ci.report()["exit_reason"] == "max_turns"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"action": "workflow_dispatch", "inputs": {}}', "holds no issue"),
        ('{"issue": {"number": 7, "body": "x"}}', "the issue has no title"),
    ],
)
def test_a_bad_event_payload_exits_2(ci: CI, tmp_path: Path, payload: str, message: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(payload)
    proc = ci(GITHUB_EVENT_PATH=str(event))  # the payload an Actions run points at
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in reason(proc) and str(event) in proc.stderr
    assert not ci.out.exists()  # nothing ran


def test_a_missing_event_payload_and_no_task_exit_2(ci: CI, tmp_path: Path) -> None:
    proc = ci("--event-path", str(tmp_path / "absent.json"))
    assert proc.returncode == 2 and "cannot read the event payload" in reason(proc)
    proc = ci()
    assert proc.returncode == 2 and "no task: give --issue" in reason(proc)
    proc = ci("--issue", "x", "--event-path", str(EVENT))
    assert proc.returncode == 2 and "give one task, not --issue and --event-path" in reason(proc)


def test_a_missing_model_key_exits_2(ci: CI) -> None:
    env = {k: v for k, v in ci.env.items() if k != "OPENAI_API_KEY"}
    cmd = ci.cmd("--issue", "Fix add()")
    cmd[cmd.index("--model") + 1] = "openai/gpt-4.1-mini"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert reason(proc).startswith("error: openai/gpt-4.1-mini: set OPENAI_API_KEY")
    assert ci.report()["exit_reason"] == "model_config"


def test_an_unreachable_sandbox_exits_3(ci: CI) -> None:
    cmd = ci.cmd("--issue", "Fix add()")
    cmd[cmd.index("--sandbox") + 1] = "docker"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**ci.env, "DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no Docker engine reachable at tcp://127.0.0.1:1" in reason(proc)
    assert ci.report()["exit_reason"] == "sandbox_error"


def test_an_unknown_remote_exits_2_before_the_run(ci: CI) -> None:
    proc = ci("--issue", "Fix add()", "--push", "upstream")
    assert proc.returncode == 2
    assert reason(proc) == (f"error: --push upstream: not a remote of {ci.repo} (its remotes: origin), "
                            "a URL or a path")
    assert not ci.out.exists()


def test_a_rerun_pushes_a_new_branch_beside_the_first(ci: CI, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    assert ci("--event-path", str(EVENT), "--push", str(remote)).returncode == 0
    git(ci.repo, "branch", "-D", BRANCH)  # as a fresh checkout on a CI runner
    proc = ci("--event-path", str(EVENT), "--push", str(remote))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(remote, "branch", "--list").split() == [BRANCH, f"{BRANCH}-2"]
    assert ci.report()["push"]["branch"] == f"{BRANCH}-2"


def test_sigterm_ends_the_run_with_its_record(ci: CI) -> None:
    (ci.repo / "test_slow.py").write_text("import time\n\n\ndef test_slow():\n    time.sleep(60)\n")
    git(ci.repo, "add", "-A")
    git(ci.repo, "commit", "-qm", "slow")
    proc = subprocess.Popen(ci.cmd("--issue", "Fix add()", script="red"), env=ci.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_event(proc, ci.out / "trajectory.jsonl", "future_started", timeout_s=120)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    rep = ci.report()
    assert rep["exit_reason"] == "interrupted" and rep["exit_code"] == 130
    assert not (ci.tmp / "home" / "worktrees" / rep["run_id"]).exists()
