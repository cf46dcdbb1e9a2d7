"""The context window of a local OpenAI-compatible server, asked of the server itself.

litellm's model information knows hosted models, not what a llama.cpp, vLLM or LM Studio
server was started with; guessing too large a window makes the server refuse a request,
too small compacts for nothing. Each server says it at its own address: llama.cpp at
``/props`` (``n_ctx``), vLLM at ``/v1/models`` (``max_model_len``), LM Studio at
``/api/v0/models`` (``loaded_context_length``, else ``max_context_length``).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

#: Seconds a server may take to answer; it is local, and the run waits for it.
TIMEOUT_S = 2.0


def server_window(api_base: str, model: str) -> int | None:
    """The window the server at ``api_base`` has for ``model``; None when it does not say."""
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https"):
        return None
    root = f"{parts.scheme}://{parts.netloc}"
    name = model.split("/", 1)[-1]
    for path, read in (("/props", _llama_cpp), ("/v1/models", _listed), ("/api/v0/models", _listed)):
        data = _get(root + path)
        if data is not None and (window := read(data, name)):
            return window
    return None


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return json.loads(response.read(1_000_000))
    except Exception:
        return None  # not this kind of server, or none at all


def _llama_cpp(data: Any, _name: str) -> int | None:
    if not isinstance(data, dict):
        return None
    settings = data.get("default_generation_settings")
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else data.get("n_ctx")
    return _positive(n_ctx)


def _listed(data: Any, name: str) -> int | None:
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return None
    entries = [m for m in models if isinstance(m, dict)]
    chosen = [m for m in entries if m.get("id") == name] or (entries if len(entries) == 1 else [])
    for entry in chosen:
        for key in ("max_model_len", "loaded_context_length", "max_context_length"):
            if window := _positive(entry.get(key)):
                return window
    return None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
