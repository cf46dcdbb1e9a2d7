"""Which command runs a repository's tests, and which builds it, from the files it holds.

Detection reads a few files at known places of the host directory; it never runs
anything. The first rule that matches wins, most specific first, so a Python project
with a Makefile still gets pytest (which can run one test) rather than ``make test``.
"""

from __future__ import annotations

import json
import re
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..safefs import FsError, Root, list_dir, read_bytes, stat_path, walk
from .errors import ToolError
from .workspace import IGNORED_DIRS

#: Test files read at most when deciding between pytest and unittest.
SNIFF_FILES = 50
#: Bytes of one file read at most: markers and configs are small.
MAX_READ_BYTES = 1_000_000
#: The ``test`` script ``npm init`` writes: there are no tests.
NPM_NO_TESTS = "no test specified"
MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


@dataclass(frozen=True)
class Detected:
    """A command and the kind of project it was chosen for (``configured`` when it was set)."""

    kind: str
    command: str

    def narrowed(self, target: str | None) -> str:
        """The command restricted to ``target`` (a test path, node id, package or name)."""
        if not target:
            return self.command
        quoted = _quote_words(target)
        if self.kind == "go":
            return f"go test {quoted}"
        if self.kind == "npm":
            return f"{self.command} -- {quoted}"
        if self.kind == "unittest":
            return f"python3 -m unittest {quoted}"
        if self.kind == "make":
            raise ToolError(
                "the tests run with `make test`, which takes no target; run a narrower "
                "command with the run tool instead"
            )
        return f"{self.command} {quoted}"


def _quote_words(target: str) -> str:
    """The target's words, each shell-quoted: ``-k 'a or b'`` stays two arguments, and
    ``;`` or ``$(...)`` in it are only text."""
    try:
        words = shlex.split(target)
    except ValueError:
        raise ToolError(f"target {target!r} has unbalanced quotes") from None
    return " ".join(shlex.quote(w) for w in words)


# --- small readers ---------------------------------------------------------------------
# The root is a snapshot or the workspace, which a command in the sandbox wrote: every
# read goes through safefs, so a marker that is a symlink to a host file, a FIFO or a
# huge file reads as absent or empty.


def _read(root: Root, rel: str) -> str:
    try:
        return read_bytes(root, rel, MAX_READ_BYTES).decode("utf-8", errors="replace")
    except (FsError, OSError):
        return ""


def _mode(root: Root, rel: str) -> int:
    """The file type bits of what ``rel`` leads to; 0 for nothing (or nothing usable)."""
    try:
        st = stat_path(root, rel)
    except (FsError, OSError):
        return 0
    return 0 if st is None else st.st_mode


def _is_file(root: Root, rel: str) -> bool:
    return stat.S_ISREG(_mode(root, rel))


def _is_dir(root: Root, rel: str) -> bool:
    return stat.S_ISDIR(_mode(root, rel))


def _names(root: Root, rel: str = "") -> list[str]:
    try:
        return sorted(list_dir(root, rel))
    except (FsError, OSError):
        return []


def _npm_scripts(root: Root) -> dict[str, str]:
    try:
        scripts = json.loads(_read(root, "package.json") or "{}").get("scripts") or {}
    except (json.JSONDecodeError, AttributeError):
        return {}
    return {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}


def _makefile(root: Root) -> str | None:
    for name in MAKEFILES:
        if _is_file(root, name):
            return _read(root, name)
    return None


def _make_target(text: str, target: str) -> bool:
    return re.search(rf"^{re.escape(target)}\s*:(?!=)", text, re.MULTILINE) is not None


def _is_test_module(name: str) -> bool:
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _python_test_files(root: Root) -> list[str]:
    """Test modules at the usual places: tests/ and test/ dirs, and the top two levels."""
    found: list[str] = []
    for name in ("tests", "test"):
        if not _is_dir(root, name):
            continue
        try:
            for listing in walk(root, name):
                listing.dirs[:] = sorted(d for d in listing.dirs if d not in IGNORED_DIRS)
                found += sorted(f"{name}/{listing.path(e.name)}" for e in listing.others
                                if e.name.endswith(".py") and e.is_file(follow_symlinks=False))
        except (FsError, OSError):
            continue
    top = _names(root)
    found += [n for n in top if _is_test_module(n) and _is_file(root, n)]
    for d in top:
        if d not in IGNORED_DIRS and _is_dir(root, d):
            found += [f"{d}/{n}" for n in _names(root, d) if _is_test_module(n)]
    return found


def _mentions_pytest(root: Root) -> bool:
    """pytest configuration, or pytest named as a dependency."""
    if _is_file(root, "pytest.ini") or _is_file(root, "conftest.py"):
        return True
    configs = ["pyproject.toml", "setup.cfg", "tox.ini", "setup.py", *_requirements(root)]
    return any("pytest" in _read(root, name) for name in configs)


def _requirements(root: Root) -> list[str]:
    return [n for n in _names(root) if n.startswith("requirements") and n.endswith(".txt")]


# --- test commands ---------------------------------------------------------------------


def _python_tests(root: Root) -> Detected | None:
    if _mentions_pytest(root):
        return Detected("pytest", "python3 -m pytest -q")
    files = _python_test_files(root)
    if not files:
        return None
    heads = [_read(root, rel)[:4000] for rel in files[:SNIFF_FILES]]
    if any("pytest" in h for h in heads) or not any("unittest" in h for h in heads):
        return Detected("pytest", "python3 -m pytest -q")
    return Detected("unittest", _unittest_command(root, files))


def _unittest_command(root: Root, files: list[str]) -> str:
    # discovery from the root only enters packages (dirs with __init__.py); a plain
    # tests/ dir has to be the start directory
    for name in ("tests", "test"):
        if (_is_dir(root, name) and not _is_file(root, f"{name}/__init__.py")
                and any(f.startswith(name + "/") for f in files)):
            return f"python3 -m unittest discover -s {name}"
    return "python3 -m unittest"


def _npm_tests(root: Root) -> Detected | None:
    script = _npm_scripts(root).get("test")
    if script and NPM_NO_TESTS not in script:
        return Detected("npm", "npm test --silent")
    return None


def _file_rule(marker: str, kind: str, command: str) -> Callable[[Root], Detected | None]:
    def rule(root: Root) -> Detected | None:
        return Detected(kind, command) if _is_file(root, marker) else None

    return rule


def _make_tests(root: Root) -> Detected | None:
    text = _makefile(root)
    if text is not None and _make_target(text, "test"):
        return Detected("make", "make test")
    return None


TEST_RULES: list[Callable[[Root], Detected | None]] = [
    _python_tests,
    _file_rule("Cargo.toml", "cargo", "cargo test"),
    _file_rule("go.mod", "go", "go test ./..."),
    _npm_tests,
    _make_tests,
]


def detect_tests(root: Path) -> Detected | None:
    """The test command of the repository at ``root``, or None when nothing says how."""
    return _first(TEST_RULES, Root(root))


# --- build commands --------------------------------------------------------------------


def _make_build(root: Root) -> Detected | None:
    text = _makefile(root)
    if text is None:
        return None
    return Detected("make", "make build" if _make_target(text, "build") else "make")


def _npm_build(root: Root) -> Detected | None:
    return Detected("npm", "npm run build --silent") if "build" in _npm_scripts(root) else None


def _python_build(root: Root) -> Detected | None:
    if not any(_is_file(root, m) for m in PYTHON_MARKERS) and not any(
        n.endswith(".py") for n in _names(root)
    ):
        return None
    skip = "|".join(re.escape(d) for d in sorted(IGNORED_DIRS))
    return Detected("python", f"python3 -m compileall -q -x {shlex.quote(f'(^|/)({skip})/')} .")


BUILD_RULES: list[Callable[[Root], Detected | None]] = [
    _make_build,
    _file_rule("Cargo.toml", "cargo", "cargo build"),
    _file_rule("go.mod", "go", "go build ./..."),
    _npm_build,
    _python_build,
]


def detect_build(root: Path) -> Detected | None:
    """The build command of the repository at ``root``, or None when nothing says how."""
    return _first(BUILD_RULES, Root(root))


def _first(rules: list[Callable[[Root], Detected | None]], root: Root) -> Detected | None:
    for rule in rules:
        found = rule(root)
        if found is not None:
            return found
    return None
