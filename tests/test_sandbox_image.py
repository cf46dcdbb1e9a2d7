"""The image recipe: its hash, and what the offline build reads from it."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.base import SandboxError
from asyncfc_agent.sandboxes.docker import DockerSandbox
from asyncfc_agent.sandboxes.engine import connect
from asyncfc_agent.sandboxes.image import (
    DEFAULT_RECIPE,
    REPOSITORY,
    base_suite,
    build_image,
    debian_mirror,
    default_image,
    import_changes,
    missing_image_message,
    read_packages,
    recipe_hash,
    trim_tree,
)


def test_tag_follows_the_recipe(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe"
    shutil.copytree(DEFAULT_RECIPE, recipe)
    assert recipe_hash(recipe) == recipe_hash(DEFAULT_RECIPE)
    assert default_image() == f"{REPOSITORY}:{recipe_hash()}"
    with (recipe / "packages.txt").open("a") as f:
        f.write("strace\n")
    assert recipe_hash(recipe) != recipe_hash(DEFAULT_RECIPE)


def test_recipe_has_what_the_sandbox_needs() -> None:
    packages = read_packages(DEFAULT_RECIPE / "packages.txt")
    for needed in ("python3", "python3-pytest", "git", "ripgrep", "bash", "procps", "make", "gcc"):
        assert needed in packages
    dockerfile = (DEFAULT_RECIPE / "Dockerfile").read_text()
    assert base_suite(dockerfile) == "bookworm"
    assert "WORKDIR /workspace" in import_changes(dockerfile)
    assert not any(c.startswith(("RUN", "COPY", "FROM")) for c in import_changes(dockerfile))


def test_base_suite_needs_a_debian_base() -> None:
    assert base_suite("FROM docker.io/library/debian:trixie-slim\n") == "trixie"
    with pytest.raises(SandboxError, match="FROM debian"):
        base_suite("FROM alpine:3\n")


def test_mirror_is_read_from_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://other.example/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "http://other.example/debian"
    assert debian_mirror(tmp_path / "missing") == "http://deb.debian.org/debian"


def test_trim_removes_matches_only(tmp_path: Path) -> None:
    (tmp_path / "usr/share/doc/git").mkdir(parents=True)
    (tmp_path / "usr/share/doc/git/copyright").write_text("x")
    (tmp_path / "var/cache/apt/archives").mkdir(parents=True)
    (tmp_path / "var/cache/apt/archives/git.deb").write_text("x")
    (tmp_path / "var/cache/apt/archives/lock").write_text("")
    trim_tree(tmp_path, ["usr/share/doc/*", "var/cache/apt/archives/*.deb"])
    assert not (tmp_path / "usr/share/doc/git").exists()
    assert (tmp_path / "usr/share/doc").is_dir()
    assert sorted(p.name for p in (tmp_path / "var/cache/apt/archives").iterdir()) == ["lock"]


def test_missing_image_says_how_to_build_it() -> None:
    message = missing_image_message("asyncfc-agent-sandbox:abc")
    assert "asyncfc-agent sandbox build --offline" in message
    assert "pull or build" in missing_image_message("mine:1", custom=True)


@pytest.mark.docker
async def test_the_built_image_holds_what_the_recipe_asks_for(docker_image: str, tmp_path: Path) -> None:
    packages = read_packages(DEFAULT_RECIPE / "packages.txt")
    async with DockerSandbox(tmp_path, session_id=f"test-{uuid.uuid4().hex[:10]}") as box:
        query = await box.exec(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *packages])
        user = (await box.exec("id -u")).output.strip()
    installed = {line.split()[0] for line in query.output.splitlines() if line.endswith(" installed")}
    assert installed == set(packages), query.output
    assert user != "0"
    config = connect().api.inspect_image(docker_image)["Config"]
    assert config["WorkingDir"] == "/workspace" and "LANG=C.UTF-8" in config["Env"]
    # it is there: building again builds nothing
    again = build_image()
    assert (again.image, again.built, again.method) == (docker_image, False, "")
