"""What a wire server answers, independent of the provider's format.

A ``Reply`` is one response of the model: text, reasoning, tool calls with their raw
argument text (which may be cut or malformed), a finish reason, and how its stream is
shaped (the quirks of real servers). A reply may also be a failure: an HTTP error (with
``Retry-After``), an error event in the middle of the stream, or a dropped connection.
The servers render it in their own wire format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Stream shapes a reply can take (not every format can show every one).
SHAPES = frozenset({
    "interleaved",  # fragments of parallel calls alternate by index
    "trailing",  # an extra empty fragment for a call that already closed (vLLM, SGLang)
    "empty",  # empty text deltas and empty argument fragments between the real ones
    "repeat",  # id and name repeated in every fragment of a call
    "whole",  # each call in a single chunk
    "index0",  # every call at index 0, told apart by its id
})


@dataclass
class Call:
    name: str
    #: The argument text exactly as the model streams it (may be cut or invalid JSON).
    args: str = "{}"
    #: None: the server makes an id in its own form.
    id: str | None = None

    @staticmethod
    def of(name: str, **args: Any) -> Call:
        return Call(name, json.dumps(args))


@dataclass
class Reply:
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    #: Neutral finish: stop, tool_calls, length, content_filter, refusal, malformed.
    finish: str | None = None
    #: Thinking text, sent the way the format carries it (with a signature where it has one).
    reasoning: str = ""
    shape: frozenset[str] = frozenset()
    #: An HTTP error instead of a stream (429, 500, 529, ...).
    status: int = 200
    retry_after: str | None = None
    #: An error event after this many stream chunks (the stream then ends).
    error_after: int | None = None
    #: The connection closes after this many stream chunks, without ending the body.
    drop_after: int | None = None

    @property
    def finish_reason(self) -> str:
        if self.finish:
            return self.finish
        return "tool_calls" if self.calls else "stop"

    @property
    def failure(self) -> bool:
        return self.status != 200 or self.error_after is not None or self.drop_after is not None


DONE = Reply(text="Done.")
