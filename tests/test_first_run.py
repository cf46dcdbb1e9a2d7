"""The first run on a machine without the sandbox image builds it, once, and goes on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.engine import connect, image_present
from asyncfc_agent.sandboxes.image import DEFAULT_RECIPE, REPOSITORY, recipe_hash


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_builds_a_missing_image_then_reuses_it(tmp_path: Path, docker_image: str) -> None:
    # A recipe of its own (one comment more): its image is missing on this engine, and
    # building it leaves the one other runs use alone.
    recipe = tmp_path / "recipe"
    shutil.copytree(DEFAULT_RECIPE, recipe)
    with (recipe / "Dockerfile").open("a") as f:
        f.write(f"# first-run test {os.getpid()}\n")
    image = f"{REPOSITORY}:{recipe_hash(recipe)}"
    client = connect()
    assert not image_present(client, image)
    env = {**os.environ, "ASYNCFC_SANDBOX_RECIPE": str(recipe),
           "ASYNCFC_HOME": str(tmp_path / "home"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    demo = [sys.executable, "-m", "asyncfc_agent.cli", "demo", "--plain"]  # --sandbox auto
    try:
        first = subprocess.run(demo, env=env, capture_output=True, text=True, timeout=800)
        log = first.stdout + first.stderr
        assert first.returncode == 0, log[-3000:]
        assert f"{image} is missing: building it" in log
        assert f"built the sandbox image {image}" in log
        assert "sandbox docker," in log  # auto took the engine, not the local sandbox
        assert image_present(client, image)
        again = subprocess.run(demo, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
        assert "building it" not in again.stdout + again.stderr
    finally:
        if image_present(client, image):
            client.api.tag(docker_image, REPOSITORY, "latest")  # the build moved it
            client.api.remove_image(image, force=True)
    assert "Traceback" not in log
