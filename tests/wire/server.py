"""A local HTTP server that plays the model's side of a provider's API.

    with WireServer("anthropic", [Reply(...), Reply(...)]) as server:
        run solve with --model server.model --api-base server.base_url
    server.requests, server.violations

Each request is checked against the provider's rules (``rules.py``); a broken rule is
recorded in ``violations`` and the request is answered anyway. Request k gets reply k of
the script (a failure counts as a reply: its retry gets the next one); past the script,
every request gets ``DONE``. Streams are sent with chunked transfer encoding, so a
dropped connection is a body cut short, as it is in real life.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wire import formats
from wire.formats import Rendered, Sent
from wire.replies import DONE, Reply
from wire.rules import RULES


@dataclass(frozen=True)
class Provider:
    #: The litellm model string that selects the provider's transforms.
    model: str
    #: The path litellm posts to under the api base.
    path: str
    render: Callable[[Reply, int], Rendered]
    rules: str


def _openai_ids(style: str) -> Callable[[Reply, int], Rendered]:
    return lambda reply, n: formats.openai(reply, n, style)


PROVIDERS: dict[str, Provider] = {
    "openai": Provider("openai/x", "/chat/completions", _openai_ids("openai"), "openai"),
    "compat": Provider("openai/x", "/chat/completions", _openai_ids("openai"), "compat"),
    "azure": Provider("azure/x", "/openai/deployments/x/chat/completions", _openai_ids("openai"),
                      "openai"),
    "mistral": Provider("mistral/x", "/v1/chat/completions", _openai_ids("mistral"), "mistral"),
    "deepseek": Provider("deepseek/x", "/chat/completions", _openai_ids("openai"), "deepseek"),
    "anthropic": Provider("anthropic/claude-x", "/v1/messages", formats.anthropic, "anthropic"),
    "gemini": Provider("gemini/gemini-x", "/models/gemini-x:streamGenerateContent", formats.gemini,
                       "gemini"),
    "ollama": Provider("ollama_chat/x", "/api/chat", formats.ollama, "ollama"),
}


OLLAMA_SHOW = {
    "template": "{{ .Prompt }}", "capabilities": ["completion", "tools"],
    "details": {"family": "llama", "parameter_size": "135M", "quantization_level": "Q8_0"},
    "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
}


class _Quiet(ThreadingHTTPServer):
    """A client that hangs up on a stream is part of the game: not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    violations: list[str]


class WireServer:
    def __init__(self, provider: str, replies: list[Reply] | None = None) -> None:
        self.provider = PROVIDERS[provider]
        self.name = provider
        self.replies = list(replies or [])
        self.requests: list[Recorded] = []
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._httpd = _Quiet(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def model(self) -> str:
        return self.provider.model

    @property
    def violations(self) -> list[str]:
        return [f"request {k + 1}: {v}" for k, r in enumerate(self.requests) for v in r.violations]

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _take(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Reply]:
        with self._lock:
            n = len(self.requests)
            problems: list[str] = []
            if not path.startswith(self.provider.path):
                problems.append(f"path {path} is not {self.provider.path}")
            if not isinstance(body, dict):
                problems.append("the body is not a JSON object")
            else:
                problems += RULES[self.provider.rules](body, self.sent)
            self.requests.append(Recorded(path, headers, body if isinstance(body, dict) else {}, problems))
            return n, self.replies[n] if n < len(self.replies) else DONE


def _handler(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if self.path.startswith("/api/show"):
                self._json(200, OLLAMA_SHOW)  # litellm asks Ollama what the model is first
                return
            n, reply = server._take(self.path, dict(self.headers), body)
            if reply.status != 200:
                self._error(reply)
                return
            rendered = server.provider.render(reply, n + 1)
            self.send_response(200)
            self.send_header("content-type", rendered.content_type)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for k, frame in enumerate(rendered.frames):
                if k == reply.drop_after:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)  # mid-body: the client sees a cut stream
                    return
                if k == reply.error_after:
                    self._chunk(rendered.error_frame)
                    break
                self._chunk(frame)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            if not reply.failure:
                with server._lock:
                    server.sent.append(rendered.sent)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _error(self, reply: Reply) -> None:
            kinds = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error",
                     503: "overloaded_error", 400: "invalid_request_error"}
            data = {"type": "error", "error": {
                "type": kinds.get(reply.status, "api_error"), "message": "try again later",
                "code": reply.status}}
            headers = {"retry-after": reply.retry_after} if reply.retry_after is not None else {}
            self._json(reply.status, data, headers)

        def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler
