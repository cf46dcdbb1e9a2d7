"""One response of the model as the loop sees it, and the stream it is built from."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .assembler import ToolCall


@dataclass
class Response:
    text: str
    calls: list[ToolCall]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    finish_reason: str | None
    duration_s: float
    first_token_s: float | None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: Thinking text (DeepSeek, Ollama, OpenAI-compatible servers) and Claude's signed
    #: thinking blocks: providers in thinking mode need them back with the calls.
    reasoning: str = ""
    thinking_blocks: list[dict[str, Any]] = field(default_factory=list)
    #: The model declined to answer (OpenAI's ``refusal``).
    refusal: str = ""
    #: The stream broke after calls had been handed on; what it had sent is kept.
    interrupted: str | None = None

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.calls

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            msg["tool_calls"] = [c.as_message_part() for c in self.calls]
        if self.reasoning:
            msg["reasoning_content"] = self.reasoning
        if self.thinking_blocks:
            msg["thinking_blocks"] = self.thinking_blocks
        return msg


@dataclass
class StreamHooks:
    on_first_token: Callable[[], None] = lambda: None
    on_text: Callable[[str], None] = lambda _t: None
    on_call: Callable[[ToolCall], None] = lambda _c: None
    on_retry: Callable[[int, float, str], None] = lambda _a, _d, _e: None


class StreamState:
    """What a stream has sent so far: enough to end a response where its stream broke."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.thinking_blocks: list[dict[str, Any]] = []
        self.calls: list[ToolCall] = []
        self.chunks = 0
        self.started = time.monotonic()

    def track(self, on_call: Callable[[ToolCall], None]) -> Callable[[ToolCall], None]:
        def wrapped(call: ToolCall) -> None:
            self.calls.append(call)
            on_call(call)

        return wrapped

    def take(self, delta: Any) -> None:
        self.chunks += 1
        if delta.content:
            self.text.append(delta.content)
        if text := getattr(delta, "reasoning_content", None):
            self.reasoning.append(str(text))
        if text := getattr(delta, "refusal", None):
            self.refusal.append(str(text))
        for block in getattr(delta, "thinking_blocks", None) or []:
            self._thinking(dict(block))

    def _thinking(self, block: dict[str, Any]) -> None:
        """Claude's thinking streams as pieces of a block, its signature last."""
        last = self.thinking_blocks[-1] if self.thinking_blocks else None
        if block.get("type") != "thinking" or last is None or last.get("signature") \
                or last.get("type") != "thinking":
            self.thinking_blocks.append(block)
            return
        last["thinking"] = str(last.get("thinking") or "") + str(block.get("thinking") or "")
        if block.get("signature"):
            last["signature"] = block["signature"]

    def response(self, why: str) -> Response:
        return Response(
            text="".join(self.text), calls=list(self.calls), prompt_tokens=0,
            completion_tokens=0, cost_usd=0.0, finish_reason="interrupted",
            duration_s=time.monotonic() - self.started, first_token_s=None,
            reasoning="".join(self.reasoning), interrupted=why,
        )
