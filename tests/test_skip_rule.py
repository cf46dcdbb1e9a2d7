"""The rule of tests/conftest.py on skips, applied to a small suite in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = '''
import pytest

def test_runs():
    pass

def test_tool_missing():
    pytest.skip("tmux is not installed")

@pytest.mark.docker
def test_no_engine():
    pytest.skip("no Docker engine")

@pytest.mark.llama
def test_off_unless_asked():
    pytest.skip("set ASYNCFC_LLAMA=1")

@pytest.mark.xfail(reason="known")
def test_known_failure():
    assert False
'''


def outcomes(tmp_path: Path, **env: str) -> dict[str, str]:
    here = Path(__file__).parent
    shutil.copy(here / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    docker: d\n    llama: l\n")
    (tmp_path / "test_suite.py").write_text(SUITE)
    clean = {k: v for k, v in os.environ.items() if k not in ("ASYNCFC_NO_SKIPS", "ASYNCFC_REQUIRE_DOCKER")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "test_suite.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**clean, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **env,  # the helpers conftest imports
             "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])},
    )
    found = dict(re.findall(r"::test_(\w+) (PASSED|FAILED|SKIPPED|XFAIL)", proc.stdout))
    assert found, proc.stdout + proc.stderr
    return found


@pytest.mark.parametrize(("env", "expected"), [
    ({}, {"tool_missing": "SKIPPED", "no_engine": "SKIPPED"}),
    ({"ASYNCFC_REQUIRE_DOCKER": "1"}, {"tool_missing": "SKIPPED", "no_engine": "FAILED"}),
    ({"ASYNCFC_NO_SKIPS": "1"}, {"tool_missing": "FAILED", "no_engine": "FAILED"}),
])
def test_a_skip_fails_unless_allowed(tmp_path: Path, env: dict[str, str], expected: dict[str, str]) -> None:
    assert outcomes(tmp_path, **env) == {
        "runs": "PASSED", "off_unless_asked": "SKIPPED", "known_failure": "XFAIL", **expected,
    }
