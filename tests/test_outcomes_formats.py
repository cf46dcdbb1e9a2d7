"""The outcome parsers on real-format output: cargo (a real run), go test -json and plain,
jest (default and verbose reporters), pytest's terminal lines, and the stream around them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from asyncfc_agent.tools.outcomes import (
    Failure,
    Outcomes,
    OutcomeStream,
    formats_for,
    parsers,
    replay,
    summary,
)
from asyncfc_agent.tools.outcomes.model import MAX_FAILURES
from asyncfc_agent.tools.outcomes.pytest_format import PytestParser, new_mark, plugin_source

FIXTURES = Path(__file__).parent / "fixtures" / "outcomes"


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def by_test(outcomes: Outcomes) -> dict[str, Failure]:
    return {f.test: f for f in outcomes.failures}


def in_chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- cargo -------------------------------------------------------------------------------


def test_cargo_counts_tests_and_explains_each_panic() -> None:
    shown, outcomes = replay(parsers(["cargo"]), read("cargo_test.txt"))
    assert outcomes is not None and outcomes.format == "cargo"
    assert outcomes.counts() == {"passed": 2, "failed": 4, "errors": 0, "skipped": 2}
    assert outcomes.total == 8  # 6 unit tests, 1 integration test, 1 doc test
    failures = by_test(outcomes)
    assert list(failures) == ["tests::adds", "tests::divides_by_zero", "tests::negative",
                              "src/lib.rs - add (line 3)"]
    adds = failures["tests::adds"]
    assert adds.location == "src/lib.rs:20:9"
    assert adds.message == "assertion `left == right` failed\n  left: -1\n right: 5"
    assert failures["tests::divides_by_zero"].message == "attempt to divide by zero"
    assert failures["tests::negative"].message == "sum of negatives should be negative"
    assert failures["src/lib.rs - add (line 3)"].message.startswith("assertion `left == right`")
    assert shown == read("cargo_test.txt")  # plain lines are shown as they are


def test_cargo_before_1_73_and_a_compile_error() -> None:
    old = (
        "running 1 test\n"
        "test tests::adds ... FAILED\n\nfailures:\n\n---- tests::adds stdout ----\n"
        "thread 'tests::adds' panicked at 'assertion failed: `(left == right)`\n"
        "  left: `-1`,\n right: `5`', src/lib.rs:20:9\n"
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
    )
    _, outcomes = replay(parsers(["cargo"]), old)
    assert outcomes is not None
    (adds,) = outcomes.failures
    assert adds.location == "src/lib.rs:20:9"
    assert adds.message == "assertion failed: `(left == right)`\n  left: `-1`,\n right: `5`"
    broken = (
        "   Compiling calc v0.1.0 (/workspace)\n"
        "error[E0425]: cannot find value `x` in this scope\n"
        " --> src/lib.rs:8:5\n  |\n8 |     x\n  |     ^ not found in this scope\n\n"
        "For more information about this error, try `rustc --explain E0425`.\n"
        "error: could not compile `calc` (lib) due to 1 previous error\n"
    )
    _, outcomes = replay(parsers(["cargo"]), broken)
    assert outcomes is not None and outcomes.errors == 1
    assert outcomes.failures == [Failure.make("build of calc", "cannot find value `x` in this scope",
                                              "src/lib.rs:8:5", kind="error")]


# --- go ----------------------------------------------------------------------------------


def test_go_json_counts_leaf_tests_and_shows_the_text_without_chatter() -> None:
    shown, outcomes = replay(parsers(["go"]), read("go_test.json"))
    assert outcomes is not None and outcomes.format == "go"
    # TestTable is counted through its two subtests; the package without tests counts nothing
    assert outcomes.counts() == {"passed": 3, "failed": 2, "errors": 1, "skipped": 1}
    failures = by_test(outcomes)
    add = failures["TestAdd (example.com/calc)"]
    assert (add.message, add.location) == ("Add(2, 3) = -1, want 5", "calc_test.go:9")
    neg = failures["TestTable/negative (example.com/calc)"]
    assert (neg.message, neg.location) == ("Abs(-2) = -2, want 2", "calc_test.go:25")
    broken = failures["package example.com/calc/broken"]
    assert broken.kind == "error"
    assert "build failed" in broken.message and "undefined: missing" in broken.message
    assert "{" not in shown and "=== RUN" not in shown and "--- PASS" not in shown
    assert "    calc_test.go:9: Add(2, 3) = -1, want 5\n--- FAIL: TestAdd (0.00s)\n" in shown
    assert "ok  \texample.com/calc/strutil\t0.002s\n" in shown
    assert "broken/broken.go:5:9: undefined: missing\n" in shown


def test_go_json_read_in_chunks_shows_no_piece_of_an_event() -> None:
    text = read("go_test.json")
    whole, outcomes = replay(parsers(["go"]), text)
    shown: list[str] = []
    stream = OutcomeStream(parsers(["go"]), show=shown.append)
    for chunk in in_chunks(text, 13):
        stream.feed(chunk)
    chunked = stream.close()
    assert "".join(shown) == whole and not any("{" in piece for piece in shown)
    assert chunked is not None and outcomes is not None
    assert chunked.counts() == outcomes.counts() and chunked.failures == outcomes.failures


def test_go_plain_output_names_failures_by_their_leaf_tests() -> None:
    shown, outcomes = replay(parsers(["go"]), read("go_test_plain.txt"))
    assert outcomes is not None
    assert outcomes.counts() == {"passed": 0, "failed": 2, "errors": 0, "skipped": 0}
    assert [(f.test, f.message, f.location) for f in outcomes.failures] == [
        ("TestAdd", "Add(2, 3) = -1, want 5", "calc_test.go:9"),
        ("TestTable/negative", "Abs(-2) = -2, want 2", "calc_test.go:25"),
    ]
    assert shown == read("go_test_plain.txt")


# --- jest --------------------------------------------------------------------------------


def test_jest_default_reporter_counts_failures_then_settles_on_its_totals() -> None:
    seen: list[Outcomes] = []
    stream = OutcomeStream(parsers(["jest"]), changed=seen.append)
    text = read("jest_default.txt")
    before_totals = text[: text.index("Test Suites:")]
    stream.feed(before_totals)
    assert seen[-1].counts() == {"passed": 0, "failed": 2, "errors": 1, "skipped": 0}
    stream.feed(text[len(before_totals) :])
    outcomes = stream.close()
    assert outcomes is not None and outcomes.final
    assert outcomes.counts() == {"passed": 4, "failed": 2, "errors": 1, "skipped": 1}
    failures = by_test(outcomes)
    adds = failures["Calculator \u203a adds numbers"]
    assert adds.location == "src/calc.test.js:5:23"
    assert adds.message.splitlines() == [
        "expect(received).toBe(expected) // Object.is equality", "", "Expected: 5", "Received: -1",
    ]
    divides = failures["Calculator \u203a divides by zero"]
    assert (divides.message, divides.location) == ("Division by zero", "src/calc.js:10:22")
    suite = failures["src/broken.test.js"]
    assert suite.kind == "error" and suite.location == "src/broken.test.js:1:17"
    assert suite.message == "Cannot find module './missing' from 'src/broken.test.js'"


def test_jest_verbose_counts_each_test_as_it_ends() -> None:
    seen: list[Outcomes] = []
    stream = OutcomeStream(parsers(["jest"]), changed=seen.append)
    for chunk in in_chunks(read("jest_verbose.txt"), 7):
        stream.feed(chunk)
    outcomes = stream.close()
    assert [o.counts()["passed"] for o in seen][:3] == [1, 1, 2]
    assert outcomes is not None
    assert outcomes.counts() == {"passed": 2, "failed": 1, "errors": 0, "skipped": 2}
    (adds,) = outcomes.failures  # named by its title first, then by the block's full name
    assert (adds.test, adds.location) == ("Calculator \u203a adds numbers", "src/calc.test.js:5:23")
    assert adds.message.startswith("expect(received).toBe(expected)")


# --- unittest ----------------------------------------------------------------------------


def test_unittest_verbose_lines_and_the_blocks_that_explain_them() -> None:
    shown, outcomes = replay(parsers(["unittest"]), read("unittest_verbose.txt"))
    assert outcomes is not None and outcomes.final and outcomes.total == 6
    # a subtest's failure is a failure; the expected failure and the skip are skips
    assert outcomes.counts() == {"passed": 1, "failed": 2, "errors": 1, "skipped": 2}
    assert [(f.kind, f.test, f.location) for f in outcomes.failures] == [
        ("error", "test_error (test_strings.T.test_error)", "/workspace/test_strings.py:12"),
        ("failed", "test_fails (test_strings.T.test_fails)", "/workspace/test_strings.py:9"),
        ("failed", "test_sub (test_strings.T.test_sub) (i=1)", "/workspace/test_strings.py:25"),
    ]
    assert by_test(outcomes)["test_fails (test_strings.T.test_fails)"].message == (
        "AssertionError: 'A' != 'B'\n- A\n+ B\n : upper is wrong")
    assert shown == read("unittest_verbose.txt")


# --- pytest's terminal lines (the plugin not loaded) ------------------------------------

PYTEST_QUIET = """\
..F.sE                                                                   [ 60%]
....                                                                     [100%]
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - assert -1 == 5
ERROR tests/test_calc.py::test_db - RuntimeError: no database
1 failed, 7 passed, 1 skipped, 1 error in 0.12s
"""

PYTEST_VERBOSE = """\
tests/test_calc.py::test_sub PASSED                                      [ 33%]
tests/test_calc.py::test_add FAILED                                      [ 66%]
tests/test_calc.py::test_later SKIPPED (not yet)                         [100%]

=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - AssertionError: assert -1 == 5
==================== 1 failed, 1 passed, 1 skipped in 0.05s ====================
"""


def test_pytest_quiet_lines_count_dots_and_name_failures_from_the_summary() -> None:
    seen: list[Outcomes] = []
    stream = OutcomeStream([PytestParser()], changed=seen.append)
    stream.feed(PYTEST_QUIET.splitlines(keepends=True)[0])
    assert seen[-1].counts() == {"passed": 3, "failed": 1, "errors": 1, "skipped": 1}
    stream.feed("".join(PYTEST_QUIET.splitlines(keepends=True)[1:]))
    outcomes = stream.close()
    assert outcomes is not None and outcomes.final
    assert outcomes.counts() == {"passed": 7, "failed": 1, "errors": 1, "skipped": 1}
    assert [(f.test, f.message, f.kind) for f in outcomes.failures] == [
        ("tests/test_calc.py::test_add", "assert -1 == 5", "failed"),
        ("tests/test_calc.py::test_db", "RuntimeError: no database", "error"),
    ]


def test_pytest_verbose_lines() -> None:
    _, outcomes = replay([PytestParser()], PYTEST_VERBOSE)
    assert outcomes is not None
    assert outcomes.counts() == {"passed": 1, "failed": 1, "errors": 0, "skipped": 1}
    (add,) = outcomes.failures
    assert (add.test, add.message) == ("tests/test_calc.py::test_add", "AssertionError: assert -1 == 5")


# --- the stream --------------------------------------------------------------------------


def test_records_are_cut_out_of_a_line_of_dots_even_split_across_chunks() -> None:
    mark = new_mark()
    record = mark + json.dumps({"passed": 2, "failed": 1, "errors": 0, "skipped": 0, "total": 4,
                                "failure": {"test": "t.py::test_b", "message": "boom",
                                            "location": "t.py:3", "kind": "failed"}}) + "\n"
    text = "..F" + record + ". [100%]\n" + mark + json.dumps(
        {"passed": 3, "failed": 1, "errors": 0, "skipped": 0, "total": 4, "final": True}) + "\n"
    for size in (1, 5, len(text)):
        shown: list[str] = []
        stream = OutcomeStream(parsers(["pytest"], mark), show=shown.append)
        for chunk in in_chunks(text, size):
            stream.feed(chunk)
        outcomes = stream.close()
        assert "".join(shown) == "..F. [100%]\n"
        assert outcomes is not None and outcomes.final
        assert outcomes.counts() == {"passed": 3, "failed": 1, "errors": 0, "skipped": 0}
        assert outcomes.failures == [Failure.make("t.py::test_b", "boom", "t.py:3")]
    # the dots show as they come, before their line ends
    shown = []
    stream = OutcomeStream(parsers(["pytest"], mark), show=shown.append)
    stream.feed("..")
    stream.feed("F")
    assert shown == ["..", "F"]


def test_a_record_with_another_mark_is_output_of_the_tests() -> None:
    mine, theirs = new_mark(), new_mark()
    line = theirs + json.dumps({"passed": 99, "failed": 0, "errors": 0, "skipped": 0}) + "\n"
    shown, outcomes = replay(parsers(["pytest"], mine), line)
    assert shown == line and outcomes is None


def test_only_the_first_failures_are_kept_but_all_are_counted() -> None:
    lines = "".join(f"test t{i} ... FAILED\n" for i in range(MAX_FAILURES + 5))
    _, outcomes = replay(parsers(["cargo"]), lines)
    assert outcomes is not None
    assert outcomes.failed == MAX_FAILURES + 5 and len(outcomes.failures) == MAX_FAILURES
    text = summary(outcomes)
    assert text.splitlines()[0] == f"[tests (cargo): {MAX_FAILURES + 5} failed]"
    assert text.splitlines()[-1] == f"[... and 5 more failing (the first {MAX_FAILURES} are above): see the log]"


def test_the_first_format_recognised_takes_the_stream() -> None:
    text = read("cargo_test.txt") + "--- FAIL: TestX (0.00s)\n"
    _, outcomes = replay(parsers(["pytest", "go", "cargo", "jest"], new_mark()), text)
    assert outcomes is not None and outcomes.format == "cargo" and outcomes.failed == 4


@pytest.mark.parametrize(("command", "formats"), [
    ("python3 -m pytest -q tests/", ("pytest",)),
    ("cd sub && pytest -x", ("pytest",)),
    (".venv/bin/pytest", ("pytest",)),
    ("go test -json ./...", ("go",)),
    ("cargo test --lib", ("cargo",)),
    ("npx jest src/calc.test.js", ("jest",)),
    ("npm test -- --verbose", ("jest",)),
    ("make test", ("pytest", "unittest", "go", "cargo", "jest")),
    ("python3 -m unittest discover -v", ("unittest",)),
    ("uv run pytest -k add", ("pytest",)),
    ("PYTHONPATH=src timeout 60 pytest", ("pytest",)),
    ("echo done; go test ./pkg/...", ("go",)),
    ("echo pytest", ()),
    ("git log --grep 'go test'", ()),
    ("ls tests/", ()),
    ("grep -r pytest .", ()),
    ("cat go.mod", ()),
])
def test_test_commands_are_recognised_by_their_words(command: str, formats: tuple[str, ...]) -> None:
    assert formats_for(command) == formats


def test_the_pytest_plugin_is_written_for_old_pythons_too() -> None:
    # it runs on the project's Python, which may be far older than the agent's
    source = plugin_source()
    ast.parse(source, feature_version=(3, 4))
    assert "f\"" not in source and "f'" not in source and ":=" not in source
