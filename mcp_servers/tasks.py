"""A tool call run as an MCP task (protocol 2025-11-25): the call returns a task at
once, the task is polled (``tasks/get``) at the server's ``pollInterval`` while the
future runs, its status messages are the future's output, and once it is ``completed``
its result is fetched (``tasks/result``) and is the call's result, as a plain call's
would be. Cancelling the call cancels the task on the server (``tasks/cancel``).

A tool is called as a task when the server says it runs tool calls as tasks (the
capability ``tasks.requests.tools.call``) and the tool allows it (its
``execution.taskSupport`` is "optional" or "required"); every other call is a plain
``tools/call``.

The ``mcp`` client does not type task requests into a ``tools/call``: its answer (a
``CreateTaskResult``) would fail the client's check of a ``CallToolResult``, so the
task-augmented call goes through the session's dispatcher, as JSON-RPC with the
session's own headers. ``tasks/get``, ``tasks/result`` and ``tasks/cancel`` go through
the session's generic ``send_request``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import mcp_types

#: The protocol version that has tasks (they left the core protocol after it).
TASKS_PROTOCOL = "2025-11-25"
#: How long the server is asked to keep a task (ms): past any call's wait.
TASK_TTL_MS = 6 * 3600 * 1000
#: Seconds between two polls: the server's ``pollInterval`` within these bounds.
POLL_MIN_S, POLL_MAX_S, POLL_DEFAULT_S = 0.05, 5.0, 1.0
#: Seconds given to a ``tasks/cancel`` to reach the server when a call is cancelled.
CANCEL_TIMEOUT_S = 10.0
TERMINAL = frozenset({"completed", "failed", "cancelled"})

StatusFn = Callable[[str, str | None], Awaitable[None]]

_cancels: set[asyncio.Task[None]] = set()  # the tasks/cancel on their way


class TaskEnded(Exception):
    """The server's task failed or the server cancelled it: the reason."""


def runs_as_task(client: Any, tool: mcp_types.Tool | None) -> bool:
    """Whether a call of ``tool`` goes as a task to the server of ``client``."""
    if tool is None or client is None or str(client.protocol_version) != TASKS_PROTOCOL:
        return False
    tasks = client.server_capabilities.tasks
    requests = tasks.requests if tasks is not None else None
    tools = requests.tools if requests is not None else None
    if tools is None or tools.call is None:
        return False
    execution = tool.execution
    return execution is not None and execution.task_support in ("optional", "required")


def poll_interval_s(task: mcp_types.Task) -> float:
    if task.poll_interval is None:
        return POLL_DEFAULT_S
    return min(POLL_MAX_S, max(POLL_MIN_S, task.poll_interval / 1000))


async def call_as_task(client: Any, tool: str, arguments: dict[str, Any],
                       on_status: StatusFn | None = None) -> mcp_types.CallToolResult:
    """The ``CallToolResult`` of ``tool`` run as a task. ``TaskEnded`` when the task
    failed or the server cancelled it; the protocol's errors as they come."""
    import mcp_types as types

    created = await _create(client, tool, arguments)
    if isinstance(created, types.CallToolResult):  # the server answered at once
        return created
    task: mcp_types.Task = created.task
    seen: tuple[str, str | None] | None = None
    try:
        while True:
            if on_status is not None and (task.status, task.status_message) != seen:
                seen = (task.status, task.status_message)
                await on_status(task.status, task.status_message)
            if task.status in TERMINAL or task.status == "input_required":
                break  # input_required: tasks/result carries the server's questions
            await asyncio.sleep(poll_interval_s(task))
            task = await client.session.send_request(
                types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task.task_id)),
                types.GetTaskResult)
        if task.status == "failed":
            raise TaskEnded(f"the task failed: {task.status_message or 'no reason given'}")
        if task.status == "cancelled":
            raise TaskEnded("the server cancelled the task: "
                            f"{task.status_message or 'no reason given'}")
        return await client.session.send_request(  # type: ignore[no-any-return]
            types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task.task_id)),
            types.CallToolResult)
    except asyncio.CancelledError:
        if task.status not in TERMINAL:
            await _cancel(client, task.task_id)
        raise


async def _create(client: Any, tool: str, arguments: dict[str, Any]) -> Any:
    """The task-augmented ``tools/call``: a ``CreateTaskResult`` (or a ``CallToolResult``
    from a server that ran the call at once)."""
    import mcp_types as types

    session = client.session
    request = types.CallToolRequest(params=types.CallToolRequestParams(
        name=tool, arguments=arguments, task=types.TaskMetadata(ttl=TASK_TTL_MS)))
    data = request.model_dump(by_alias=True, mode="json", exclude_none=True)
    opts: dict[str, Any] = {}
    session._stamp(data, opts)  # the session's headers (the protocol version, over HTTP)
    raw = await session._dispatcher.send_raw_request(data["method"], data.get("params"), opts)
    if "task" not in raw and "content" in raw:
        return types.CallToolResult.model_validate(raw, by_name=False)
    return types.CreateTaskResult.model_validate(raw, by_name=False)


async def _cancel(client: Any, task_id: str) -> None:
    """Send ``tasks/cancel`` from a task of its own: a second cancellation of the call
    does not stop it, and a server that does not answer does not hold the call."""
    import mcp_types as types

    async def send() -> None:
        with contextlib.suppress(Exception):  # the task ended meanwhile, or the server is gone
            await client.session.send_request(
                types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=task_id)),
                types.CancelTaskResult, request_read_timeout_seconds=CANCEL_TIMEOUT_S)

    job = asyncio.create_task(send(), name=f"tasks/cancel {task_id}")
    _cancels.add(job)
    job.add_done_callback(_cancels.discard)
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(asyncio.shield(job), CANCEL_TIMEOUT_S)
