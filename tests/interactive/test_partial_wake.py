"""An idle interactive session wakes its model at the first failing test of a suite it
left running, while the suite goes on (real session, local sandbox, scripted model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interactive_support import Start, call, until
from support import git

#: The first test fails at once; the second waits for a file the test writes once the
#: model has been woken by that failure.
SUITE = '''\
import pathlib
import time


def test_a_fails_first():
    assert 1 + 1 == 3, "arithmetic"


def test_b_waits():
    deadline = time.monotonic() + 60
    while not pathlib.Path({release!r}).exists():
        assert time.monotonic() < deadline, "the model was not woken at the first failure"
        time.sleep(0.02)
'''


async def test_an_idle_session_wakes_the_model_at_the_first_failing_test(
    start: Start, repo: Path, tmp_path: Path,
) -> None:
    release = tmp_path / "release"
    (repo / "test_gate.py").write_text(SUITE.format(release=str(release)))
    git(repo, "add", "test_gate.py")
    git(repo, "commit", "-qm", "a gated suite")
    turns: list[dict[str, Any]] = [
        {"text": "Running the suite.",
         "tool_calls": [call("run", command="python3 -m pytest -q -p no:cacheprovider test_gate.py",
                             readonly=True)]},
        {"text": "It runs; I will tell you."},
        {"text": "test_a fails: fixing it while the rest runs."},
        {"text": "The suite ended with that one failure."},
    ]
    async with start(turns) as d:
        first = await d.say("run the gated tests")
        assert first.running == ["f1"]
        await until(lambda: len(d.reports) == 2)
        f1 = d.inter.executor.futures["f1"]
        assert not f1.done.is_set()  # woken while the suite runs
        wakes = [e for e in d.events if e.kind == "wake_up"]
        assert [(w.futures, w.reason) for w in wakes] == [(["f1"], "failing test")]
        progress, note, answer = d.messages[-3:]
        assert progress["role"] == "tool" and progress["content"].startswith("[f1 run: running, ")
        assert "tests: 1 failed (1/2)]" in progress["content"]
        assert "FAILED test_gate.py::test_a_fails_first (test_gate.py:6)" in progress["content"]
        assert "reported failing tests and still runs" in note["content"]
        assert answer["content"] == "test_a fails: fixing it while the rest runs."
        # the suite's end wakes it once more, with the result
        release.touch()
        await until(lambda: len(d.reports) == 3)
        wakes = [e for e in d.events if e.kind == "wake_up"]
        assert [w.reason for w in wakes] == ["failing test", "failed"]
        assert "[tests (pytest): 1 failed, 1 passed]" in d.messages[-3]["content"]
