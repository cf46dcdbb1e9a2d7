"""Which test and build commands a repository gets, from the files it holds (nothing runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asyncfc_agent.tools.base import ToolError
from asyncfc_agent.tools.detect import Detected, detect_build, detect_tests

UNITTEST_CASE = "import unittest\n\nclass T(unittest.TestCase):\n    def test_a(self): pass\n"


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def npm(scripts: dict[str, str]) -> str:
    return json.dumps({"name": "x", "scripts": scripts})


PYTEST = Detected("pytest", "python3 -m pytest -q")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, PYTEST),
        ({"setup.cfg": "[tool:pytest]\n"}, PYTEST),
        ({"pytest.ini": "[pytest]\n"}, PYTEST),
        ({"tox.ini": "[pytest]\naddopts = -q\n"}, PYTEST),
        ({"conftest.py": ""}, PYTEST),
        ({"requirements-dev.txt": "pytest>=8\n", "src/a.py": ""}, PYTEST),
        ({"tests/test_a.py": "def test_a(): pass\n"}, PYTEST),
        ({"tests/test_a.py": "import pytest\n" + UNITTEST_CASE}, PYTEST),
        ({"tests/test_a.py": UNITTEST_CASE},
         Detected("unittest", "python3 -m unittest discover -s tests")),
        ({"tests/__init__.py": "", "tests/test_a.py": UNITTEST_CASE},
         Detected("unittest", "python3 -m unittest")),
        ({"test_a.py": UNITTEST_CASE}, Detected("unittest", "python3 -m unittest")),
        ({"package.json": npm({"test": "jest"})}, Detected("npm", "npm test --silent")),
        ({"Cargo.toml": "[package]\n"}, Detected("cargo", "cargo test")),
        ({"go.mod": "module x\n"}, Detected("go", "go test ./...")),
        ({"Makefile": "all:\n\ttrue\ntest: all\n\t./run-tests\n"}, Detected("make", "make test")),
        # the most specific rule wins: pytest can run one test, `make test` cannot
        ({"Makefile": "test:\n\tpytest\n", "tests/test_a.py": ""}, PYTEST),
    ],
)
def test_detects_the_test_command(
    tmp_path: Path, files: dict[str, str], expected: Detected
) -> None:
    assert detect_tests(repo(tmp_path, files)) == expected


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"README.md": "# x\n", "src/main.py": "print(1)\n"},
        {"package.json": npm({"test": 'echo "Error: no test specified" && exit 1'})},
        {"package.json": "{not json"},
        {"Makefile": "TEST := 1\nbuild:\n\ttrue\ntest_data:\n\ttrue\n"},
        {"node_modules/x/tests/test_a.py": "import pytest\n"},
    ],
)
def test_finds_no_test_command_where_nothing_says_how(
    tmp_path: Path, files: dict[str, str]
) -> None:
    assert detect_tests(repo(tmp_path, files)) is None


@pytest.mark.parametrize(
    ("found", "target", "command"),
    [
        (PYTEST, "tests/test_a.py::test_x", "python3 -m pytest -q tests/test_a.py::test_x"),
        (PYTEST, "tests/a.py -k 'x or y'", "python3 -m pytest -q tests/a.py -k 'x or y'"),
        (PYTEST, "a.py; touch x", "python3 -m pytest -q 'a.py;' touch x"),
        (Detected("unittest", "python3 -m unittest discover -s tests"), "tests.test_a",
         "python3 -m unittest tests.test_a"),
        (Detected("npm", "npm test --silent"), "src/a.test.js",
         "npm test --silent -- src/a.test.js"),
        (Detected("cargo", "cargo test"), "parses_dates", "cargo test parses_dates"),
        (Detected("go", "go test ./..."), "./pkg/dates/...", "go test ./pkg/dates/..."),
        (Detected("configured", "./scripts/test.sh --fast"), "unit",
         "./scripts/test.sh --fast unit"),
        (PYTEST, None, "python3 -m pytest -q"),
    ],
)
def test_a_target_narrows_the_command(found: Detected, target: str | None, command: str) -> None:
    assert found.narrowed(target) == command


def test_targets_that_cannot_be_used() -> None:
    with pytest.raises(ToolError, match="make test"):
        Detected("make", "make test").narrowed("tests/a")
    with pytest.raises(ToolError, match="unbalanced quotes"):
        PYTEST.narrowed("tests/a.py -k 'x")


@pytest.mark.parametrize(
    ("files", "kind", "command"),
    [
        ({"Makefile": "all:\n\tcc x.c\n"}, "make", "make"),
        ({"Makefile": "all: build\nbuild:\n\tcc x.c\n"}, "make", "make build"),
        ({"Cargo.toml": "[package]\n"}, "cargo", "cargo build"),
        ({"go.mod": "module x\n"}, "go", "go build ./..."),
        ({"package.json": npm({"build": "tsc"})}, "npm", "npm run build --silent"),
        ({"pyproject.toml": "[project]\n"}, "python", "python3 -m compileall -q -x"),
        ({"main.py": "print(1)\n"}, "python", "python3 -m compileall -q -x"),
    ],
)
def test_detects_the_build_command(
    tmp_path: Path, files: dict[str, str], kind: str, command: str
) -> None:
    found = detect_build(repo(tmp_path, files))
    assert found is not None
    assert found.kind == kind
    assert found.command.startswith(command)


def test_finds_no_build_command_where_nothing_says_how(tmp_path: Path) -> None:
    assert detect_build(repo(tmp_path, {"package.json": npm({"test": "jest"})})) is None
