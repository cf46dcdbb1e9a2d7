"""Running a test command with its outcomes read as it streams, and its result text."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ...sandboxes.base import ExecResult
from ..base import ToolContext
from ..text import cap
from . import Outcomes, OutcomeStream, parsers, replay, summary
from .pytest_format import new_mark, with_plugin

#: Characters left for the note that says how much of the log was cut.
NOTE_ROOM = 80
#: Characters of a test run's output streamed at most (machine lines included): a long
#: suite's outcomes keep coming past the usual bound. Only the end of it is kept.
STREAM_LIMIT = 2_000_000


async def exec_with_outcomes(
    ctx: ToolContext, command: str, formats: Sequence[str], *, timeout_s: float
) -> tuple[ExecResult, Outcomes | None]:
    """Run ``command``; each change of its outcomes goes to ``ctx.progress`` as it comes.

    The result's output is the text a person reads: machine lines taken out.
    """
    mark = new_mark()
    stream = OutcomeStream(parsers(formats, mark), show=ctx.emit, changed=ctx.progress,
                           keep=2 * ctx.config.output_limit)
    wrapped = with_plugin(command, mark) if "pytest" in formats else command
    try:
        res = await ctx.exec(wrapped, timeout_s=timeout_s, on_output=stream.feed,
                             output_limit=STREAM_LIMIT)
    finally:
        outcomes = stream.close()
    shown = stream.shown_text()
    if not shown and res.output:  # a sandbox that streamed nothing
        shown, outcomes = replay(parsers(formats, mark), res.output)
    elif stream.dropped:
        shown = f"[... {stream.dropped:,} characters cut ...]\n{shown}"
    return dataclasses.replace(res, output=shown, truncated=res.truncated or bool(stream.dropped)), outcomes


def with_summary(res: ExecResult, outcomes: Outcomes | None, limit: int) -> ExecResult:
    """``res`` with its output as the model should read it: the failures first, then as
    much of the end of the log as fits."""
    if outcomes is None:
        return res
    head, _ = cap(summary(outcomes), limit // 2, "head")
    room = max(0, limit - len(head) - 2 - NOTE_ROOM)
    log, cut = cap(res.output.rstrip("\n"), room, "tail")
    output = f"{head}\n\n{log}" if log else head
    return dataclasses.replace(res, output=output, truncated=res.truncated or cut)


def outcomes_meta(outcomes: Outcomes | None) -> dict[str, Any]:
    if outcomes is None:
        return {}
    return {**outcomes.counts(), "tests": outcomes.to_dict()}
