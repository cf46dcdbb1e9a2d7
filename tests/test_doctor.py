"""``doctor``: each missing piece is reported with its fix, and the exit says whether a run
could start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from asyncfc_agent.sandboxes.image import DEFAULT_RECIPE
from support import FIX_SCRIPT, make_repo, write_script
from wire.replies import Reply
from wire.server import WireServer


def doctor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "ASYNCFC_MODEL"}
    base.update(XDG_CONFIG_HOME=str(tmp_path / "config"), **env)
    return subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", "doctor", *args],
                          capture_output=True, text=True, env=base, timeout=120)


def lines(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Check name -> its status mark and detail, from the printed table."""
    found = {}
    for line in proc.stdout.splitlines():
        mark, _, rest = line.partition("  ")
        if mark.strip() in ("ok", "warn", "MISS"):
            name, _, detail = rest.strip().partition("  ")
            found[name.strip()] = f"{mark.strip()} {detail.strip()}"
    return found


def test_a_missing_key_is_named_with_its_variable(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    proc = doctor(tmp_path, "--repo", str(repo), "--model", "openai/gpt-4.1")
    checks = lines(proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert checks["model"].startswith("MISS") and "OPENAI_API_KEY" in checks["model"]
    assert "fix: export the variable it names" in proc.stdout
    assert checks["git"].startswith("ok") and checks["repository"].startswith("ok")


def test_no_model_and_a_plain_folder_say_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    proc = doctor(tmp_path, "--repo", str(folder))
    checks = lines(proc)
    assert proc.returncode == 1
    assert checks["model"].startswith("MISS no model configured")
    assert checks["repository"].startswith("warn") and "runs work on a copy" in checks["repository"]


def test_a_broken_config_file_is_named(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "asyncfc.toml").write_text("[agent]\nmax_turnz = 3\n")
    proc = doctor(tmp_path, "--repo", str(repo))
    assert proc.returncode == 1
    assert "max_turnz" in lines(proc)["config"]


def test_a_missing_image_is_built_by_the_first_run_or_by_hand(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    recipe = tmp_path / "recipe"
    shutil.copytree(DEFAULT_RECIPE, recipe)
    with (recipe / "packages.txt").open("a") as f:
        f.write("# a recipe whose image nobody built\n")
    script = write_script(tmp_path, FIX_SCRIPT)
    proc = doctor(tmp_path, "--repo", str(repo), "--model", f"scripted/{script}",
                  ASYNCFC_SANDBOX_RECIPE=str(recipe))
    checks = lines(proc)
    if checks["docker"].startswith("warn"):  # no engine here: said, with the way out
        assert "--sandbox local" in proc.stdout
        return
    assert checks["sandbox image"].startswith("warn") and "the first Docker run builds it" in checks["sandbox image"]
    assert "asyncfc-agent sandbox build" in proc.stdout
    assert proc.returncode == 0, proc.stdout  # a warning does not stop a run


def test_ping_reports_a_server_that_answers_and_one_that_refuses(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with WireServer("openai", [Reply(text="OK")]) as server:
        good = doctor(tmp_path, "--repo", str(repo), "--model", server.model,
                      "--api-base", server.base_url, "--ping", OPENAI_API_KEY="sk-test")
    assert lines(good)["model reachable"].startswith("ok"), good.stdout + good.stderr
    assert good.returncode == 0
    assert len(server.requests) == 1 and server.violations == []
    with WireServer("openai", [Reply(status=401)] * 3) as refusing:
        bad = doctor(tmp_path, "--repo", str(repo), "--model", refusing.model,
                     "--api-base", refusing.base_url, "--ping", OPENAI_API_KEY="sk-test")
    assert bad.returncode == 1
    assert lines(bad)["model reachable"].startswith("MISS")
