"""MCP servers from ``.mcp.json`` and from ``[mcp_servers.NAME]`` tables; bad entries are
errors naming the key; a repository's servers are marked as the repository's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asyncfc_agent.agent.config import ConfigError, load_config
from asyncfc_agent.mcp_servers.config import McpConfigError, McpServerConfig, expand
from asyncfc_agent.mcp_servers.tool import tool_name
from asyncfc_agent.userconfig import user_config_path


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def repo_with(tmp_path: Path, *, mcp_json: object = None, toml: str = "") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    if mcp_json is not None:
        (repo / ".mcp.json").write_text(json.dumps(mcp_json))
    if toml:
        (repo / "asyncfc.toml").write_text(toml)
    return repo


def test_mcp_json_loads_in_the_format_other_agents_write(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, mcp_json={"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "files-server"], "env": {"ROOT": "."},
                  "cwd": "sub", "autoApprove": ["read"]},
        "docs": {"type": "http", "url": "https://example.com/mcp", "headers": {"X-Team": "core"},
                 "disabled": True},
        "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
    }})
    servers = load_config(repo).mcp_servers
    files, docs = servers["files"], servers["docs"]
    assert (files.command, files.args, files.env, files.cwd) == ("npx", ["-y", "files-server"],
                                                              {"ROOT": "."}, "sub")
    assert files.transport == "stdio" and files.from_project and not files.trusted
    assert files.origin.endswith(".mcp.json")
    assert (docs.transport, docs.url, docs.headers, docs.enabled) == (
        "http", "https://example.com/mcp", {"X-Team": "core"}, False)
    assert servers["old"].transport == "sse"


def test_toml_tables_load_from_the_user_and_the_project(tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "asyncfc-agent" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('trust_project = ["mcp_servers.lint"]\n'
                    '[mcp_servers.gh]\nurl = "https://api.example.com/mcp"\n'
                    'bearer_token_env_var = "GH_TOKEN"\ntool_timeout_s = 30\nread_only = true\n'
                    'enabled_tools = ["search"]\n')
    repo = repo_with(tmp_path, toml='[mcp_servers.lint]\ncommand = "linter-mcp"\n'
                                    'disabled_tools = ["fix"]\nstartup_timeout_s = 5\n'
                                    '[mcp_servers.box]\ncommand = "tool-mcp"\nsandbox = true\n')
    servers = load_config(repo).mcp_servers
    gh, lint, box = servers["gh"], servers["lint"], servers["box"]
    assert not gh.from_project and gh.blocked_reason() is None
    assert (gh.bearer_token_env_var, gh.tool_timeout_s, gh.read_only) == ("GH_TOKEN", 30.0, True)
    assert gh.offers("search") and not gh.offers("delete")
    assert lint.from_project and lint.trusted and lint.blocked_reason() is None
    assert not lint.offers("fix") and lint.offers("check") and lint.startup_timeout_s == 5.0
    assert box.from_project and not box.trusted and box.blocked_reason() is None  # in the sandbox


def test_an_untrusted_project_server_is_blocked_with_the_way_to_trust_it(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, mcp_json={"mcpServers": {"x": {"url": "http://127.0.0.1:9/mcp"}}},
                     toml='[mcp_servers.y]\ncommand = "y"\n')
    servers = load_config(repo).mcp_servers
    for name in ("x", "y"):
        reason = servers[name].blocked_reason()
        assert reason is not None and f'"mcp_servers.{name}"' in reason and "trust_project" in reason
        assert str(user_config_path()) in reason  # where to write it
    extra = tmp_path / "trust.toml"
    extra.write_text('trust_project = ["mcp_servers"]\n')
    servers = load_config(repo, extra).mcp_servers
    assert all(s.blocked_reason() is None for s in servers.values())


@pytest.mark.parametrize(("entry", "message"), [
    ({"args": ["x"]}, "mcpServers.bad.command: missing"),
    ({"command": 7}, "mcpServers.bad.command must be a non-empty string"),
    ({"command": "x", "args": "not a list"}, "mcpServers.bad.args must be a list of strings"),
    ({"command": "x", "env": {"A": 1}}, "mcpServers.bad.env must be a table of strings"),
    ({"type": "ws", "url": "ws://h/ws"}, "mcpServers.bad.type: 'ws' is not a transport"),
    ({"type": "sse", "command": "x"}, "mcpServers.bad.url: missing (type is sse)"),
    ({"url": "ftp://h"}, "mcpServers.bad.url: 'ftp://h' is not an http"),
    ({"command": "x", "url": "http://h"}, "mcpServers.bad: give command"),
    ({"command": "x", "tool_timeout_s": 0}, "mcpServers.bad.tool_timeout_s must be a number"),
    ({"command": "x", "read_only": "yes"}, "mcpServers.bad.read_only must be true or false"),
    ({"command": "x", "colour": "red"}, "mcpServers.bad.colour: unknown key (known: type, command"),
    ({"url": "http://h", "sandbox": True}, "mcpServers.bad.sandbox: only a stdio server"),
])
def test_bad_mcp_json_entries_name_the_key(tmp_path: Path, entry: dict[str, object],
                                           message: str) -> None:
    repo = repo_with(tmp_path, mcp_json={"mcpServers": {"bad": entry}})
    with pytest.raises(ConfigError, match="^" + str(repo / ".mcp.json").replace(".", r"\.")) as err:
        load_config(repo)
    assert message in str(err.value)


@pytest.mark.parametrize(("table", "message"), [
    ('[mcp_servers.foo]\nargs = ["x"]\n', "mcp_servers.foo.command: missing"),
    ('[mcp_servers.foo]\ncommand = "x"\nenabled = 1\n', "mcp_servers.foo.enabled must be true or false"),
    ('[mcp_servers.foo]\ncommand = "x"\nbearer_token_env_var = "T"\n',
     "mcp_servers.foo.bearer_token_env_var: only an HTTP server"),
    ('mcp_servers = 3\n', "mcp_servers must be a table of servers"),
    ('[mcp_servers."a b"]\ncommand = "x"\n', "mcp_servers.a b: a server name is"),
])
def test_bad_toml_entries_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    repo = repo_with(tmp_path, toml=table)
    with pytest.raises(ConfigError) as err:
        load_config(repo)
    assert message in str(err.value) and "asyncfc.toml" in str(err.value)


def test_a_broken_mcp_json_names_the_file(tmp_path: Path) -> None:
    repo = repo_with(tmp_path)
    (repo / ".mcp.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"\.mcp\.json: Expecting property name"):
        load_config(repo)


def test_variables_expand_as_other_agents_do() -> None:
    env = {"HOST": "example.com", "EMPTY": ""}
    assert expand("https://${HOST}/mcp", env) == "https://example.com/mcp"
    assert expand("${MISSING:-fallback} ${EMPTY:-e}", env) == "fallback e"
    with pytest.raises(McpConfigError, match="MISSING is not set"):
        expand("${MISSING}", env)


def test_tool_names_fit_what_providers_accept() -> None:
    assert tool_name("files", "read_file") == "mcp__files__read_file"
    assert tool_name("my.server", "get/thing v2") == "mcp__my_server__get_thing_v2"
    long = tool_name("s", "x" * 100)
    assert len(long) == 64 and long.startswith("mcp__s__xxx")
    assert tool_name("s", "x" * 100) != tool_name("s", "x" * 101)
    first = tool_name("a.b", "t")
    assert tool_name("a_b", "t", {first}) != first  # two names that sanitise alike
    cfg = McpServerConfig(name="n", command="c", enabled_tools=["a"], disabled_tools=["a"])
    assert not cfg.offers("a")
