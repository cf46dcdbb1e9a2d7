"""An MCP server for the tests that runs tool calls as tasks (protocol 2025-11-25),
written by hand as JSON-RPC over stdio: the ``mcp`` package's server API has no tasks.

It answers ``initialize``, ``tools/list``, ``tools/call`` (with ``task`` params: a task,
run in a thread of its own; without: the call run at once), ``tasks/get``,
``tasks/result`` and ``tasks/cancel``. ``NO_TASKS=1`` (an environment variable) makes it
a server without the tasks capability. ``MARKERS`` names a directory where it leaves a
file for each thing the tests look for: ``call-NAME-task`` or ``call-NAME-plain`` (how a
call came), ``started-LABEL``, ``cancelled-LABEL`` (a ``tasks/cancel`` that reached it).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

MARKERS = Path(os.environ.get("MARKERS", "."))
TASKS = os.environ.get("NO_TASKS") != "1"
POLL_MS = 50

_out = threading.Lock()
_lock = threading.Lock()


def mark(name: str, text: str = "") -> None:
    MARKERS.mkdir(parents=True, exist_ok=True)
    (MARKERS / name).write_text(text)


def send(message: dict[str, Any]) -> None:
    with _out:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def schema(**props: str) -> dict[str, Any]:
    return {"type": "object", "properties": {k: {"type": v} for k, v in props.items()},
            "required": [k for k in props if k != "step_s"]}


TOOLS = [
    {"name": "build", "description": "Build in steps, as a task.",
     "inputSchema": schema(steps="integer", label="string", step_s="number"),
     "execution": {"taskSupport": "optional"}},
    {"name": "wait", "description": "Wait until cancelled, as a task.",
     "inputSchema": schema(label="string"), "execution": {"taskSupport": "required"}},
    {"name": "broken", "description": "A task that fails.", "inputSchema": schema(),
     "execution": {"taskSupport": "optional"}},
    {"name": "dropped", "description": "A task the server cancels.", "inputSchema": schema(),
     "execution": {"taskSupport": "optional"}},
    {"name": "echo", "description": "Give the text back (never a task).",
     "inputSchema": schema(text="string")},
]


def text_result(text: str, error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": error}


class Job:
    """A task: its state, changed by its thread (or a tasks/cancel) under the lock."""

    def __init__(self, task_id: str, label: str) -> None:
        self.id, self.label = task_id, label
        self.status = "working"
        self.message: str | None = None
        self.result: dict[str, Any] | None = None
        self.created = self.updated = now()
        self.cancel = threading.Event()
        self.ended = threading.Event()

    def set(self, status: str, message: str | None = None, result: dict[str, Any] | None = None) -> None:
        with _lock:
            if self.status in ("completed", "failed", "cancelled"):
                return
            self.status, self.message, self.result = status, message, result
            self.updated = now()
            if status in ("completed", "failed", "cancelled"):
                self.ended.set()

    def wire(self) -> dict[str, Any]:
        with _lock:
            task = {"taskId": self.id, "status": self.status, "createdAt": self.created,
                    "lastUpdatedAt": self.updated, "ttl": 60000, "pollInterval": POLL_MS}
            if self.message is not None:
                task["statusMessage"] = self.message
            return task


_tasks: dict[str, Job] = {}


def run_tool(name: str, args: dict[str, Any], job: Job | None) -> dict[str, Any] | None:
    """The tool's result; as a task, its end is set on the job (None returned)."""
    if name == "echo":
        return text_result(str(args.get("text", "")))
    if name == "build":
        steps, label = int(args["steps"]), str(args["label"])
        mark(f"started-{label}")
        step_s = float(args.get("step_s", 0.1))
        for i in range(steps):
            if job is None:
                time.sleep(step_s)
                continue
            if job.cancel.wait(step_s):
                return None
            job.set("working", f"step {i + 1} of {steps}")
        result = text_result(f"{label}: built in {steps} steps")
        if job is not None:
            job.set("completed", None, result)
        return result
    if name == "wait":
        label = str(args["label"])
        mark(f"started-{label}")
        if job is not None:
            job.set("working", "waiting")
            job.cancel.wait()
        return text_result("never")
    if name == "broken":
        if job is not None:
            job.set("failed", "the build broke: missing header foo.h")
        return text_result("the build broke", error=True)
    if name == "dropped":
        if job is not None:
            job.set("cancelled", "the server is shutting down")
        return text_result("dropped")
    raise KeyError(name)


def handle(req: dict[str, Any]) -> dict[str, Any] | None:
    method, params = req.get("method"), req.get("params") or {}
    if method == "initialize":
        caps: dict[str, Any] = {"tools": {}}
        if TASKS:
            caps["tasks"] = {"cancel": {}, "requests": {"tools": {"call": {}}}}
        return {"protocolVersion": "2025-11-25", "capabilities": caps,
                "serverInfo": {"name": "test-tasks", "version": "1"}}
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        name, args = params["name"], params.get("arguments") or {}
        if name not in {t["name"] for t in TOOLS}:
            raise LookupError(f"no tool {name}")
        if "task" in params and TASKS:
            mark(f"call-{name}-task")
            job = Job(f"task-{len(_tasks) + 1}", str(args.get("label", name)))
            _tasks[job.id] = job
            threading.Thread(target=run_tool, args=(name, args, job), daemon=True).start()
            return {"task": job.wire()}
        mark(f"call-{name}-plain")
        return run_tool(name, args, None)
    if method in ("tasks/get", "tasks/result", "tasks/cancel"):
        task = _tasks.get(params.get("taskId", ""))
        if task is None:
            raise LookupError(f"no task {params.get('taskId')}")
        if method == "tasks/get":
            return task.wire()
        if method == "tasks/cancel":
            task.cancel.set()
            task.set("cancelled", "cancelled by the client")
            mark(f"cancelled-{task.label}")
            return task.wire()
        task.ended.wait()
        return task.result if task.status == "completed" else text_result(task.message or "", True)
    raise NotImplementedError(str(method))


def serve(req: dict[str, Any]) -> None:
    try:
        result = handle(req)
        send({"jsonrpc": "2.0", "id": req["id"], "result": result})
    except NotImplementedError as exc:
        send({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": f"unknown method {exc}"}})
    except Exception as exc:
        send({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32602, "message": str(exc)}})


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if "id" not in req or "method" not in req:
            continue  # a notification, or an answer to nothing we asked
        # tasks/result waits for the task's end: each request in a thread of its own
        threading.Thread(target=serve, args=(req,), daemon=True).start()


if __name__ == "__main__":
    main()
