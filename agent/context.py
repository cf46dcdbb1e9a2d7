"""Keeping a conversation inside the model's context window.

Each model has a budget: its input window (from the configuration, litellm's model
information, or a default for servers litellm does not know) less a reserve for the
response. Before a request would go over it, the history is compacted in place, in
stages that lose little first: older tool results are cut to their header and the lines
that carry facts (exit code, revision, first failures); then older turns are replaced by
one summary message. The system prompt, the task and the recent turns stay whole, every
tool message still answers its call, and the futures still running are named in the
summary, so the model knows what it will be given.

Compaction is rare on purpose: it aims well under the budget, and between compactions
the history only grows, so prompt caches stay valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .protocol import SUMMARY_MARK, is_delivery, summary_responses

#: The window of a model litellm does not know (a local server): small enough to be safe.
DEFAULT_WINDOW = 8192
#: The scripted model has no window of its own: compaction only when one is configured.
SCRIPTED_WINDOW = 131072
#: Tokens kept for the response at most (and a quarter of the window at most).
DEFAULT_RESERVE = 4096
#: Share of the window our count may use: providers' tokenizers count more than ours.
MARGIN = 0.9
#: Share of the budget a compaction aims at, so that it is not needed again next turn.
TARGET = 0.6
#: Share a compaction after the provider refused the request as too long aims at.
HARD_TARGET = 0.4
#: Share of the budget the summary may take at least.
SUMMARY_SHARE = 0.15
#: Responses kept whole at the end of the history.
KEEP_RESPONSES = 3
#: Lines of a shortened result kept after its header, and fact lines kept besides.
HEAD_LINES = 3
FACT_LINES = 6
#: Characters of one summary line at most.
LINE_CHARS = 200

FACT = re.compile(
    r"\b(FAILED|FAIL|ERROR|Error|error|Traceback|assert|failed|passed|panicked|exit code)\b"
)
RESULT_HEADER = re.compile(r"^\[f\d+ [^\]]*\]", re.MULTILINE)


@dataclass(frozen=True)
class Budget:
    """How many tokens a request may take."""

    window: int  # tokens the model takes in
    reserve: int  # kept for the response
    source: str  # config, litellm, default

    @property
    def limit(self) -> int:
        return int((self.window - self.reserve) * MARGIN)


def budget_for(model: str, context_window: int = 0, response_reserve: int = 0,
               litellm: Any = None, server: int | None = None) -> Budget:
    """The budget of ``model``: the configured window, else the one its server reports,
    else litellm's, else a default."""
    window, source, max_out = context_window, "config", 0
    if window <= 0 and server:
        window, source = server, "server"
    if window <= 0:
        info = _model_info(model, litellm)
        window = int(info.get("max_input_tokens") or info.get("max_tokens") or 0)
        max_out = int(info.get("max_output_tokens") or 0)
        source = "litellm"
    if window <= 0:
        window = SCRIPTED_WINDOW if model.startswith("scripted/") else DEFAULT_WINDOW
        source = "default"
    reserve = response_reserve if response_reserve > 0 else min(
        max_out or DEFAULT_RESERVE, DEFAULT_RESERVE, window // 4
    )
    return Budget(window, min(reserve, window // 2), source)


def _model_info(model: str, litellm: Any) -> dict[str, Any]:
    if litellm is None or model.startswith("scripted/"):
        return {}
    try:
        return dict(litellm.get_model_info(model) or {})
    except Exception:
        return {}  # not in the map: a local server, a new model


class TokenCounter:
    """Tokens of messages, counted once per distinct message (the history only grows)."""

    def __init__(self, model: str, litellm: Any = None) -> None:
        self.model = model
        self._litellm = litellm
        self._cache: dict[int, int] = {}

    def text(self, text: str) -> int:
        return self._count(hash(text), lambda: {"text": text})

    def message(self, message: dict[str, Any]) -> int:
        # keyed by a hash: the history is held once, by the conversation
        key = hash(json.dumps(message, sort_keys=True, default=str))
        return self._count(key, lambda: {"messages": [message]})

    def messages(self, messages: list[dict[str, Any]]) -> int:
        return 3 + sum(self.message(m) for m in messages)  # 3: the reply's priming

    def tools(self, tools: list[dict[str, Any]]) -> int:
        if not tools:
            return 0
        return self._count(hash(json.dumps(tools)), lambda: {"messages": [], "tools": tools})

    def _count(self, key: int, what: Callable[[], dict[str, Any]]) -> int:
        if (n := self._cache.get(key)) is not None:
            return n
        if len(self._cache) > 20000:
            self._cache.clear()
        try:
            n = int(self._litellm.token_counter(model=self.model, **what()))
        except Exception:
            n = len(json.dumps(what(), default=str)) // 3 + 4  # no tokenizer: a cautious estimate
        self._cache[key] = n
        return n


@dataclass
class Compaction:
    """What one compaction did (recorded as a ``context_compacted`` event)."""

    tokens_before: int
    tokens_after: int = 0
    shortened: int = 0  # tool results cut to their facts
    summarised: int = 0  # messages replaced by the summary
    in_flight: list[str] = field(default_factory=list)


def brief(content: str) -> str:
    """A tool result cut to what the model needs to go on: each result's header, its
    first lines and the lines that state facts (failures, errors, counts)."""
    starts = [m.start() for m in RESULT_HEADER.finditer(content)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    blocks = [content[a:b] for a, b in zip(starts, [*starts[1:], len(content)], strict=True)]
    return "\n\n".join(_brief_block(b.strip("\n")) for b in blocks)


def _brief_block(block: str) -> str:
    lines = block.splitlines()
    if len(lines) <= 1 + HEAD_LINES + FACT_LINES or block.lstrip().startswith("{"):
        return block  # short already, or a handle (its future id and status)
    head, body = lines[0], lines[1:]
    kept = [line for line in body[:HEAD_LINES] if line.strip()]
    facts = [line for line in body[HEAD_LINES:] if FACT.search(line)][:FACT_LINES]
    dropped = len(body) - len(kept) - len(facts)
    clipped = [_clip(line) for line in [*kept, *facts]]
    return "\n".join([head, *clipped, f"[{dropped} more lines left out to fit the context; "
                      "call the tool again to see them]"])


def _clip(text: str, limit: int = LINE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ContextKeeper:
    """Fits a conversation to a budget by compacting it in place."""

    def __init__(self, budget: Budget, counter: TokenCounter,
                 keep_responses: int = KEEP_RESPONSES) -> None:
        self.budget = budget
        self.counter = counter
        self.keep_responses = keep_responses
        #: A limit learnt from the provider refusing a request as too long.
        self.learnt_limit: int | None = None
        self.last_tokens = 0  # the estimate of the last request
        self.largest = 0  # of any request
        self.compactions = 0

    @property
    def limit(self) -> int:
        if self.learnt_limit is not None:
            return min(self.budget.limit, self.learnt_limit)
        return self.budget.limit

    def size(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
        return self.counter.messages(messages) + self.counter.tools(tools)

    def _sent(self, tokens: int) -> None:
        self.last_tokens = tokens
        self.largest = max(self.largest, tokens)

    def refused(self, tokens: int) -> None:
        """The provider found a request of ``tokens`` (by our count) too long."""
        self.learnt_limit = min(self.limit, int(tokens * MARGIN))

    def fit(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
            in_flight: list[str], *, hard: bool = False) -> Compaction | None:
        """Compact ``messages`` in place when the request would go over the budget (or
        ``hard``: the provider refused it); what was done, or None."""
        before = self.size(messages, tools)
        if before <= self.limit and not hard:
            self._sent(before)
            return None
        target = int(self.limit * (HARD_TARGET if hard else TARGET))
        done = Compaction(before, in_flight=in_flight)
        for keep in dict.fromkeys((self.keep_responses, 1, 0)):
            tail = _tail_start(messages, keep)
            done.shortened += _shorten(messages, _head_end(messages), tail)
            if self.size(messages, tools) <= target:
                break
            done.summarised += self._summarise(messages, tail, in_flight, target, tools)
            if self.size(messages, tools) <= target:
                break
        else:
            done.shortened += _shorten(messages, 0, len(messages), hard=True)
            if self.size(messages, tools) > self.limit:
                # what is left is the user's own text (a long paste): cut it too, or
                # every later request of the conversation would be refused as well
                done.shortened += _clip_users(messages, chars=self.limit)
        done.tokens_after = self.size(messages, tools)
        self._sent(done.tokens_after)
        self.compactions += 1
        return done

    def _summarise(self, messages: list[dict[str, Any]], tail: int, in_flight: list[str],
                   target: int, tools: list[dict[str, Any]]) -> int:
        head = _head_end(messages)
        if tail <= head or (tail == head + 1 and _is_summary(messages[head])):
            return 0
        span = messages[head:tail]
        responses, lines = summarise(span)
        # the summary keeps a share of the budget even when the recent turns take more
        # than the target: they are shortened next, and the summary is all that is left
        # of the older ones
        room = max(target - self.size([*messages[:head], *messages[tail:]], tools),
                   int(self.limit * SUMMARY_SHARE))
        text = summary_text(responses, lines, in_flight)
        while self.counter.text(text) > room and len(lines) > 1:
            gone = _dropped(lines)
            body = lines[1:] if gone else lines
            drop = max(1, len(body) // 4)  # the oldest go first
            lines = [f"({gone + drop} older lines left out)", *body[drop:]]
            text = summary_text(responses, lines, in_flight)
        messages[head:tail] = [{"role": "user", "content": text}]
        return len(span)


def _dropped(lines: list[str]) -> int:
    m = re.match(r"\((\d+) older lines left out\)", lines[0]) if lines else None
    return int(m.group(1)) if m else 0


def _is_summary(message: dict[str, Any]) -> bool:
    return message.get("role") == "user" and str(message.get("content") or "").startswith(SUMMARY_MARK)


def _head_end(messages: list[dict[str, Any]]) -> int:
    """Where the part that may be compacted starts: after the system prompt and the
    first message of the user (the task). An earlier summary is there, and is merged
    into the next one."""
    for i, m in enumerate(messages):
        if m.get("role") == "user":
            return i + 1
    return len(messages)


def _tail_start(messages: list[dict[str, Any]], keep: int) -> int:
    """The start of the last ``keep`` responses of the model (0: of the trailing user
    messages), at a message that no tool message answers, so a cut there is valid."""
    head = _head_end(messages)
    if keep <= 0:
        i = len(messages)
        while i > head and messages[i - 1].get("role") == "user":
            i -= 1
        return i
    starts = [i for i in range(head, len(messages))
              if messages[i].get("role") == "assistant" and not is_delivery(messages[i])]
    if len(starts) < keep:
        return head
    return starts[-keep]


def _shorten(messages: list[dict[str, Any]], start: int, end: int, *, hard: bool = False) -> int:
    count = 0
    for m in messages[start:end]:
        if m.get("role") != "tool" or not isinstance(m.get("content"), str):
            continue
        short = brief(m["content"])
        if hard and len(short) > 2000:
            short = short[:2000] + "\n[the rest left out to fit the context]"
        if len(short) < len(m["content"]):
            m["content"] = short
            count += 1
    return count


def _clip_users(messages: list[dict[str, Any]], chars: int) -> int:
    """Cut each user message longer than ``chars`` characters (about a quarter of as
    many tokens) to its start."""
    count = 0
    for m in messages:
        content = m.get("content")
        if m.get("role") == "user" and isinstance(content, str) and len(content) > chars:
            m["content"] = content[:chars] + (
                f"\n[{len(content) - chars} more characters of this message were left out "
                "to fit the context window]")
            count += 1
    return count


def summarise(span: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """The responses of the model in ``span`` and one line for each thing that happened."""
    results = {m.get("tool_call_id"): str(m.get("content") or "")
               for m in span if m.get("role") == "tool"}
    responses, lines = 0, []
    for m in span:
        role, content = m.get("role"), str(m.get("content") or "")
        if _is_summary(m):
            responses += summary_responses(content)
            lines += [line for line in content.splitlines()[1:]
                      if line.startswith(("- ", "("))]
        elif role == "user":
            lines.append(f"- the user said: {_clip(content, 2 * LINE_CHARS)}")
        elif role == "assistant" and is_delivery(m):
            for call in m["tool_calls"]:
                delivered = results.get(call["id"], "")
                starts = [h.start() for h in RESULT_HEADER.finditer(delivered)]
                for a, b in zip(starts, [*starts[1:], len(delivered)], strict=True):
                    lines.append(f"- delivered: {_first_line(delivered[a:b])}")
        elif role == "assistant":
            responses += 1
            if content.strip():
                lines.append(f"- you said: {_clip(content)}")
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                outcome = _first_line(results.get(call.get("id"), "no result"))
                lines.append(_clip(f"- you called {fn.get('name')} {fn.get('arguments') or ''}"
                                   f" -> {outcome}", 2 * LINE_CHARS))
    return responses, lines


def _first_line(result: str) -> str:
    text = result.strip()
    if text.startswith("{"):  # a handle
        try:
            handle = json.loads(text)
            return f"{handle.get('future')} {handle.get('status')} (a handle)"
        except ValueError:
            pass
    first = text.splitlines()[0] if text else "(empty)"
    facts = [line for line in text.splitlines()[1:] if FACT.search(line)][:2]
    return " | ".join(_clip(x, 120) for x in [first, *facts])


def summary_text(responses: int, lines: list[str], in_flight: list[str]) -> str:
    parts = [
        f"{SUMMARY_MARK} {responses} earlier responses]",
        "The earlier part of this conversation was compacted to fit the context window; "
        "the full results are gone from it (call a tool again to see one). What happened:",
        *lines,
    ]
    if in_flight:
        parts.append(f"Still in flight: {', '.join(in_flight)}. Their results are delivered "
                     "when they resolve; await_futures and cancel_future take these ids.")
    return "\n".join(parts)


def in_flight_note(futures: list[Any], now: float) -> list[str]:
    """Futures that have not ended, as the summary names them."""
    notes = []
    for f in futures:
        if f.done.is_set():
            continue
        state = "waiting" if f.state.value == "pending" else f.state.value
        notes.append(f"{f.id} ({f.tool}, {state}, {f.duration_s(now):.0f} s)")
    return notes
