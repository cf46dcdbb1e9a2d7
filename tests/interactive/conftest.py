"""Fixtures of the interactive driver's tests: a private home, a repository, a session."""

from __future__ import annotations

from pathlib import Path

import pytest
from interactive_support import Start, make_start
from support import make_repo


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASYNCFC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root: Path = make_repo(tmp_path)
    return root


@pytest.fixture
def start(tmp_path: Path, repo: Path, home: Path) -> Start:
    return make_start(tmp_path, repo)
