"""Which command runs a repository's tests, and which builds it, from the files it holds.

Detection reads a few files at known places of the host directory; it never runs
anything. The first rule that matches wins, most specific first, so a Python project
with a Makefile still gets pytest (which can run one test) rather than ``make test``.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError
from .workspace import IGNORED_DIRS

#: Test files read at most when deciding between pytest and unittest.
SNIFF_FILES = 50
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


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _npm_scripts(root: Path) -> dict[str, str]:
    try:
        scripts = json.loads(_read(root / "package.json") or "{}").get("scripts") or {}
    except (json.JSONDecodeError, AttributeError):
        return {}
    return {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}


def _makefile(root: Path) -> str | None:
    for name in MAKEFILES:
        if (root / name).is_file():
            return _read(root / name)
    return None


def _make_target(text: str, target: str) -> bool:
    return re.search(rf"^{re.escape(target)}\s*:(?!=)", text, re.MULTILINE) is not None


def _python_test_files(root: Path) -> list[Path]:
    """Test modules at the usual places: tests/ and test/ dirs, and the top two levels."""
    found: list[Path] = []
    for name in ("tests", "test"):
        d = root / name
        if d.is_dir():
            found += [
                p for p in sorted(d.rglob("*.py"))
                if not IGNORED_DIRS.intersection(p.relative_to(root).parts)
            ]
    for pattern in ("test_*.py", "*_test.py", "*/test_*.py", "*/*_test.py"):
        found += [p for p in sorted(root.glob(pattern)) if p.parent.name not in IGNORED_DIRS]
    return found


def _mentions_pytest(root: Path) -> bool:
    """pytest configuration, or pytest named as a dependency."""
    if (root / "pytest.ini").is_file() or (root / "conftest.py").is_file():
        return True
    configs = ["pyproject.toml", "setup.cfg", "tox.ini", "setup.py", *_requirements(root)]
    return any("pytest" in _read(root / name) for name in configs)


def _requirements(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("requirements*.txt"))


# --- test commands ---------------------------------------------------------------------


def _python_tests(root: Path) -> Detected | None:
    if _mentions_pytest(root):
        return Detected("pytest", "python3 -m pytest -q")
    files = _python_test_files(root)
    if not files:
        return None
    heads = [_read(p)[:4000] for p in files[:SNIFF_FILES]]
    if any("pytest" in h for h in heads) or not any("unittest" in h for h in heads):
        return Detected("pytest", "python3 -m pytest -q")
    return Detected("unittest", _unittest_command(root, files))


def _unittest_command(root: Path, files: list[Path]) -> str:
    # discovery from the root only enters packages (dirs with __init__.py); a plain
    # tests/ dir has to be the start directory
    for name in ("tests", "test"):
        d = root / name
        if d.is_dir() and not (d / "__init__.py").exists() and any(d in f.parents for f in files):
            return f"python3 -m unittest discover -s {name}"
    return "python3 -m unittest"


def _npm_tests(root: Path) -> Detected | None:
    script = _npm_scripts(root).get("test")
    if script and NPM_NO_TESTS not in script:
        return Detected("npm", "npm test --silent")
    return None


def _file_rule(marker: str, kind: str, command: str) -> Callable[[Path], Detected | None]:
    def rule(root: Path) -> Detected | None:
        return Detected(kind, command) if (root / marker).is_file() else None

    return rule


def _make_tests(root: Path) -> Detected | None:
    text = _makefile(root)
    if text is not None and _make_target(text, "test"):
        return Detected("make", "make test")
    return None


TEST_RULES: list[Callable[[Path], Detected | None]] = [
    _python_tests,
    _file_rule("Cargo.toml", "cargo", "cargo test"),
    _file_rule("go.mod", "go", "go test ./..."),
    _npm_tests,
    _make_tests,
]


def detect_tests(root: Path) -> Detected | None:
    """The test command of the repository at ``root``, or None when nothing says how."""
    return _first(TEST_RULES, root)


# --- build commands --------------------------------------------------------------------


def _make_build(root: Path) -> Detected | None:
    text = _makefile(root)
    if text is None:
        return None
    return Detected("make", "make build" if _make_target(text, "build") else "make")


def _npm_build(root: Path) -> Detected | None:
    return Detected("npm", "npm run build --silent") if "build" in _npm_scripts(root) else None


def _python_build(root: Path) -> Detected | None:
    if not any((root / m).is_file() for m in PYTHON_MARKERS) and not any(root.glob("*.py")):
        return None
    skip = "|".join(re.escape(d) for d in sorted(IGNORED_DIRS))
    return Detected("python", f"python3 -m compileall -q -x {shlex.quote(f'(^|/)({skip})/')} .")


BUILD_RULES: list[Callable[[Path], Detected | None]] = [
    _make_build,
    _file_rule("Cargo.toml", "cargo", "cargo build"),
    _file_rule("go.mod", "go", "go build ./..."),
    _npm_build,
    _python_build,
]


def detect_build(root: Path) -> Detected | None:
    """The build command of the repository at ``root``, or None when nothing says how."""
    return _first(BUILD_RULES, root)


def _first(rules: list[Callable[[Path], Detected | None]], root: Path) -> Detected | None:
    for rule in rules:
        found = rule(root)
        if found is not None:
            return found
    return None
