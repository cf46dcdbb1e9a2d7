"""The loop and the protocol toward the model, driven by the scripted model through
litellm's real streaming path, with real tools in a local sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncfc_agent.agent.events import Event, EventBus
from asyncfc_agent.agent.executor import Executor, ExecutorConfig
from asyncfc_agent.agent.futures import FutureState
from asyncfc_agent.agent.loop import Agent, AgentConfig, Finished, Mode, Submitted
from asyncfc_agent.agent.model import ModelClient, ModelConfig
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tools
from asyncfc_agent.tools.workspace import Workspace

FAST = {"ttft_s": 0.0, "tokens_per_s": 0}


class Run:
    def __init__(self, agent: Agent, events: list[Event], root: Path) -> None:
        self.agent, self.events, self.root = agent, events, root

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.agent.messages
        return messages

    def tool_results(self) -> list[str]:
        return [m["content"] for m in self.messages if m["role"] == "tool"]

    def kinds(self) -> list[tuple[str, Any]]:
        return [(e.kind, getattr(e, "future", getattr(e, "turn", None))) for e in self.events]

    async def finish(self) -> Finished:
        with pytest.raises(Finished) as info:
            await self.agent.run("do the task")
        return info.value


@pytest.fixture
def run_script(tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def make(turns: list[dict[str, Any]], *, mode: Mode = Mode.ASYNC,
                   profile: dict[str, float] | None = None, grace_s: float = 0.1) -> AsyncIterator[Run]:
        root = tmp_path / f"repo-{mode.value}"
        root.mkdir()
        (root / "a.txt").write_text("alpha\n")
        script = tmp_path / f"script-{mode.value}.yaml"
        script.write_text(yaml.safe_dump({"profile": profile or FAST, "turns": turns}))
        events: list[Event] = []
        bus = EventBus()
        bus.subscribe(events.append)
        async with LocalSandbox(root, snapshot_root=tmp_path / f"snaps-{mode.value}") as box:
            ex = Executor(tools=load_tools(["read_file", "edit_file", "run", "grep"]),
                          sandbox=box, workspace=Workspace(root), bus=bus,
                          config=ExecutorConfig(output_interval_s=0.01))
            async with ex:
                model = ModelClient(ModelConfig(model=f"scripted/{script}", max_retries=0))
                agent = Agent(model=model, executor=ex, bus=bus,
                              config=AgentConfig(mode=mode, grace_s=grace_s))
                yield Run(agent, events, root)

    return make


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


async def test_fast_call_inline_slow_call_handle_then_delivery(run_script: Any) -> None:
    turns = [
        {"tool_calls": [call("read_file", path="a.txt"), call("run", command="sleep 0.6; echo done")]},
        {"text": "thinking", "think_tokens": 0, "tool_calls": [call("grep", pattern="alpha")]},
        {"text": "more", "tool_calls": [call("run", command="sleep 0.8")]},
        {"text": "done"},
    ]
    async with run_script(turns, profile={"ttft_s": 0.5, "tokens_per_s": 0}) as r:
        assert isinstance(await r.finish(), Submitted)
    first_results = r.tool_results()[:2]
    assert first_results[0].startswith("[f1 read_file: resolved")
    handle = json.loads(first_results[1])
    assert handle["future"] == "f2" and handle["status"] == "running" and handle["tool"] == "run"
    deliveries = [m for m in r.messages if m["role"] == "assistant"
                  and (m.get("tool_calls") or [{}])[0].get("id", "").startswith("dlv")]
    assert deliveries, "f2 was never delivered"
    args = json.loads(deliveries[0]["tool_calls"][0]["function"]["arguments"])
    assert args == {"ids": ["f2"]}
    delivered = [m["content"] for m in r.messages if m.get("tool_call_id") == deliveries[0]["tool_calls"][0]["id"]]
    assert delivered[0].startswith("[f2 run: resolved, exit 0") and "done" in delivered[0]
    assert r.agent.executor.futures["f2"].delivered_via == "delivery"


async def test_finishing_gate_awaits_and_reprompts(run_script: Any) -> None:
    turns = [
        {"tool_calls": [call("run", command="sleep 0.5; echo late result")]},
        {"text": "All done."},
    ]
    async with run_script(turns) as r:
        fin = await r.finish()
    assert isinstance(fin, Submitted) and str(fin) == "All done."
    f1 = r.agent.executor.futures["f1"]
    assert f1.state is FutureState.RESOLVED and f1.delivered
    users = [m["content"] for m in r.messages if m["role"] == "user"]
    assert "still running when you answered" in users[-1]
    assert r.agent.turn == 3  # the answer, then one confirmation (the empty end of the script)
    assert any(e.kind == "notice" and "pending" in getattr(e, "message", "") for e in r.events)


async def test_gate_is_bounded(run_script: Any) -> None:
    turns = [{"tool_calls": [call("run", command="sleep 0.3")]}, {"text": "a"}]
    async with run_script(turns) as r:
        r.agent.config.max_gate_prompts = 0
        fin = await r.finish()
    assert isinstance(fin, Submitted)
    assert r.agent.executor.futures["f1"].state is FutureState.CANCELLED


async def test_await_all_any_peek_and_unknown(run_script: Any) -> None:
    turns = [
        {"tool_calls": [call("run", command="echo first; sleep 0.6; echo second", readonly=True),
                        call("run", command="sleep 0.2; echo quick", readonly=True)]},
        {"tool_calls": [call("await_futures", ids=["f1"], timeout_s=0)]},
        {"tool_calls": [call("await_futures", ids=["f1", "f2"], mode="any")]},
        {"tool_calls": [call("await_futures", ids=["f7"])]},
        {"tool_calls": [call("await_futures")]},
        {"tool_calls": [call("await_futures")]},
        {"text": "ok"},
    ]
    async with run_script(turns) as r:
        await r.finish()
    res = r.tool_results()
    peek, anyone, unknown, all_rest, nothing = res[2], res[3], res[4], res[5], res[6]
    assert peek.startswith("[f1 run: running") and "first" in peek
    assert "[f1 run: running" in anyone and "[f2 run: resolved, exit 0" in anyone
    assert "unknown future f7" in unknown and "f1, f2" in unknown
    assert all_rest.startswith("[f1 run: resolved") and "second" in all_rest
    assert "f2" not in all_rest  # already seen: not awaited again
    assert nothing.startswith("no futures to await")


async def test_cancel_future(run_script: Any) -> None:
    turns = [
        {"tool_calls": [call("run", command="sleep 20", timeout_s=60)]},
        {"tool_calls": [call("cancel_future", id="f1")]},
        {"tool_calls": [call("cancel_future", id="f1"), call("cancel_future", id="nope"),
                        call("cancel_future")]},
        {"text": "stopped"},
    ]
    async with run_script(turns) as r:
        await r.finish()
    res = r.tool_results()
    assert res[1].startswith("[f1 run: cancelled")
    assert res[2].startswith("f1 had already ended")
    assert "unknown future nope" in res[3]
    assert "invalid arguments for cancel_future" in res[4]


async def test_malformed_and_unknown_calls_get_error_results(run_script: Any) -> None:
    turns = [
        {"tool_calls": [call("frobnicate", x=1), call("read_file", path=5),
                        call("await_futures", mode="sometimes")]},
        {"text": "sorry"},
    ]
    async with run_script(turns) as r:
        await r.finish()
    res = r.tool_results()
    assert res[0].startswith("error: unknown tool 'frobnicate'") and "read_file" in res[0]
    assert res[1].startswith("[f1 read_file: failed]") and "invalid arguments" in res[1]
    assert res[2].startswith("error: invalid arguments for await_futures")


async def test_references_through_the_loop(run_script: Any) -> None:
    turns = [
        {"tool_calls": [call("run", command="sleep 0.3; printf a.txt"),
                        call("read_file", path="${f1}")]},
        {"tool_calls": [call("await_futures")]},
        {"text": "read it"},
    ]
    async with run_script(turns) as r:
        await r.finish()
    f2 = r.agent.executor.futures["f2"]
    assert f2.state is FutureState.RESOLVED and "alpha" in f2.value().output


@pytest.mark.parametrize("mode", [Mode.ASYNC, Mode.PARALLEL, Mode.SYNC])
async def test_modes_number_alike_and_reach_the_same_workspace(run_script: Any, mode: Mode) -> None:
    turns = [
        {"tool_calls": [call("run", command="sleep 0.3; echo tests", readonly=True),
                        call("read_file", path="a.txt")]},
        {"tool_calls": [call("edit_file", path="a.txt", old="alpha", new="omega"),
                        call("await_futures", ids=["f1"])]},
        {"text": "done"},
    ]
    async with run_script(turns, mode=mode) as r:
        await r.finish()
        futures = r.agent.executor.futures
    assert [(f.id, f.tool) for f in futures.values()] == [
        ("f1", "run"), ("f2", "read_file"), ("f3", "edit_file")]
    assert (r.root / "a.txt").read_text() == "omega\n"
    results = r.tool_results()
    if mode is Mode.ASYNC:
        assert json.loads(results[0])["status"] == "running"
    else:
        assert results[0].startswith("[f1 run: resolved")  # every call blocks the turn
    assert "[f1 run: resolved" in results[3]  # the await finds it, in every mode


async def test_calls_dispatch_mid_response_only_in_async_mode(run_script: Any) -> None:
    long_text = "x" * 400
    turns = [{"tool_calls": [call("run", command="echo hi")], "text": ""},
              {"text": long_text, "tool_calls": []}]
    profile = {"ttft_s": 0.0, "tokens_per_s": 2000}
    for mode in (Mode.ASYNC, Mode.SYNC):
        turns2 = [{"tool_calls": [call("run", command="echo hi"),
                                  call("write_file", path="b.txt", content="y" * 600)]}]
        async with run_script(turns2 + turns[1:], mode=mode, profile=profile) as r:
            await r.finish()
        order = [k for k in r.kinds() if k[0] in ("future_started", "response_done")]
        first_started = order.index(("future_started", "f1"))
        response_done = order.index(("response_done", 1))
        if mode is Mode.ASYNC:
            assert first_started < response_done
        else:
            assert first_started > response_done


async def test_scripted_arguments_stream_in_fragments(run_script: Any) -> None:
    turns = [{"tool_calls": [call("write_file", path="long.txt", content="z" * 200)]}]
    async with run_script(turns) as r:
        chunks: list[Any] = []
        hooks_model = r.agent.model
        from asyncfc_agent.agent.model import litellm_module

        litellm = litellm_module()
        stream = await litellm.acompletion(model=hooks_model.config.model,
                                           messages=[{"role": "user", "content": "x"}], stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.tool_calls:
                chunks.append(chunk.choices[0].delta.tool_calls[0])
    assert len(chunks) >= 3
    assert chunks[0].id == "call_0_0" and chunks[0].function.name == "write_file"
    joined = "".join(c.function.arguments for c in chunks)
    assert json.loads(joined) == {"path": "long.txt", "content": "z" * 200}


async def test_grace_waits_only_for_futures_that_may_still_end_within_it(run_script: Any) -> None:
    async with run_script([]) as r:  # the futures are submitted here, not by the model
        ex = r.agent.executor
        f1 = ex.submit("run", {"command": "sleep 5", "readonly": True}, call_id="a", turn=1)
        f2 = ex.submit("run", {"command": "sleep 5", "readonly": True}, call_id="b", turn=1)
        f3 = ex.submit("read_file", {"path": "${f1}"}, call_id="c", turn=1)
        await asyncio.sleep(0.05)
        assert f1.state is FutureState.RUNNING and f2.state is FutureState.RUNNING
        f1.started_s = r.agent.bus.now() - 3.0  # a suite that has run for seconds already
        assert r.agent._worth_a_grace([f1, f2, f3]) == [f2]  # f3 waits for f1: not worth it
        ex.cancel_all("done")
