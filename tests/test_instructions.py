"""Project instructions (AGENTS.md): what is read, what is refused, and what reaches the model."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent.instructions import NESTED_LIMIT, ProjectInstructions, read_instructions
from support import make_repo, write_script


def test_agents_md_is_preferred_and_claude_md_is_the_fallback(tmp_path: Path) -> None:
    (tmp_path / "CLAUDE.md").write_text("claude rules\n")
    doc = read_instructions(tmp_path, "", 1000)
    assert doc is not None and (doc.path, doc.text) == ("CLAUDE.md", "claude rules\n")
    (tmp_path / "AGENTS.md").write_text("agent rules\n")
    doc = read_instructions(tmp_path, "", 1000)
    assert doc is not None and (doc.path, doc.text) == ("AGENTS.md", "agent rules\n")


def test_a_long_file_is_cut_at_the_limit(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("x" * 50)
    doc = read_instructions(tmp_path, "", 20)
    assert doc is not None and doc.text == "x" * 20 and doc.truncated


def test_links_and_fifos_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret\n")
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "AGENTS.md").symlink_to(secret)
    (root / "linked").symlink_to(tmp_path)  # a folder on the way that leads out
    os.mkfifo(root / "sub" / "AGENTS.md")  # would block a plain open
    assert read_instructions(root, "", 1000) is None
    assert read_instructions(root, "linked", 1000) is None
    assert read_instructions(root, "sub", 1000) is None
    assert read_instructions(root, "../", 1000) is None
    # a link that stays inside is the same file under another name
    (root / "docs").mkdir()
    (root / "docs" / "agents.md").write_text("inside\n")
    (root / "sub2").mkdir()
    (root / "sub2" / "AGENTS.md").symlink_to("../docs/agents.md")
    doc = read_instructions(root, "sub2", 1000)
    assert doc is not None and doc.text == "inside\n"


def test_folder_files_come_nearest_first_and_once(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "AGENTS.md").write_text("root\n")
    (tmp_path / "a" / "AGENTS.md").write_text("a rules\n")
    (tmp_path / "a" / "b" / "CLAUDE.md").write_text("b rules\n")
    docs = ProjectInstructions(tmp_path)
    assert docs.root_file() is not None
    assert [d.path for d in docs.for_path("a/b/c.py")] == ["a/b/CLAUDE.md", "a/AGENTS.md"]
    assert docs.for_path("a/b/other.py") == []
    assert docs.for_path("a/x.py") == []
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "AGENTS.md").write_text("c" * (NESTED_LIMIT + 10))
    (cut,) = docs.for_path("c", is_folder=True)
    assert cut.truncated and len(cut.text) == NESTED_LIMIT


def test_a_run_gives_the_model_the_root_file_first_and_a_folder_file_with_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncfc_agent.agent.assemble import assemble
    from asyncfc_agent.agent.model import litellm_module
    from asyncfc_agent.agent.session import Session

    litellm = litellm_module()  # first: it sets up litellm to use its local cost map
    from asyncfc_agent.agent.scripted import PROVIDER

    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    repo = make_repo(tmp_path)
    (repo / "AGENTS.md").write_text("Always run the tests with -q. ROOT-MARKER\n")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "AGENTS.md").write_text("pkg code is frozen. PKG-MARKER\n")
    (repo / "pkg" / "mod.py").write_text("X = 1\n")
    script = write_script(tmp_path, {"turns": [
        {"tool_calls": [{"name": "read_file", "args": {"path": "calc.py"}}]},
        {"tool_calls": [{"name": "read_file", "args": {"path": "pkg/mod.py"}}]},
        {"tool_calls": [{"name": "read_file", "args": {"path": "pkg/mod.py"}}]},
        {"text": "done"},
    ]})
    requests: list[list[dict[str, Any]]] = []  # those of the run (not litellm's warm-up)
    handler = next(p["custom_handler"] for p in litellm.custom_provider_map
                   if p["provider"] == PROVIDER)
    original = handler.astreaming

    def recording(model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        if Path(model) == script:
            requests.append(json.loads(json.dumps(messages, default=str)))
        return original(model, messages, *args, **kwargs)

    monkeypatch.setattr(handler, "astreaming", recording)
    cfg = assemble(repo, model=f"scripted/{script}", sandbox="local", out=tmp_path / "out")
    outcome = asyncio.run(Session("Read the code", repo, cfg).run())

    assert outcome.exit_reason == "submitted"
    first = requests[0]
    assert first[0]["role"] == "system" and "ROOT-MARKER" in first[0]["content"]
    assert not any("PKG-MARKER" in str(m.get("content")) for m in first)
    # the folder's file comes with the first result under pkg/, and only with that one
    results = [m["content"] for m in requests[-1] if m["role"] == "tool"]
    carrying = [r for r in results if "PKG-MARKER" in r]
    assert len(carrying) == 1 and "[project instructions for pkg/, from pkg/AGENTS.md]" in carrying[0]
    events = [json.loads(line) for line in (tmp_path / "out" / "trajectory.jsonl").read_text().splitlines()]
    loaded = [(e["path"], e["via"]) for e in events if e["kind"] == "instructions_loaded"]
    assert loaded == [("AGENTS.md", "system"), ("pkg/AGENTS.md", "f2")]
