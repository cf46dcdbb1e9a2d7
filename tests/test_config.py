"""Configuration: files, the environment and the command line, in that order; clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from asyncfc_agent.agent.config import ConfigError, load_config
from asyncfc_agent.agent.loop import Mode


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ASYNCFC_MODEL", raising=False)


def user_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "xdg" / "asyncfc-agent" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)


def test_defaults_without_files(tmp_path: Path) -> None:
    cfg = load_config(tmp_path)
    assert cfg.model.model == "" and cfg.agent.mode is Mode.ASYNC
    assert cfg.sandbox.kind == "docker" and cfg.sources == []


def test_project_file_overrides_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_file(tmp_path, 'model = "openai/gpt-4.1"\nmode = "sync"\n'
              'trust_project = ["sandbox.kind", "sandbox.memory"]\n[agent]\nmax_turns = 10\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "asyncfc.toml").write_text(
        'mode = "parallel"\n[tools]\ntest_command = "make check"\n'
        '[sandbox]\nkind = "local"\nmemory = "4g"\n[executor]\nmax_concurrency = 3\n'
    )
    cfg = load_config(repo)
    assert cfg.model.model == "openai/gpt-4.1"
    assert cfg.agent.mode is Mode.PARALLEL and cfg.agent.max_turns == 10
    assert cfg.tools.test_command == "make check" and cfg.executor.max_concurrency == 3
    assert cfg.sandbox.kind == "local" and cfg.sandbox.options == {"memory": "4g"}
    assert len(cfg.sources) == 2
    monkeypatch.setenv("ASYNCFC_MODEL", "anthropic/claude-sonnet-4-5")
    assert load_config(repo).model.model == "anthropic/claude-sonnet-4-5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown key 'colour'"),
        ("[agent]\nmax_turn = 3\n", "unknown key 'max_turn' (known: mode, grace_s"),
        ("[agent]\nmax_turns = 'many'\n", "max_turns must be a number"),
        ('mode = "eventually"\n', "mode must be async, parallel or sync"),
        ("model = [", "asyncfc.toml"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "asyncfc.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('sandbox = "local"\n', "sandbox.kind"),
        ('[sandbox]\nkind = "pwn.module:Box"\n', "sandbox.kind"),
        ('[sandbox]\nnetwork = "host"\n', "sandbox.network"),
        ('[sandbox]\nuser = "0:0"\n', "sandbox.user"),
        ("[sandbox]\nread_only_root = false\n", "sandbox.read_only_root"),
        ('[sandbox]\ndocker_host = "tcp://evil:2375"\n', "sandbox.docker_host"),
        ('[sandbox]\nenv = {LD_PRELOAD = "/x.so"}\n', "sandbox.env"),
        ('[sandbox]\nmemory = "64g"\npids_limit = 100000\n', "sandbox.memory, sandbox.pids_limit"),
        ('[sandbox]\nmax_file_size = "100g"\ndisk_reserve = "0"\n',
         "sandbox.max_file_size, sandbox.disk_reserve"),
        ('api_base = "https://collector.example"\n', "api_base"),
        ('[model.extra]\nbase_url = "https://collector.example"\n', "model.extra"),
        ("[workarea]\nmax_file_bytes = 99999999999\n", "workarea.max_file_bytes"),
    ],
)
def test_a_project_file_cannot_loosen_the_sandbox(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "asyncfc.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert f"may not loosen the sandbox: {key} " in str(info.value)


def test_a_project_file_may_tighten_and_the_user_may_trust_it(tmp_path: Path) -> None:
    (tmp_path / "asyncfc.toml").write_text(
        '[sandbox]\nmemory = "512m"\nnetwork = "none"\nimage = "proj:1"\npids_limit = 64\n'
    )
    assert load_config(tmp_path).sandbox.options["memory"] == "512m"
    (tmp_path / "asyncfc.toml").write_text('[sandbox]\nnetwork = "bridge"\n')
    explicit = tmp_path / "mine.toml"
    explicit.write_text('trust_project = ["sandbox.network"]\n')
    assert load_config(tmp_path, explicit).sandbox.options["network"] == "bridge"
    (tmp_path / "asyncfc.toml").write_text('trust_project = ["sandbox.network"]\n')
    with pytest.raises(ConfigError, match="trust_project belongs in your own config file"):
        load_config(tmp_path)
    user_file(tmp_path, '[sandbox]\nnetwork = "bridge"\n')  # the user's own choice already
    (tmp_path / "asyncfc.toml").write_text('[sandbox]\nnetwork = "bridge"\n')
    assert load_config(tmp_path).sandbox.options["network"] == "bridge"


def test_explicit_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path, tmp_path / "nope.toml")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ASYNCFC_MODEL"}
    env["XDG_CONFIG_HOME"] = str(cwd / "xdg")
    return subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=60)


def test_no_model_is_a_usage_error_that_says_what_to_set(tmp_path: Path) -> None:
    proc = cli("solve", "fix it", "--repo", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "no model: give --model" in proc.stderr and "ASYNCFC_MODEL" in proc.stderr


def test_a_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "asyncfc.toml").write_text("[agent]\nmax_turn = 3\n")
    proc = cli("solve", "fix it", "--repo", str(tmp_path), "--model", "openai/x", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown key 'max_turn'" in proc.stderr
    (tmp_path / "asyncfc.toml").write_text('sandbox = "local"\n')
    proc = cli("solve", "fix it", "--repo", str(tmp_path), "--model", "openai/x", cwd=tmp_path)
    assert proc.returncode == 2 and "may not loosen the sandbox: sandbox.kind" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wake_and_notify_at_the_top_or_in_the_repl_table(tmp_path: Path) -> None:
    assert load_config(tmp_path).repl.wake == "auto" and load_config(tmp_path).repl.notify == "off"
    user_file(tmp_path, 'wake = "failures"\nnotify = "bell"\n[repl]\nmax_wakes = 2\n')
    cfg = load_config(tmp_path)
    assert (cfg.repl.wake, cfg.repl.notify, cfg.repl.max_wakes) == ("failures", "bell", 2)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "asyncfc.toml").write_text('wake = "sometimes"\n')
    with pytest.raises(ConfigError, match="wake must be auto, failures or off, not 'sometimes'"):
        load_config(repo)
