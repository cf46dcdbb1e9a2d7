"""Running a test command with its outcomes read as it streams, and its result text."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...sandboxes.base import ExecResult
from ..base import ToolContext
from ..text import cap, cap_tail
from . import Outcomes, OutcomeStream, parsers, replay, summary
from .pytest_format import new_mark, with_plugin

#: Characters left for the note that says how much of the log was cut.
NOTE_ROOM = 80
#: Characters of a test run's output streamed at most (machine lines included): a long
#: suite's outcomes keep coming past the usual bound. Only the end of it is kept.
STREAM_LIMIT = 2_000_000


@dataclass(frozen=True)
class TestRun:
    """A finished test command: its result, with the text shown as ``output`` (its end:
    ``dropped`` characters before it were not kept), and the outcomes read."""

    res: ExecResult
    outcomes: Outcomes | None
    dropped: int = 0

    def result(self, limit: int) -> ExecResult:
        """The result as the model should read it, within ``limit``: the counts and the
        failures first, then as much of the end of the log as fits."""
        head = cap(summary(self.outcomes), limit // 2, "head")[0] if self.outcomes else ""
        room = max(0, limit - len(head) - 2 - NOTE_ROOM)
        text = self.res.output.rstrip("\n")
        log, _ = cap_tail(text, room)
        missing = self.dropped + len(text) - len(log)
        if missing:
            log = f"[... output truncated: the first {missing:,} characters cut]\n{log}"
        output = "\n\n".join(part for part in (head, log) if part)
        return dataclasses.replace(self.res, output=output, truncated=self.res.truncated or missing > 0)

    def meta(self) -> dict[str, Any]:
        if self.outcomes is None:
            return {}
        return {**self.outcomes.counts(), "tests": self.outcomes.to_dict()}


async def exec_with_outcomes(
    ctx: ToolContext, command: str, formats: Sequence[str], *, timeout_s: float
) -> TestRun:
    """Run ``command``; each change of its outcomes goes to ``ctx.progress`` as it comes.

    The text shown (live and in the result) has the machine lines taken out.
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
    shown, dropped = stream.shown_text(), stream.dropped
    if not shown and res.output:  # a sandbox that streamed nothing
        shown, outcomes = replay(parsers(formats, mark), res.output)
    return TestRun(dataclasses.replace(res, output=shown), outcomes, dropped)
