"""The context window a local server reports: llama.cpp's /props, vLLM's and LM Studio's
model lists, asked over real HTTP; a server that says nothing leaves the default."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asyncfc_agent.agent.context import Budget
from asyncfc_agent.agent.model import ModelClient, ModelConfig
from asyncfc_agent.agent.server_window import server_window

LLAMA_CPP = {"/props": {"default_generation_settings": {"n_ctx": 3072}, "total_slots": 1}}
VLLM = {"/v1/models": {"object": "list", "data": [
    {"id": "other", "object": "model", "max_model_len": 32768},
    {"id": "Qwen/Qwen2.5-Coder-7B", "object": "model", "max_model_len": 16384}]}}
LM_STUDIO = {"/api/v0/models": {"data": [
    {"id": "qwen2.5-coder", "max_context_length": 32768, "loaded_context_length": 4096}]}}


@contextmanager
def serving(pages: dict[str, Any]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            page = pages.get(self.path)
            raw = json.dumps(page).encode() if page is not None else b"not found"
            self.send_response(200 if page is not None else 404)
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("pages", "model", "window"), [
    (LLAMA_CPP, "openai/any", 3072),
    (VLLM, "hosted_vllm/Qwen/Qwen2.5-Coder-7B", 16384),
    (LM_STUDIO, "lm_studio/qwen2.5-coder", 4096),
    ({}, "openai/any", None),
])
def test_each_server_says_its_window_where_it_keeps_it(
    pages: dict[str, Any], model: str, window: int | None,
) -> None:
    with serving(pages) as url:
        assert server_window(url + "/v1", model) == window
    assert server_window("http://127.0.0.1:9/v1", model) is None  # nothing listens there


async def test_the_budget_of_a_local_server_is_the_window_it_reports() -> None:
    with serving(LLAMA_CPP) as url:
        client = ModelClient(ModelConfig(model="openai/local-model", api_base=url + "/v1"))
        await client.warm_up()
    assert client.budget() == Budget(3072, 768, "server")
    # a configured window wins, and the server is not asked
    configured = ModelClient(ModelConfig(model="openai/local-model", api_base=url + "/v1",
                                         context_window=8000))
    await configured.warm_up()
    assert configured.server_window is None and configured.budget().source == "config"
