"""Why a sandbox container stopped under a command, in one line."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .engine import brief, is_not_found


def inspect_death(client: Any, container_id: str | None, name: str, memory: str) -> str:
    """Ask the engine why the container is gone. Blocks (up to a second)."""
    for _ in range(20):  # the engine records the exit a moment after the stream ends
        try:
            state = client.api.inspect_container(container_id)["State"]
        except Exception as exc:
            if is_not_found(exc):
                return f"container {name} was removed"
            if isinstance(exc, OSError):  # requests' connection errors are OSErrors
                return f"the Docker engine stopped answering, and container {name} went with it"
            return f"container {name} cannot be inspected: {brief(exc)}"
        if not state.get("Running"):
            return describe_exit(name, state, memory)
        time.sleep(0.05)
    return f"lost the connection to container {name}"


def describe_exit(name: str, state: Mapping[str, Any], memory: str) -> str:
    if state.get("Status") == "removing":  # ``docker rm -f``: removal starts before the kill
        return f"container {name} was removed"
    if state.get("OOMKilled"):
        return f"container {name} ran out of memory (limit {memory}) and was killed"
    code = state.get("ExitCode")
    how = ", killed" if code == 137 else ""
    error = f": {state['Error']}" if state.get("Error") else ""
    return f"container {name} stopped (exit code {code}{how}){error}"
