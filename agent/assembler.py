"""Turns streamed tool-call fragments into closed calls, as early as possible.

A call is closed when its arguments parse as a JSON object, when a call with a higher
index or a new id arrives, or when the stream finishes. Providers differ: some reuse
index 0 for every call, some repeat the name in every fragment, some send a whole call
in one chunk. A call whose arguments never parse is closed with an error, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    position: int  # order of closing within the response
    id: str
    name: str
    arguments: str  # as streamed
    args: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # why the arguments cannot be used

    def as_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments or "{}"},
        }


@dataclass
class _Partial:
    index: int | None
    id: str | None
    name: str = ""
    arguments: str = ""


class StreamAssembler:
    def __init__(self, id_prefix: str = "call") -> None:
        self._id_prefix = id_prefix
        self._open: list[_Partial] = []
        self.closed: list[ToolCall] = []

    def feed(self, deltas: list[Any] | None) -> list[ToolCall]:
        """Take one chunk's ``delta.tool_calls``; return the calls it closed."""
        newly: list[ToolCall] = []
        for delta in deltas or []:
            newly += self._feed_one(_field(delta, "index"), _field(delta, "id"), _function(delta))
        return newly

    def finish(self) -> list[ToolCall]:
        """The stream ended: close whatever is still open."""
        newly = [self._close(p) for p in self._open]
        self._open.clear()
        return newly

    def _feed_one(self, index: int | None, call_id: str | None, fn: tuple[str, str]) -> list[ToolCall]:
        name, args = fn
        newly: list[ToolCall] = []
        partial = self._find(index, call_id, name)
        if partial is None:
            # a new call: providers stream calls one after another, so the open ones
            # are complete
            newly += self.finish()
            partial = _Partial(index=index, id=call_id)
            self._open.append(partial)
        if call_id and not partial.id:
            partial.id = call_id
        if name and name != partial.name:
            partial.name += name  # a name split over fragments
        partial.arguments += args
        if _is_complete(partial.arguments):
            newly.append(self._close(partial))
            self._open.remove(partial)
        return newly

    def _find(self, index: int | None, call_id: str | None, name: str) -> _Partial | None:
        for p in reversed(self._open):
            if call_id and p.id and call_id != p.id:
                continue  # a new id is a new call, even at a reused index
            if index is not None and p.index is not None and index != p.index:
                continue
            if name and p.name and p.arguments and name != p.name:
                continue  # a different name after arguments began: a new call
            return p
        if call_id is None and index is None and not name and self._open:
            return self._open[-1]
        return None

    def _close(self, partial: _Partial) -> ToolCall:
        position = len(self.closed)
        call = ToolCall(
            position=position,
            id=partial.id or f"{self._id_prefix}_{position}",
            name=partial.name.strip(),
            arguments=partial.arguments,
        )
        call.args, call.error = _parse(call.name, partial.arguments)
        self.closed.append(call)
        return call


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _function(delta: Any) -> tuple[str, str]:
    fn = _field(delta, "function")
    if fn is None:
        return "", ""
    return (_field(fn, "name") or ""), (_field(fn, "arguments") or "")


def _is_complete(arguments: str) -> bool:
    text = arguments.strip()
    if not text.endswith("}"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _parse(name: str, arguments: str) -> tuple[dict[str, Any], str | None]:
    if not name:
        return {}, "the tool call has no function name"
    text = arguments.strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 200 else text[:200] + "..."
        return {}, f"arguments of {name} are not valid JSON ({exc.msg}; got {shown!r})"
    if not isinstance(value, dict):
        return {}, f"arguments of {name} must be a JSON object, got {type(value).__name__}"
    return value, None
