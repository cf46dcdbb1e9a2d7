"""The model adapter: litellm streaming with retries, and token and cost accounting.

litellm is imported on first use (it takes well over a second), with the local cost map
so that nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import history, retry
from .assembler import StreamAssembler, ToolCall
from .caching import cache_usage, is_ollama, takes_cache_control, with_breakpoints
from .context import Budget, budget_for
from .response import Response, StreamHooks, StreamState
from .server_window import server_window

_litellm: Any = None


def litellm_module() -> Any:
    """litellm, imported once, with the scripted provider registered."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        from .scripted import PROVIDER, ScriptedLLM

        litellm.suppress_debug_info = True
        litellm.drop_params = True
        providers = [p for p in litellm.custom_provider_map if p.get("provider") != PROVIDER]
        litellm.custom_provider_map = [
            *providers,
            {"provider": PROVIDER, "custom_handler": ScriptedLLM()},
        ]
        _litellm = litellm
    return _litellm


class ModelError(Exception):
    """The model could not be reached or answered badly, after retries."""


class ModelConfigError(ModelError):
    """The model cannot be used as configured: no key, a wrong key, an unknown model."""


class ContextOverflow(ModelError):
    """The provider refused the request as longer than the model's context window."""


@dataclass
class ModelConfig:
    """Which model, and how to talk to it."""

    #: Any litellm model string ("openai/gpt-4.1", "ollama_chat/qwen3", "scripted/PATH");
    #: there is no default: a run needs one from the command line, config or environment.
    model: str = ""
    #: Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp server).
    api_base: str | None = None
    api_key: str | None = None
    temperature: float | None = None
    #: Attempts after the first on transient errors (rate limits, 5xx, timeouts).
    max_retries: int = 4
    #: First backoff delay in seconds; doubled each attempt, with jitter.
    retry_base_s: float = 1.0
    #: Seconds a request may take before it counts as a transient failure.
    timeout_s: float = 600.0
    #: Tokens the model takes in (0: from litellm's model information, else 8192).
    context_window: int = 0
    #: Tokens of the window kept for the response (0: up to 4096, a quarter at most).
    response_reserve: int = 0
    #: Extra keyword arguments for litellm (a scripted profile goes in metadata).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scripted(self) -> bool:
        return self.model.startswith("scripted/")


def _overflow(exc: BaseException, litellm: Any) -> bool:
    kind = getattr(litellm, "ContextWindowExceededError", None)
    return kind is not None and isinstance(exc, kind)


class ModelClient:
    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd = 0.0
        self.requests = 0
        self._state = StreamState()
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self._budget: tuple[tuple[str, int | None], Budget] | None = None
        #: The context window the model's server reports (a local server), once asked.
        self.server_window: int | None = None

    def budget(self) -> Budget:
        """The token budget of the configured model (it may change in a session)."""
        cfg = self.config
        key = (cfg.model, self.server_window)
        if self._budget is None or self._budget[0] != key:
            budget = budget_for(cfg.model, cfg.context_window, cfg.response_reserve, litellm_module(),
                                self.server_window)
            self._budget = (key, budget)
        return self._budget[1]

    def _retries(self) -> int:
        # the scripted model never fails for a passing reason: retrying would only delay
        return 0 if self.config.scripted else self.config.max_retries

    async def warm_up(self) -> None:
        """Import litellm and stream one empty scripted response, so that the first real
        request does not pay for litellm's lazy set-up (well over half a second)."""
        litellm = await asyncio.to_thread(litellm_module)
        self.check_environment(litellm)
        cfg = self.config
        if cfg.api_base and cfg.context_window <= 0 and not is_ollama(cfg.model):
            self.server_window = await asyncio.to_thread(server_window, cfg.api_base, cfg.model)
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "empty.yaml"
            script.write_text("turns: []\n")
            # with a tool schema: litellm's first request with tools imports more of itself
            tool = {"type": "function", "function": {
                "name": "noop", "description": "-", "parameters": {"type": "object", "properties": {}}}}
            stream = await litellm.acompletion(
                model=f"scripted/{script}", messages=[{"role": "user", "content": "-"}],
                tools=[tool], stream=True, stream_options={"include_usage": True},
            )
            async for _chunk in stream:
                pass

    async def aclose(self) -> None:
        """Close litellm's cached HTTP clients while their event loop still runs (they are
        tied to it; left open, they leak their connections when it closes)."""
        if _litellm is None:
            return
        try:
            await _litellm.close_litellm_async_clients()
            _litellm.in_memory_llm_clients_cache.flush_cache()
            # the shared client of the Gemini and Ollama transforms is not in that cache;
            # its transport opens a new session on the next loop
            shared = vars(_litellm).get("module_level_aclient")
            transport = getattr(getattr(shared, "client", None), "_transport", None)
            if transport is not None:
                await transport.aclose()
        except Exception:  # closing is best effort: the run's outcome is already decided
            pass

    def check_environment(self, litellm: Any) -> None:
        """Fail early, with the variable to set, when the model's API key is missing."""
        cfg = self.config
        if cfg.scripted or cfg.api_key or cfg.api_base:
            return
        try:
            env = litellm.validate_environment(model=cfg.model)
        except Exception:
            return  # a model litellm cannot judge: let the first request tell
        missing = env.get("missing_keys") or []
        if not env.get("keys_in_environment", True) and missing:
            raise ModelConfigError(
                f"{cfg.model}: set {' or '.join(missing)} in the environment (or give --api-base "
                "for a local server)"
            )

    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], hooks: StreamHooks
    ) -> Response:
        """One streamed response. A transient failure is retried, also in the middle of the
        stream, as long as no call has been handed on (the text streamed so far is shown
        again); once one has, the response ends where the stream broke, with the calls it
        closed (they may already run), and the conversation goes on from there."""
        litellm = litellm_module()
        attempt = 0
        while True:
            partial = self._state = StreamState()
            guarded = StreamHooks(
                on_first_token=hooks.on_first_token,
                on_text=hooks.on_text,
                on_call=partial.track(hooks.on_call),
            )
            try:
                return await self._stream(litellm, messages, tools, guarded)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if retry.misconfigured(exc, litellm):
                    raise ModelConfigError(_describe(exc, self.config.model)) from exc
                if not partial.chunks and _overflow(exc, litellm):
                    raise ContextOverflow(_describe(exc, self.config.model)) from exc
                # once the stream has begun, the server took the request: a failure in the
                # middle of it is the server's (an Ollama runner that stopped, an overload)
                if not (partial.chunks or retry.transient(exc, litellm)):
                    raise ModelError(_describe(exc, self.config.model)) from exc
                if partial.calls:
                    return partial.response(_describe(exc, self.config.model))
                delay = retry.backoff(exc, attempt, self.config.retry_base_s)
                if attempt >= self._retries() or delay is None:
                    raise ModelError(_describe(exc, self.config.model)) from exc
                attempt += 1
                hooks.on_retry(attempt, delay, _describe(exc, self.config.model))
                await asyncio.sleep(delay)

    async def _stream(
        self,
        litellm: Any,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        hooks: StreamHooks,
    ) -> Response:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": _for_provider(messages, cfg.model),
            "tools": tools or None,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": cfg.timeout_s,
            **cfg.extra,
        }
        if not cfg.scripted:
            # the provider's own client would retry too, with its own delays, multiplying
            # the attempts: the retries and their backoff are this adapter's alone
            kwargs["max_retries"] = 0
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        if is_ollama(cfg.model):
            kwargs.setdefault("num_ctx", self.budget().window)
        started = time.monotonic()
        first: float | None = None
        acc = self._state  # what the stream sent so far, for complete() when it breaks
        finish: str | None = None
        usage: Any = None
        self.requests += 1
        assembler = StreamAssembler(id_prefix=f"call{self.requests}")
        stream = await litellm.acompletion(**kwargs)
        async for chunk in stream:
            if getattr(chunk, "usage", None):
                usage = chunk.usage
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            delta = choice.delta
            if first is None and (delta.content or delta.tool_calls):
                first = time.monotonic() - started
                hooks.on_first_token()
            acc.take(delta)
            if delta.content:
                hooks.on_text(delta.content)
            for call in assembler.feed(delta.tool_calls):
                hooks.on_call(call)
            if choice.finish_reason:
                finish = choice.finish_reason
        for call in assembler.finish():
            hooks.on_call(call)
        content = "".join(acc.text)
        prompt, completion = self._usage(litellm, usage, messages, content, assembler.closed)
        cache_read, cache_write = cache_usage(usage)
        cost = self._cost(litellm, prompt, completion, cache_read, cache_write)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cache_read_tokens += cache_read
        self.cache_write_tokens += cache_write
        self.cost_usd += cost
        return Response(
            text=content,
            calls=assembler.closed,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            finish_reason=finish,
            duration_s=time.monotonic() - started,
            first_token_s=first,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning="".join(acc.reasoning),
            thinking_blocks=acc.thinking_blocks,
            refusal="".join(acc.refusal),
        )

    def _usage(
        self, litellm: Any, usage: Any, messages: list[dict[str, Any]], text: str,
        calls: list[ToolCall],
    ) -> tuple[int, int]:
        if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
            return int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
        # the provider sent no usage: estimate
        try:
            prompt = int(litellm.token_counter(model=self.config.model, messages=messages))
        except Exception:
            prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4
        out = len(text) + sum(len(c.name) + len(c.arguments) for c in calls)
        return prompt, out // 4

    def _cost(self, litellm: Any, prompt: int, completion: int, cache_read: int = 0,
              cache_write: int = 0) -> float:
        if self.config.scripted:
            return 0.0
        try:
            # cache reads are priced lower and writes higher than plain input
            p, c = litellm.cost_per_token(
                model=self.config.model, prompt_tokens=prompt, completion_tokens=completion,
                cache_read_input_tokens=cache_read, cache_creation_input_tokens=cache_write,
            )
            return float(p) + float(c)
        except Exception:
            return 0.0  # a model without a price in the map (local servers)


def _for_provider(messages: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """The request's messages: valid for the provider, with its cache breakpoints."""
    rewritten = history.for_request(messages, model)
    return with_breakpoints(rewritten) if takes_cache_control(model) else rewritten


def _describe(exc: BaseException, model: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{model}: {type(exc).__name__}: {text}{_key_hint(exc, model)}"


def _key_hint(exc: BaseException, model: str) -> str:
    """For a key the provider refused: the variable it is read from."""
    if type(exc).__name__ not in ("AuthenticationError", "PermissionDeniedError") or _litellm is None:
        return ""
    try:
        provider = str(_litellm.get_llm_provider(model=model)[1])
    except Exception:
        return ""
    return f" (the API key was refused: set {provider.upper()}_API_KEY to a valid key)"
