"""Which files are indexed, the tag cache (hits, edits, damage), and parse workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from asyncfc_agent.codenav import build_index, default_cache_dir
from asyncfc_agent.codenav import index as index_module
from asyncfc_agent.codenav.files import source_files

FIXTURE = Path(__file__).parent / "fixtures" / "codenav" / "repo"
HAS_GIT = shutil.which("git") is not None


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_walk_skips_dependencies_build_output_hidden_dirs_and_other_languages(
    tmp_path: Path,
) -> None:
    for rel in ["src/app.py", "src/view.tsx", "node_modules/lib/index.js", "target/gen.rs",
                ".venv/lib/site.py", "build/out.js", "src/__pycache__/app.py", "docs/notes.md",
                "src/bundle.min.js", "src/.hidden/secret.py"]:
        write(tmp_path, rel, "x = 1\n")
    assert source_files(tmp_path) == ["src/app.py", "src/view.tsx"]


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_git_listing_honours_gitignore_and_lists_untracked_files(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path, ".gitignore", "generated/\n*.gen.py\n")
    for rel in ["tracked.py", "untracked.go", "generated/api.py", "model.gen.py",
                "vendor/dep/lib.go"]:
        write(tmp_path, rel, "package x\n")
    git(tmp_path, "add", "tracked.py", ".gitignore")
    git(tmp_path, "add", "-f", "vendor/dep/lib.go")  # committed, and still skipped
    assert source_files(tmp_path) == ["tracked.py", "untracked.go"]


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_git_listing_of_a_folder_inside_a_repository(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path, "top.py", "x = 1\n")
    write(tmp_path, "sub/inner.py", "x = 1\n")
    assert source_files(tmp_path / "sub") == ["inner.py"]


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_a_folder_its_repository_ignores_is_walked(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path, ".gitignore", "scratch/\n")
    write(tmp_path, "scratch/tool.py", "x = 1\n")
    assert source_files(tmp_path) == []
    assert source_files(tmp_path / "scratch") == ["tool.py"]


def test_second_index_reads_the_cache_and_parses_nothing(repo: Path, cache: Path) -> None:
    first = build_index(repo, cache_dir=cache)
    assert (first.stats.files, first.stats.parsed, first.stats.cached) == (7, 7, 0)
    second = build_index(repo, cache_dir=cache)
    assert (second.stats.parsed, second.stats.cached) == (0, 7)
    assert second.files == first.files


def test_an_edited_file_is_parsed_again_and_a_deleted_one_dropped(
    repo: Path, cache: Path
) -> None:
    build_index(repo, cache_dir=cache)
    path = repo / "geometry.py"
    path.write_text(path.read_text() + "\n\ndef added() -> None:\n    pass\n")
    (repo / "render.js").unlink()
    again = build_index(repo, cache_dir=cache)
    assert (again.stats.parsed, again.stats.cached, again.stats.files) == (1, 5, 6)
    assert again.files["geometry.py"].definitions[-1].name == "added"
    (cache_file,) = cache.iterdir()
    assert "render.js" not in json.loads(cache_file.read_text())["files"]


def test_same_size_edit_with_a_new_mtime_is_seen(repo: Path, cache: Path) -> None:
    build_index(repo, cache_dir=cache)
    path = repo / "shapes.go"
    text = path.read_text().replace("TotalArea", "TotalAreb")
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = build_index(repo, cache_dir=cache)
    assert again.stats.parsed == 1
    assert "TotalAreb" in {d.name for d in again.files["shapes.go"].definitions}


def test_a_damaged_cache_is_rebuilt(repo: Path, cache: Path) -> None:
    build_index(repo, cache_dir=cache)
    (cache_file,) = cache.iterdir()
    cache_file.write_text("{not json")
    assert build_index(repo, cache_dir=cache).stats.parsed == 7
    data = json.loads(cache_file.read_text())
    data["files"]["shapes.rs"][2] = ["rust", False]  # an entry of the wrong shape
    cache_file.write_text(json.dumps(data))
    again = build_index(repo, cache_dir=cache)
    assert (again.stats.parsed, again.stats.cached) == (1, 6)


def test_a_cache_of_another_version_is_ignored(repo: Path, cache: Path) -> None:
    build_index(repo, cache_dir=cache)
    (cache_file,) = cache.iterdir()
    data = json.loads(cache_file.read_text())
    data["version"] = "0:old"
    cache_file.write_text(json.dumps(data))
    assert build_index(repo, cache_dir=cache).stats.parsed == 7


def test_without_cache_nothing_is_written(repo: Path, cache: Path) -> None:
    build_index(repo, cache_dir=cache, use_cache=False)
    assert not cache.exists()


def test_the_cache_lives_outside_the_repository(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "asyncfc-agent" / "tags"
    build_index(repo)
    assert len(list(default_cache_dir().iterdir())) == 1
    assert sorted(p.name for p in repo.iterdir()) == sorted(p.name for p in FIXTURE.iterdir())


def test_worker_processes_give_the_same_tags(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(40):  # enough files for shares of the minimum size
        write(repo, f"more/m{i}.py", f"class C{i}:\n    def run(self) -> None:\n        f{i}()\n")
    monkeypatch.setattr(index_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(index_module, "_MIN_SHARE", 10)
    alone = build_index(repo, use_cache=False, workers=1)
    shared = build_index(repo, use_cache=False, workers=3)
    assert shared.files == alone.files
    assert (shared.stats.parsed, shared.stats.by_workers) == (47, 31)  # two shares of three


def test_a_failing_worker_leaves_its_share_to_this_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(index_module, "_MIN_SHARE", 1)
    monkeypatch.setattr(index_module.sys, "executable", "/nonexistent/python")
    alone = build_index(repo, use_cache=False, workers=1)
    shared = build_index(repo, use_cache=False, workers=2)
    assert shared.files == alone.files
    assert (shared.stats.parsed, shared.stats.by_workers) == (7, 0)
