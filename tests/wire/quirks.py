"""The quirks of real servers, as the first responses of a run in each provider's format.

``first_replies(quirk, provider)`` is what the server plays before the ordinary fix of
``add()`` (``runs.quick_script``), or None where the format cannot show the quirk (Gemini
and Ollama send every call whole, so a call cannot be cut or interleaved there).
"""

from __future__ import annotations

from wire.replies import Call, Reply

OPENAI_FAMILY = frozenset({"openai", "azure", "compat", "mistral", "deepseek"})
READS = [Call.of("read_file", path="calc.py"), Call.of("grep", pattern="def add")]
#: The four wire formats; Azure, Mistral, DeepSeek and compatible servers speak OpenAI's with
#: rules of their own, so they play the quirks that touch those rules.
FORMATS = ("openai", "anthropic", "gemini", "ollama")
RULE_QUIRKS = {
    "mistral": {"delivery", "cut_by_length", "malformed", "trailing", "empty_response",
                "dropped_after_call"},
    "deepseek": {"reasoning", "cut_by_length", "delivery"},
    "compat": {"interleaved", "trailing", "empty", "reasoning"},
    "azure": {"cut_by_length", "empty_response", "reasoning", "delivery", "content_filter",
              "midstream_error"},
}


def cases(quirks: list[str]) -> list[tuple[str, str]]:
    """(quirk, provider) pairs the matrix plays."""
    out = []
    for q in quirks:
        providers = [*FORMATS, *(p for p, qs in RULE_QUIRKS.items() if q in qs)]
        out += [(q, p) for p in providers if first_replies(q, p) is not None]
    return out


def expected_end(quirk: str, provider: str) -> str:
    """The run's exit reason: a filtered answer ends the run with its own. litellm drops
    OpenAI's streamed ``refusal``: the run sees an empty response, asks again, goes on."""
    if quirk == "content_filter" or (quirk == "refusal" and provider == "anthropic"):
        return "content_filter"
    return "submitted"


def _frames_before_second_call(provider: str) -> int:
    """Frames of a "Reading." + two whole calls reply up to the end of the first call."""
    if provider in OPENAI_FAMILY:
        return 1 + 3 + 1  # role, three text deltas, the first call
    if provider == "anthropic":
        return 2 + 5 + 4  # message_start and ping, the text block, the first tool_use block
    return 3 + 1  # three text chunks (lines), the first call


def first_replies(quirk: str, provider: str) -> list[Reply] | None:
    openai_like = provider in OPENAI_FAMILY
    streamed_args = openai_like or provider == "anthropic"
    text = "Reading."
    if quirk in ("interleaved", "trailing", "empty", "repeat", "whole", "index0"):
        if quirk in ("interleaved", "repeat", "index0") and not openai_like:
            return None
        if quirk == "trailing" and not streamed_args:
            return None
        return [Reply(text=text, calls=READS, shape=frozenset({quirk}))]
    if quirk == "cut_by_length":
        if not streamed_args:
            return [Reply(text="The fix is to", finish="length")]
        cut = Call("grep", '{"pattern": "def a')
        return [Reply(text=text, calls=[READS[0], cut], finish="length")]
    if quirk == "length_text":
        return [Reply(text="The fix is to change", finish="length")]
    if quirk == "malformed":
        if provider == "gemini":  # MALFORMED_FUNCTION_CALL comes without any content
            return [Reply(finish="malformed")]
        if not streamed_args:
            return None
        return [Reply(text=text, calls=[Call("read_file", '{"path": calc.py}'), READS[1]])]
    if quirk == "empty_response":
        return [Reply()]
    if quirk == "content_filter":
        if provider == "ollama":
            return None  # Ollama filters nothing
        return [Reply(text="Here is", finish="content_filter")]
    if quirk == "refusal":
        if provider in ("gemini", "ollama"):
            return None
        return [Reply(finish="refusal")]
    if quirk == "midstream_error":
        return [Reply(text=text, calls=READS, error_after=3)]
    if quirk == "dropped":
        return [Reply(text=text, calls=READS, drop_after=3)]
    if quirk == "dropped_after_call":
        # whole calls in the streamed formats; Gemini and Ollama send each call whole anyway,
        # one a chunk unless told to put them all in one
        shape = frozenset({"whole"}) if streamed_args else frozenset()
        return [Reply(text=text, calls=READS, shape=shape,
                      drop_after=_frames_before_second_call(provider))]
    if quirk == "rate_limited":
        return [Reply(status=429, retry_after="1"), Reply(text=text, calls=READS)]
    if quirk == "overloaded":
        return [Reply(status=529 if provider == "anthropic" else 503),
                Reply(text=text, calls=READS)]
    if quirk == "reasoning":
        return [Reply(text=text, calls=READS, reasoning="The test says add(2, 3) == 5; read calc.py.")]
    if quirk == "delivery":
        # a call still running when the model answers: its result is delivered by the
        # finishing gate, followed by the gate's question to the model
        return [Reply(calls=[Call.of("run", command="sleep 1")]), Reply(text="I will wait.")]
    raise KeyError(quirk)


QUIRKS = [
    "interleaved", "trailing", "empty", "repeat", "whole", "index0", "cut_by_length",
    "length_text", "malformed", "empty_response", "content_filter", "refusal",
    "midstream_error", "dropped", "dropped_after_call", "rate_limited", "overloaded",
    "reasoning", "delivery",
]
