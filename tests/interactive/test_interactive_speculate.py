"""A speculative run in an interactive session: it starts after the model's edit, ends while
the session is idle (waking nothing, breaking no view), and the next test call joins it."""

from __future__ import annotations

from interactive_support import Start, call, until


async def test_a_speculative_run_ends_while_idle_and_the_next_call_takes_its_result(
    start: Start,
) -> None:
    turns = [
        {"text": "The tests.", "tool_calls": [call("run_tests")]},
        {"tool_calls": [call("await_futures")]},
        {"text": "One fails: add subtracts."},
        {"text": "Fixing it.", "tool_calls": [call("edit_file", path="calc.py", old="a - b", new="a + b")]},
        {"text": "Fixed; I will run the tests when you ask."},
        {"text": "The tests again.", "tool_calls": [call("run_tests")]},
        {"tool_calls": [call("await_futures")]},
        {"text": "They pass."},
    ]
    async with start(turns) as d:
        await d.say("run the tests")
        await d.say("fix it")
        await until(lambda: any(e.kind == "future_resolved" and getattr(e, "future", "") == "s1"
                                for e in d.events))
        assert not d.inter.busy and len(d.reports) == 2  # it woke nothing
        assert not [e for e in d.events if e.kind == "notice" and "subscriber" in e.message]
        last = await d.say("run them again")
        assert last.detail == "They pass."
        (join,) = [e for e in d.events if e.kind == "future_joined"]
        assert (join.future, join.source, join.speculative, join.reused) == ("f3", "s1", True, True)
        assert "s1" not in str(d.messages)
