"""Scripts of the scripted model: loading, validation and timing (no litellm here).

The format is a contract (see the README): ``profile`` (``ttft_s``, ``tokens_per_s``) and
``turns``, each with optional ``text``, ``think_tokens`` and ``tool_calls``. Only optional
keys may ever be added.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ScriptError(Exception):
    """A script that cannot be read or does not follow the format."""


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Seconds before the first chunk of every response.
    ttft_s: float = Field(0.0, ge=0)
    #: Decode speed; 0 means instant.
    tokens_per_s: float = Field(0.0, ge=0)

    def seconds(self, tokens: float) -> float:
        return tokens / self.tokens_per_s if self.tokens_per_s > 0 else 0.0


class ScriptedCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] = Field(default_factory=dict)

    def compact_args(self) -> str:
        return json.dumps(self.args, separators=(",", ":"), ensure_ascii=False)


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = ""
    think_tokens: int = Field(0, ge=0)
    tool_calls: list[ScriptedCall] = Field(default_factory=list)


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: Profile = Field(default_factory=Profile)
    turns: list[Turn] = Field(default_factory=list)

    def turn(self, k: int) -> Turn:
        """Turn ``k`` (0-based); past the end, an empty final message."""
        return self.turns[k] if k < len(self.turns) else Turn()


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def call_tokens(call: ScriptedCall) -> int:
    return tokens(call.name) + tokens(call.compact_args())


def turn_seconds(turn: Turn, profile: Profile) -> float:
    """How long the response to ``turn`` takes, by the contract's formula."""
    total = turn.think_tokens + tokens(turn.text) + sum(call_tokens(c) for c in turn.tool_calls)
    return profile.ttft_s + profile.seconds(total)


def script_seconds(script: Script) -> float:
    return sum(turn_seconds(t, script.profile) for t in script.turns)


def call_close_seconds(turn: Turn, profile: Profile) -> list[float]:
    """When each tool call of ``turn`` closes, in seconds from the start of the response.

    By the contract's formula: the text streams first, then the calls in order, and a
    call closes with its last fragment, when everything before it and its own tokens
    have been decoded. The last call closes when the response ends.
    """
    decoded = turn.think_tokens + tokens(turn.text)
    closes = []
    for call in turn.tool_calls:
        decoded += call_tokens(call)
        closes.append(profile.ttft_s + profile.seconds(decoded))
    return closes


def load_script(path: str | Path, *, profile: Profile | None = None) -> Script:
    """Read a YAML or JSON script; ``profile`` replaces the script's own when given."""
    p = Path(path).expanduser()
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScriptError(f"script {p} does not exist") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ScriptError(f"script {p} cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise ScriptError(f"script {p}: expected a mapping with 'turns', got {type(raw).__name__}")
    try:
        script = Script.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ScriptError(f"script {p}: {where}: {first['msg']}") from None
    if profile is not None:
        script = script.model_copy(update={"profile": profile})
    return script
