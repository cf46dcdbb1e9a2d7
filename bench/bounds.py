"""What no mode can beat: the schedule of a script with no overhead, and its critical path.

A scripted run is fixed by its script: the model's responses follow one another, a tool
call can start no earlier than the moment it closes in the stream, a call that refers to
``${fN}`` no earlier than fN's end, and a response that comes after an ``await_futures``
no earlier than the end of what it awaits. ``simulate`` plays a script under those
constraints with given tool durations and no overhead at all (no request latency beyond
the script's own timing, no dispatch delay, no grace window). In ``async`` mode that
schedule is the lower bound of the benchmark; in ``parallel`` and ``sync`` mode it is what
those modes would take with a perfect executor, which tells their overhead apart from the
mode's own waiting.

Conflicts between calls on the same paths are left out on purpose: they are the
executor's way of keeping order, not something the script forces, and leaving out a
constraint only makes the bound lower (still a bound).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..agent.refs import REF
from ..agent.script import Profile, Script, call_close_seconds, turn_seconds

Mode = Literal["async", "parallel", "sync", "plain"]
#: "plain" is async mode without memoized and speculative futures and early wake-ups:
#: what those are measured against. It schedules as async mode does.
MODES: tuple[Mode, ...] = ("sync", "parallel", "plain", "async")


def loop_mode(mode: str) -> Mode:
    """The agent loop's mode of a benchmark mode ("plain" runs the async loop)."""
    return "async" if mode == "plain" else mode  # type: ignore[return-value]

AWAIT = "await_futures"
CANCEL = "cancel_future"
#: The loop caps every ``await_futures`` at this many seconds (AgentConfig.max_await_s).
MAX_AWAIT_S = 1800.0


@dataclass(frozen=True)
class Call:
    """A repository tool call: it becomes future ``fid``."""

    fid: str
    tool: str
    close_s: float  # when it closes, from the start of its response
    deps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Await:
    """An ``await_futures`` call; ``ids`` None awaits every future not yet delivered."""

    ids: tuple[str, ...] | None = None
    any: bool = False
    timeout_s: float = 600.0


@dataclass(frozen=True)
class Step:
    """One response of the model."""

    duration_s: float
    calls: tuple[Call, ...] = ()
    awaits: tuple[Await, ...] = ()

    @property
    def final(self) -> bool:
        """No tool calls at all: the run may end with this response."""
        return not self.calls and not self.awaits


@dataclass(frozen=True)
class Plan:
    """The steps of a script, with the duration of a response past its end (time to
    first token only: the scripted model then sends an empty final message)."""

    steps: tuple[Step, ...]
    empty_s: float = 0.0

    def step(self, k: int) -> Step:
        return self.steps[k] if k < len(self.steps) else Step(self.empty_s)

    def calls(self) -> list[Call]:
        return [c for s in self.steps for c in s.calls]

    def with_times(
        self, durations: Mapping[int, float], closes: Mapping[str, float] | None = None
    ) -> Plan:
        """The same plan with measured response durations (by step index) and close times
        (by future id), where given: for telling request overhead apart."""
        closes = closes or {}
        steps = []
        for k, s in enumerate(self.steps):
            calls = tuple(replace(c, close_s=closes.get(c.fid, c.close_s)) for c in s.calls)
            steps.append(replace(s, duration_s=durations.get(k, s.duration_s), calls=calls))
        return Plan(tuple(steps), self.empty_s)


def plan_from_script(script: Script, profile: Profile | None = None) -> Plan:
    """The plan of ``script`` under ``profile`` (default: the script's own), with future
    ids given in call-closing order as the contract numbers them."""
    prof = profile or script.profile
    steps: list[Step] = []
    n = 0
    for turn in script.turns:
        calls: list[Call] = []
        awaits: list[Await] = []
        for call, close in zip(turn.tool_calls, call_close_seconds(turn, prof), strict=True):
            if call.name == AWAIT:
                awaits.append(_await(call.args))
            elif call.name != CANCEL:  # a cancel only ends work early: no constraint
                n += 1
                # the executor's pattern over the serialised arguments: a reference can
                # only sit in a string, and JSON keeps ``${fN}`` as it is
                deps = tuple(dict.fromkeys(REF.findall(json.dumps(call.args))))
                calls.append(Call(f"f{n}", call.name, close, deps))
        steps.append(Step(turn_seconds(turn, prof), tuple(calls), tuple(awaits)))
    return Plan(tuple(steps), prof.ttft_s)


def _await(args: dict[str, Any]) -> Await:
    ids = args.get("ids")
    return Await(
        ids=tuple(str(i) for i in ids) if ids else None,
        any=args.get("mode") == "any",
        timeout_s=float(args.get("timeout_s", 600.0)),
    )


# --- the schedule ------------------------------------------------------------------------


@dataclass
class FutureSlot:
    fid: str
    tool: str
    turn: int  # index of the step that issued it
    ready_s: float  # dispatched (async: its call closed; otherwise: the response ended)
    start_s: float
    end_s: float
    after: str | None = None  # the future whose end held its start back, if one did


@dataclass
class TurnSlot:
    index: int  # step index (past the script's end for the empty answers)
    request_s: float
    end_s: float  # the response ended
    done_s: float  # the next request could go
    waited_on: str | None = None  # the future whose end set ``done_s``, if one did


@dataclass(frozen=True)
class Segment:
    kind: str  # "model", "tool", "wait"
    label: str
    start_s: float
    end_s: float

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass
class Schedule:
    mode: str
    turns: list[TurnSlot] = field(default_factory=list)
    futures: dict[str, FutureSlot] = field(default_factory=dict)

    @property
    def makespan_s(self) -> float:
        return self.turns[-1].end_s if self.turns else 0.0

    @property
    def model_s(self) -> float:
        return sum(t.end_s - t.request_s for t in self.turns)

    def critical_path(self) -> list[Segment]:
        """The chain of responses, tool runs and waits that ends the run, in time order."""
        path: list[Segment] = []
        k: int | None = len(self.turns) - 1 if self.turns else None
        fid: str | None = None
        while k is not None or fid is not None:
            if fid is not None:
                f = self.futures[fid]
                path.append(Segment("tool", f"{f.fid} {f.tool}", f.start_s, f.end_s))
                if f.after is not None:
                    fid = f.after
                    continue
                turn = self.turns[f.turn]  # slots are kept by step index
                path.append(Segment("model", f"response {turn.index + 1} until {f.fid} closes",
                                    turn.request_s, f.ready_s))
            else:
                assert k is not None
                turn = self.turns[k]
                path.append(Segment("model", f"response {turn.index + 1}", turn.request_s,
                                    turn.end_s))
            k, fid = self._before(turn, path)
        return path[::-1]

    def _before(self, turn: TurnSlot, path: list[Segment]) -> tuple[int | None, str | None]:
        """What the request of ``turn`` waited for: the previous response, or a future."""
        if turn.index == 0:
            return None, None
        prev = self.turns[turn.index - 1]
        if prev.waited_on is not None:
            return None, prev.waited_on
        if prev.done_s > prev.end_s:  # a grace window or an await that timed out
            path.append(Segment("wait", f"after response {prev.index + 1}", prev.end_s,
                                prev.done_s))
        return prev.index, None


def simulate(
    plan: Plan,
    durations: Mapping[str, float],
    mode: Mode = "async",
    *,
    grace_s: float = 0.0,
    max_gate_prompts: int = 2,
) -> Schedule:
    """Play ``plan`` in ``mode`` with the tools taking ``durations`` (seconds by future id,
    0 when missing) and no overhead; ``grace_s`` is the async loop's grace window."""
    mode = loop_mode(mode)
    sched = Schedule(mode)
    fut = sched.futures
    delivered: set[str] = set()
    t = 0.0
    k = 0
    gate_prompts = 0
    while True:
        step = plan.step(k)
        delivered |= {f for f, s in fut.items() if s.end_s <= t}  # delivered with the request
        request, end = t, t + step.duration_s
        _issue(step, k, request, end, mode, durations, fut)
        done, waited = _collect(step, end, mode, grace_s, fut, delivered)
        done, waited = _awaits(step, done, waited, fut, delivered)
        slot = TurnSlot(k, request, end, done, waited)
        sched.turns.append(slot)
        if step.final:
            pending = [f for f in fut if f not in delivered]
            if not pending or gate_prompts >= max_gate_prompts:
                slot.done_s, slot.waited_on = end, None
                return sched
            # the finishing gate: await what is pending, then ask the model again
            gate_prompts += 1
            last = max(pending, key=lambda f: fut[f].end_s)
            if fut[last].end_s > end:
                slot.done_s, slot.waited_on = fut[last].end_s, last
            delivered.update(pending)
        t = slot.done_s
        k += 1


def _issue(
    step: Step, k: int, request: float, end: float, mode: Mode,
    durations: Mapping[str, float], fut: dict[str, FutureSlot],
) -> None:
    serial_end, serial_prev = end, None
    for call in step.calls:
        ready = request + call.close_s if mode == "async" else end
        start, after = ready, None
        known = [d for d in call.deps if d in fut]
        if known and len(known) == len(call.deps):  # an unknown reference fails at once
            dep = max(known, key=lambda d: fut[d].end_s)
            if fut[dep].end_s > start:
                start, after = fut[dep].end_s, dep
        if mode == "sync" and serial_end > start:
            start, after = serial_end, serial_prev
        duration = durations.get(call.fid, 0.0) if len(known) == len(call.deps) else 0.0
        fut[call.fid] = FutureSlot(call.fid, call.tool, k, ready, start, start + duration, after)
        if mode == "sync":
            serial_end, serial_prev = start + duration, call.fid


def _collect(
    step: Step, end: float, mode: Mode, grace_s: float,
    fut: dict[str, FutureSlot], delivered: set[str],
) -> tuple[float, str | None]:
    """When the turn's own futures let the loop go on, and which one held it."""
    mine = [fut[c.fid] for c in step.calls]
    if not mine:
        return end, None
    last = max(mine, key=lambda s: s.end_s)
    if mode != "async":
        delivered.update(s.fid for s in mine)
        return (last.end_s, last.fid) if last.end_s > end else (end, None)
    limit = end + grace_s
    if last.end_s <= limit:
        done, waited = max(end, last.end_s), (last.fid if last.end_s > end else None)
    else:
        done, waited = limit, None  # handles for the rest after the grace window
    delivered.update(s.fid for s in mine if s.end_s <= done)
    return done, waited


def _awaits(
    step: Step, done: float, waited: str | None,
    fut: dict[str, FutureSlot], delivered: set[str],
) -> tuple[float, str | None]:
    for aw in step.awaits:
        if aw.ids is None:
            targets = [f for f in fut if f not in delivered]
        else:
            targets = [f for f in aw.ids if f in fut]
        if not targets or aw.timeout_s <= 0:
            continue
        pick = min if aw.any else max
        target = pick(targets, key=lambda f: fut[f].end_s)
        until = fut[target].end_s
        limit = done + min(aw.timeout_s, MAX_AWAIT_S)
        if until > limit:
            done, waited = limit, None
        elif until > done:
            done, waited = until, target
        delivered.update(f for f in targets if fut[f].end_s <= done)
    return done, waited


# --- the figures ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    model_s: float  # the script's total response time
    critical_path_s: float  # the overhead-free async schedule's length
    path: tuple[Segment, ...]

    @property
    def lower_bound_s(self) -> float:
        return max(self.model_s, self.critical_path_s)


def lower_bound(plan: Plan, durations: Mapping[str, float]) -> Bound:
    """The longer of the model's total time and the critical path the script forces."""
    sched = simulate(plan, durations, "async")
    return Bound(sched.model_s, sched.makespan_s, tuple(sched.critical_path()))
