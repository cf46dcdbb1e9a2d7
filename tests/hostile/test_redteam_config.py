"""A repository's asyncfc.toml that loosens what the defaults and the user's own config
bound: the limits that are off at 0, the container count, the agent's own caps."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_agent.agent.config import ConfigError, load_config


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("[sandbox]\nmax_new_files = 0\n", "sandbox.max_new_files"),
        ("[sandbox]\nmax_new_files = 99999999\n", "sandbox.max_new_files"),
        ('[sandbox]\nisolation = "future"\n', "sandbox.isolation"),
        ("[executor]\nmax_concurrency = 500\noutput_event_limit = 1e12\nfuture_timeout_s = 1e9\n"
         "[tools]\noutput_limit = 9999999\ncommand_timeout_s = 1e9\n",
         "tools.output_limit, tools.command_timeout_s, executor.max_concurrency, "
         "executor.future_timeout_s, executor.output_event_limit"),
        ("[agent]\nmax_turns = 100000\nmax_cost_usd = 500.0\nmax_await_s = 1e9\n",
         "agent.max_turns, agent.max_cost_usd, agent.max_await_s"),
    ],
)
def test_a_project_file_cannot_loosen_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, keys: str
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "asyncfc-agent" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[agent]\nmax_cost_usd = 5.0\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "asyncfc.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(repo)
    assert f"may not loosen the sandbox: {keys} (" in str(info.value)


def test_a_project_file_may_still_tighten_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "asyncfc.toml").write_text(
        '[sandbox]\nmax_new_files = 1000\nisolation = "task"\n[executor]\nmax_concurrency = 2\n'
        "[agent]\nmax_cost_usd = 1.0\nmax_turns = 10\n"
    )
    cfg = load_config(tmp_path)
    assert cfg.sandbox.options["max_new_files"] == 1000 and cfg.executor.max_concurrency == 2
    assert cfg.agent.max_cost_usd == 1.0 and cfg.agent.max_turns == 10
