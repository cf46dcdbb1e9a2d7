"""Helpers of the interactive driver's tests: a session driven with asyncio directly."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from asyncfc_agent.agent import resume
from asyncfc_agent.agent.config import RunConfig
from asyncfc_agent.agent.events import Event
from asyncfc_agent.agent.interactive import Interactive, TurnReport

FAST = {"ttft_s": 0.0, "tokens_per_s": 0}


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


def alive(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0


async def until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    """Poll ``condition`` until it holds: some conditions (a process) send no event."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def last_call(messages: list[dict[str, Any]]) -> str | None:
    calls = messages[-1].get("tool_calls") or [{"function": {"name": None}}]
    return calls[-1]["function"]["name"]  # type: ignore[no-any-return]


def user_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def assert_calls_answered(messages: list[dict[str, Any]]) -> None:
    calls = [c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    answered = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert sorted(calls) == sorted(answered)


class Driver:
    def __init__(self, inter: Interactive, reports: list[TurnReport], events: list[Event]) -> None:
        self.inter, self.reports, self.events = inter, reports, events

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.inter.agent.messages
        return messages

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    async def say(self, text: str) -> TurnReport:
        """Send a message and wait for its turn to end."""
        assert self.inter.send(text)
        await self.inter.settle()
        return self.reports[-1]


Start = Callable[..., Any]


def make_start(tmp_path: Path, repo: Path) -> Start:
    """Open an interactive session on ``repo`` with a script of ``turns``; yields a Driver."""

    @asynccontextmanager
    async def make(turns: list[dict[str, Any]], *, profile: dict[str, float] | None = None,
                   saved: resume.Saved | None = None) -> AsyncIterator[Driver]:
        script = tmp_path / f"script-{uuid.uuid4().hex[:6]}.yaml"
        script.write_text(yaml.safe_dump({"profile": profile or FAST, "turns": turns}))
        cfg = RunConfig()
        cfg.model.model = f"scripted/{script}"
        cfg.sandbox.kind = "local"
        events: list[Event] = []
        reports: list[TurnReport] = []
        session = resume.new_session(repo, cfg, saved=saved, subscribers=[events.append])
        inter = Interactive(session, saved=saved, on_turn_end=reports.append)
        try:
            await inter.open()
            yield Driver(inter, reports, events)
        finally:
            await inter.close()

    return make


#: A process that opens a session, makes a checkpoint and an uncommitted change, and dies.
CRASH = """
import asyncio, os, sys
from pathlib import Path
from asyncfc_agent.agent import interactive, resume
from asyncfc_agent.agent.config import RunConfig

async def main():
    cfg = RunConfig()
    cfg.model.model, cfg.sandbox.kind = sys.argv[2], "local"
    inter = interactive.Interactive(resume.new_session(Path(sys.argv[1]), cfg))
    await inter.open()
    inter.send("fix add")
    await inter.settle()
    (inter.area.path / "late.txt").write_text("not committed yet\\n")
    os._exit(3)

asyncio.run(main())
"""
