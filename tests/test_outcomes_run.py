"""Partial results of real pytest runs, in the local sandbox and in Docker: the counts and
the first failure arrive while the suite still runs, the output shown has no machine
lines, and the result starts with the failures."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.base import Sandbox
from asyncfc_agent.sandboxes.config import SandboxConfig
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools.base import ToolContext, ToolResult, ToolsConfig
from asyncfc_agent.tools.outcomes import Outcomes
from asyncfc_agent.tools.outcomes.pytest_format import MARK_PREFIX, new_mark, with_plugin
from asyncfc_agent.tools.outcomes.run import STREAM_LIMIT
from asyncfc_agent.tools.run import Run, RunArgs
from asyncfc_agent.tools.run_tests import RunTests, RunTestsArgs
from asyncfc_agent.tools.workspace import Workspace

#: The second test runs only once the first one's failure has reached the host: it
#: waits for a file that the host writes when it sees that failure.
GATED = '''\
import pathlib
import time


def test_a_fails_first():
    assert 1 + 1 == 3, "arithmetic"


def test_b_waits_for_the_host():
    deadline = time.monotonic() + 60
    while not pathlib.Path("release").exists():
        assert time.monotonic() < deadline, "the first failure never reached the host"
        time.sleep(0.02)


def test_c_passes():
    print("some output")
'''


def make_repo(root: Path) -> Path:
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_gated.py").write_text(GATED)
    return root


class Watcher:
    """Records each report of the outcomes; releases the gated test at the first failure."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.reports: list[Outcomes] = []
        self.shown: list[str] = []
        self.at_release: Outcomes | None = None

    def progress(self, outcomes: Outcomes) -> None:
        self.reports.append(outcomes)
        if outcomes.failing and self.at_release is None:
            self.at_release = outcomes
            (self.repo / "release").write_text("go\n")

    def context(self, sandbox: Sandbox) -> ToolContext:
        return ToolContext(sandbox, Workspace(self.repo), ToolsConfig(output_limit=4_000),
                           emit=self.shown.append, progress=self.progress)


async def check_gated_run(watcher: Watcher, result: ToolResult) -> None:
    # the failure came while the suite ran: the gated test passed
    first = watcher.at_release
    assert first is not None and first.done == 1 and not first.final
    assert first.total == 3
    assert [f.test for f in first.failures] == ["test_gated.py::test_a_fails_first"]
    assert first.failures[0].location == "test_gated.py:6"
    assert first.failures[0].message.splitlines()[0] == "AssertionError: arithmetic"
    final = watcher.reports[-1]
    assert final.final and final.counts() == {"passed": 2, "failed": 1, "errors": 0, "skipped": 0}
    # nothing of the machine lines is shown, live or in the result
    shown = "".join(watcher.shown)
    assert MARK_PREFIX not in shown and MARK_PREFIX not in result.output
    assert "1 failed, 2 passed" in shown
    lines = result.output.splitlines()
    assert lines[:4] == [
        "[tests (pytest): 1 failed, 2 passed]",
        "FAILED test_gated.py::test_a_fails_first (test_gated.py:6)",
        "  AssertionError: arithmetic",
        "  assert (1 + 1) == 3",
    ]
    assert lines[-1].startswith("[exit 1 in ")
    assert result.meta["tests"]["failures"][0]["test"] == "test_gated.py::test_a_fails_first"
    assert (result.meta["passed"], result.meta["failed"]) == (2, 1)


@pytest.fixture
def local_env() -> dict[str, str]:
    # the suites are tiny: this environment's plugins would only slow them
    return {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


async def test_run_tests_reports_the_first_failure_while_the_suite_runs(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    watcher = Watcher(repo)
    async with LocalSandbox(repo, env=local_env) as sandbox:
        result = await RunTests().run(watcher.context(sandbox), RunTestsArgs())
    await check_gated_run(watcher, result)


async def test_the_plugin_folder_is_removed_and_the_workspace_untouched(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "release").write_text("")
    before = sorted(p.name for p in repo.iterdir())
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    async with LocalSandbox(repo, env={**local_env, "TMPDIR": str(tmp)}) as sandbox:
        ctx = ToolContext(sandbox, Workspace(repo), ToolsConfig())
        result = await Run().run(ctx, RunArgs(command="python3 -m pytest -q -p no:cacheprovider"))
    assert result.meta["tests"]["final"] is True
    assert list(tmp.iterdir()) == []
    assert sorted(p.name for p in repo.iterdir() if p.name != "__pycache__") == before
    assert result.edited == []


async def test_run_reads_a_test_command_and_falls_back_to_pytest_lines(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    watcher = Watcher(repo)
    async with LocalSandbox(repo, env=local_env) as sandbox:
        ctx = watcher.context(sandbox)
        # the plugin cannot load: the verbose lines are read instead
        result = await Run().run(ctx, RunArgs(
            command="env -u PYTEST_PLUGINS python3 -m pytest -v -p no:cacheprovider", readonly=True,
        ))
        plain = await Run().run(ctx, RunArgs(command="echo not a test; exit 1"))
    first = watcher.at_release
    assert first is not None and first.failures[0].test == "test_gated.py::test_a_fails_first"
    assert result.meta["tests"]["final"] is True
    assert result.meta["tests"]["failures"][0]["message"] == "AssertionError: arithmetic"
    assert result.output.startswith("[tests (pytest): 1 failed, 2 passed]\n"
                                    "FAILED test_gated.py::test_a_fails_first\n")
    assert "tests" not in plain.meta and plain.output.startswith("not a test\n")


async def test_the_log_in_a_result_is_its_tail_after_the_failures(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "release").write_text("")
    (repo / "test_chatty.py").write_text(
        "def test_chatty():\n    print('x' * 80 + '\\n' * 0)\n    for i in range(400):\n"
        "        print(f'line {i}')\n    assert False, 'chatty failed'\n"
    )
    async with LocalSandbox(repo, env=local_env) as sandbox:
        result = await RunTests().run(Watcher(repo).context(sandbox), RunTestsArgs(target="-s"))
    lines = result.output.splitlines()
    assert lines[0] == "[tests (pytest): 2 failed, 2 passed]"
    assert "FAILED test_chatty.py::test_chatty (test_chatty.py:5)" in lines
    assert "[... output truncated: the first" in result.output
    assert len(result.output) <= 4_000 + 200
    assert lines[-1].startswith("[exit 1 in ")


@pytest.mark.docker
async def test_partial_results_in_the_docker_sandbox(docker_image: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    watcher = Watcher(repo)
    config = SandboxConfig(memory="512m", pids_limit=256, cpus=1, tmp_size="64m")
    async with DockerSandbox(repo, session_id=f"test-{uuid.uuid4().hex[:10]}", config=config) as box:
        result = await RunTests().run(watcher.context(box), RunTestsArgs())
        leftover = await box.exec("ls /tmp")
    await check_gated_run(watcher, result)
    assert "tmp" not in leftover.output  # the plugin's folder went with the run


async def test_a_long_suite_prints_few_records(tmp_path: Path, local_env: dict[str, str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pytest.ini").write_text("[pytest]\n")
    (repo / "test_many.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('i', range(3000))\n"
        "def test_many(i):\n    assert i % 100 != 7\n"
    )
    mark = new_mark()
    async with LocalSandbox(repo, env=local_env) as sandbox:
        res = await sandbox.exec(with_plugin("python3 -m pytest -q -p no:cacheprovider", mark),
                                 output_limit=STREAM_LIMIT)
    records = [json.loads(line.split(mark, 1)[1]) for line in res.output.splitlines() if mark in line]
    assert len(records) <= 1 + 200 + 10 + 1  # the total, the steps, the failures, the end
    assert sum("failure" in r for r in records) == 10  # the agent keeps no more
    assert records[-1] == {"passed": 2970, "failed": 30, "errors": 0, "skipped": 0, "total": 3000,
                           "final": True}


async def test_a_failure_raised_below_the_test_names_both_places(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pytest.ini").write_text("[pytest]\n")
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "calc.py").write_text("def div(a, b):\n    return a / b\n")
    (repo / "test_calc.py").write_text("from pkg.calc import div\n\n\ndef test_div():\n    div(1, 0)\n")
    async with LocalSandbox(repo, env=local_env) as sandbox:
        result = await RunTests().run(Watcher(repo).context(sandbox), RunTestsArgs())
    (failure,) = result.meta["tests"]["failures"]
    assert failure["location"] == "test_calc.py:5 -> pkg/calc.py:2"
    assert failure["message"] == "ZeroDivisionError: division by zero"
