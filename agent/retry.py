"""Which model failures are worth another attempt, and how long to wait before it.

litellm maps provider errors to its own exception classes, but it also wraps its own
failures (a request it could not build from the conversation) in ``APIConnectionError``:
such an error is only transient when a network error caused it. Anything else is a
configuration problem that no retry fixes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

#: Longest wait a server's Retry-After is followed for; beyond it the attempt fails.
MAX_RETRY_AFTER_S = 120.0

_TRANSIENT = ("RateLimitError", "InternalServerError", "ServiceUnavailableError",
              "BadGatewayError", "Timeout", "APIConnectionError")
_MISCONFIGURED = ("AuthenticationError", "PermissionDeniedError", "NotFoundError")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from, outermost first."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _kinds(litellm: Any, names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    return tuple(getattr(litellm, n) for n in names if hasattr(litellm, n))


def _network(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError):
        return True
    module = type(exc).__module__.split(".")[0]
    if module in ("httpx", "httpcore", "aiohttp", "h11"):
        return True
    return module == "openai" and type(exc).__name__ in ("APIConnectionError", "APITimeoutError")


def request_not_built(exc: BaseException, litellm: Any) -> bool:
    """litellm failed before sending anything: its transform rejected the request."""
    connection = getattr(litellm, "APIConnectionError", None)
    if connection is None or type(exc) is not connection:
        return False
    return not any(_network(c) for c in causes(exc))


def transient(exc: BaseException, litellm: Any) -> bool:
    if request_not_built(exc, litellm):
        return False
    return isinstance(exc, (*_kinds(litellm, _TRANSIENT), TimeoutError, ConnectionError))


def misconfigured(exc: BaseException, litellm: Any) -> bool:
    if isinstance(exc, _kinds(litellm, _MISCONFIGURED)) or request_not_built(exc, litellm):
        return True
    text = str(exc).lower()
    return "llm provider not provided" in text or "missing credentials" in text or (
        "api_key" in text and "missing" in text
    )


def _headers(exc: BaseException) -> Iterator[Any]:
    for c in causes(exc):
        headers = getattr(c, "litellm_response_headers", None)
        if headers:
            yield headers
        try:
            response = getattr(c, "response", None)
        except Exception:  # some exceptions build their response lazily and may fail
            response = None
        headers = getattr(response, "headers", None)
        if headers:
            yield headers


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms`` or ``Retry-After``), if it did."""
    for headers in _headers(exc):
        try:
            ms = headers.get("retry-after-ms")
            if ms is not None:
                return max(0.0, float(ms) / 1000)
            value = headers.get("retry-after")
        except Exception:
            continue
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            import time

            return max(0.0, parsedate_to_datetime(str(value)).timestamp() - time.time())
        except (TypeError, ValueError):
            continue
    return None


def backoff(exc: BaseException, attempt: int, base_s: float) -> float | None:
    """Seconds before attempt ``attempt + 1``: the server's word when it gave one, else
    exponential backoff with jitter; None when the server asks for longer than we wait."""
    asked = retry_after(exc)
    if asked is not None:
        return asked if asked <= MAX_RETRY_AFTER_S else None
    return float(base_s * 2**attempt * (0.5 + random.random() / 2))
