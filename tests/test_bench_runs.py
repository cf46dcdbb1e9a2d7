"""The benchmark end to end on a tiny workload: through the runner in all three modes, and
through the CLI in a subprocess. Local sandbox, instant model; no timing is asserted."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncfc_agent.bench import catalog, report, summary
from asyncfc_agent.bench.profiles import PROFILES
from asyncfc_agent.bench.runner import Settings, mode_order, run_bench
from support import BUGGY, FIX_SCRIPT, TESTS

# the fix of the end-to-end tests, with a reference: f6 reads the file f5 names
SCRIPT: dict[str, Any] = copy.deepcopy(FIX_SCRIPT)
SCRIPT["turns"][2]["tool_calls"] += [
    {"name": "run", "args": {"command": "ls calc.py", "readonly": True}},
    {"name": "read_file", "args": {"path": "${f5}"}},
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workload folder: a one-function repository with a failing test."""
    root = tmp_path_factory.mktemp("workloads") / "tiny"
    repo = root / "repo"
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text(BUGGY)
    (repo / "test_calc.py").write_text(TESTS)
    (repo / "asyncfc.toml").write_text(
        '[tools]\ntest_command = "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python3 -m pytest -q -p no:cacheprovider"\n'
    )
    (root / "script.yaml").write_text(yaml.safe_dump(SCRIPT))
    (root / "issue.md").write_text("add() subtracts\n")
    (root / "workload.toml").write_text(
        'description = "a tiny fix"\nquick_scale = 0.5\n\n[targets]\nspeedup_vs_sync = 1.0\n'
    )
    return root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_a_workload_folder_loads(tiny: Path) -> None:
    w = catalog.find(str(tiny))
    assert (w.name, w.description, w.quick_scale) == ("tiny", "a tiny fix", 0.5)
    assert w.targets == {"speedup_vs_sync": 1.0}
    with pytest.raises(catalog.WorkloadError, match="unknown workload"):
        catalog.find("no-such-workload")


def test_shipped_workloads_load() -> None:
    names = [w.name for w in catalog.builtin()]
    assert names == ["long-tests", "many-reads", "dependent-chain", "build-and-test", "fix-and-rerun"]


def test_modes_take_turns_going_first() -> None:
    assert [mode_order(r)[0] for r in range(4)] == ["sync", "parallel", "plain", "async"]
    assert sorted(mode_order(1)) == ["async", "parallel", "plain", "sync"]


def check_report(rep: dict[str, Any], name: str) -> dict[str, Any]:
    (w,) = rep["workloads"]
    assert isinstance(w, dict)
    assert w["name"] == name
    assert set(w["modes"]) == {"sync", "parallel", "plain", "async"}
    for mode in w["modes"].values():
        assert len(mode["wall_s"]) == 1 and mode["median_s"] == mode["wall_s"][0]
        assert mode["status"] == ["solved"]
    median = {m: w["modes"][m]["median_s"] for m in ("sync", "parallel", "async")}
    assert w["speedup_vs_sync"] == pytest.approx(median["sync"] / median["async"], abs=1e-3)
    assert w["speedup_vs_parallel"] == pytest.approx(median["parallel"] / median["async"], abs=1e-3)
    assert w["speedup_vs_plain"] == pytest.approx(w["modes"]["plain"]["median_s"] / median["async"], abs=1e-3)
    assert set(w["features"]) >= {"memo_hits", "speculative_joins", "early_wakeups", "saved_vs_plain_s"}
    # both figures are rounded to the millisecond: on a run of a fraction of a second that
    # moves their ratio by more than a thousandth
    assert w["efficiency"] == pytest.approx(w["lower_bound_s"] / median["async"], abs=5e-3)
    assert w["lower_bound_s"] > 0
    assert w["patches"]["agree"] and not w["patches"]["empty"]
    assert w["lower_bound"]["critical_path"] and w["lower_bound"]["measured_critical_path"]
    assert w["targets"]["speedup_vs_sync"]["target"] == 1.0
    json.dumps(rep)  # the report is plain JSON
    assert summary.failures(rep) == []
    return w


@pytest.mark.slow
@pytest.mark.timeout(360)  # four full runs of the workload: minutes on a loaded machine
async def test_every_mode_through_the_runner(tiny: Path, tmp_path: Path, home: Path) -> None:
    lines: list[str] = []
    settings = Settings(
        workloads=[catalog.find(str(tiny))], profile=PROFILES["instant"], repeat=1,
        sandbox="local", out_dir=tmp_path / "bench",
    )
    rep = await run_bench(settings, lines.append)
    w = check_report(rep, "tiny")
    assert w["scale"] == 1.0 and rep["sandbox"] == "local"
    runs = sorted((tmp_path / "bench" / "tiny").iterdir())
    assert [r.name for r in runs] == ["1-async", "1-parallel", "1-plain", "1-sync"]
    patch = (runs[0] / "patch.diff").read_text()
    assert "+    return a + b" in patch
    futures = json.loads((runs[0] / "result.json").read_text())["futures"]
    assert [(f["id"], f["deps"], f["status"]) for f in futures][-1] == ("f6", ["f5"], "resolved")
    assert not (tmp_path / "bench" / "repos" / "tiny-1-sync").exists()
    assert any("tiny" in line and "sync" in line for line in lines)
    text = report.render(rep)
    assert "tiny" in text and "speedup_vs_sync" in text
    assert report.svg(rep).startswith("<svg")


@pytest.mark.slow
def test_the_command_writes_the_report_and_the_chart(tiny: Path, tmp_path: Path, home: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "asyncfc_agent.cli", "bench", "--quick", "--workload", str(tiny),
           "--sandbox", "local", "--json-out", str(out / "bench.json"), "--plot",
           str(out / "bench.svg"), "--out", str(out / "runs")]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=110)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = json.loads((out / "bench.json").read_text())
    w = check_report(rep, "tiny")
    assert rep["quick"] is True and w["scale"] == 0.5
    assert rep["command"].startswith("asyncfc-agent bench --sandbox local --workload")
    assert "vs sync" in proc.stdout and "tiny" in proc.stdout
    assert (out / "bench.svg").read_text().startswith("<svg")


def test_the_command_lists_and_refuses(tmp_path: Path, home: Path) -> None:
    base = [sys.executable, "-m", "asyncfc_agent.cli", "bench"]
    listed = subprocess.run([*base, "--list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "long-tests" in listed.stdout and "fast" in listed.stdout
    bad = subprocess.run([*base, "--profile", "warp"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown profile" in bad.stderr
    png = subprocess.run([*base, "--plot", str(tmp_path / "x.png")], capture_output=True,
                         text=True, timeout=60)
    assert png.returncode == 2 and "SVG" in png.stderr
