"""Turns streamed tool-call fragments into closed calls, as early as possible.

A call is closed when its arguments parse as a JSON object, when a new call takes its
index, or when the stream finishes.
Providers differ: some reuse index 0 for every call, some repeat the name in every
fragment, some send a whole call in one chunk, some interleave the fragments of parallel
calls by index, and some (vLLM, SGLang) send an empty fragment for a call that already
closed, which is dropped rather than taken for a new call. A call whose arguments never
parse is closed with an error, never a crash; its arguments are then never sent back to
the provider (they would be rejected): the conversation holds ``{}`` in their place.
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
    #: Fields a provider needs back with the call (Gemini's thought signature).
    provider_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def sendable_arguments(self) -> str:
        """The arguments as the conversation holds them: a JSON object, always."""
        return self.arguments.strip() if self.error is None and self.arguments.strip() else "{}"

    def as_message_part(self) -> dict[str, Any]:
        part: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.sendable_arguments},
        }
        if self.provider_fields:
            part["provider_specific_fields"] = self.provider_fields
        return part


@dataclass
class _Partial:
    index: int | None
    id: str | None
    name: str = ""
    arguments: str = ""
    provider_fields: dict[str, Any] = field(default_factory=dict)


class StreamAssembler:
    def __init__(self, id_prefix: str = "call") -> None:
        self._id_prefix = id_prefix
        self._open: list[_Partial] = []
        self.closed: list[ToolCall] = []
        self._closed_keys: set[tuple[str, Any]] = set()  # ("index", i) and ("id", id) seen closed

    def feed(self, deltas: list[Any] | None) -> list[ToolCall]:
        """Take one chunk's ``delta.tool_calls``; return the calls it closed."""
        newly: list[ToolCall] = []
        for delta in deltas or []:
            index, call_id, fn = _field(delta, "index"), _field(delta, "id"), _function(delta)
            if self._trailing(index, call_id, fn):
                continue
            newly += self._feed_one(index, call_id, fn, _provider_fields(delta))
        return newly

    def _trailing(self, index: int | None, call_id: str | None, fn: tuple[str, str]) -> bool:
        """A fragment without a name for a call that already closed: nothing to add."""
        name, _args = fn
        if name or self._find(index, call_id, name) is not None:
            return False
        if call_id is not None:
            return ("id", call_id) in self._closed_keys
        return index is None or ("index", index) in self._closed_keys

    def finish(self) -> list[ToolCall]:
        """The stream ended: close whatever is still open."""
        newly = [self._close(p) for p in self._open]
        self._open.clear()
        return newly

    def _feed_one(
        self, index: int | None, call_id: str | None, fn: tuple[str, str], extra: dict[str, Any]
    ) -> list[ToolCall]:
        name, args = fn
        newly: list[ToolCall] = []
        partial = self._find(index, call_id, name)
        if partial is None:
            # a new call at the index of an open one: that one is over. Open calls at
            # other indices stay open: parallel calls may interleave by index.
            if index is not None:
                over = [p for p in self._open if p.index == index]
                self._open = [p for p in self._open if p.index != index]
                newly += [self._close(p) for p in over]
            partial = _Partial(index=index, id=call_id)
            self._open.append(partial)
        if call_id and not partial.id:
            partial.id = call_id
        partial.provider_fields.update(extra)
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
            provider_fields=partial.provider_fields,
        )
        call.args, call.error = _parse(call.name, partial.arguments)
        self.closed.append(call)
        self._closed_keys.add(("id", call.id))
        if partial.index is not None:
            self._closed_keys.add(("index", partial.index))
        return call


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _function(delta: Any) -> tuple[str, str]:
    fn = _field(delta, "function")
    if fn is None:
        return "", ""
    return (_field(fn, "name") or ""), (_field(fn, "arguments") or "")


def _provider_fields(delta: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for obj in (delta, _field(delta, "function")):
        value = _field(obj, "provider_specific_fields") if obj is not None else None
        if isinstance(value, dict):
            fields.update({k: v for k, v in value.items() if v is not None})
    return fields


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
