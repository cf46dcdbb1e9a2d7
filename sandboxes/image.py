"""The default sandbox image: its recipe, its tag, and the two ways to build it.

The recipe is the folder ``images/default`` (a Dockerfile, a package list and the offline
settings). The image is tagged by a hash of that folder, so a changed recipe means a new
tag and a rebuild, and an unchanged one is never rebuilt.

- ``build_image(offline=False)``: ``docker build`` of the Dockerfile; needs to pull the
  base image.
- ``build_image(offline=True)``: ``debootstrap`` of the Debian suite named in the FROM
  line with the same packages, then ``docker import`` with the Dockerfile's ENV, WORKDIR
  and CMD. Needs root and a Debian mirror (the one apt uses), no registry.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..safefs.lock import held_lock
from .base import SandboxError
from .engine import brief, connect, image_present

Progress = Callable[[str], None]

RECIPES = Path(__file__).with_name("images")
DEFAULT_RECIPE = RECIPES / "default"
REPOSITORY = "asyncfc-agent-sandbox"
LABEL_RECIPE = "asyncfc-agent.recipe"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
BUILD_COMMAND = "asyncfc-agent sandbox build"

#: Dockerfile instructions that ``docker import --change`` accepts and we carry over.
_IMPORTED = ("ENV", "WORKDIR", "CMD", "LABEL", "USER", "ENTRYPOINT")


def active_recipe() -> Path:
    """The recipe of the default image. ``ASYNCFC_SANDBOX_RECIPE`` names another folder
    (a Dockerfile, ``packages.txt`` and ``offline.toml``) to build and use instead."""
    override = os.environ.get("ASYNCFC_SANDBOX_RECIPE")
    return Path(override).expanduser().resolve() if override else DEFAULT_RECIPE


def recipe_hash(recipe: Path | None = None) -> str:
    """12 hex digits over the names and contents of the recipe's files."""
    recipe = recipe or active_recipe()
    digest = hashlib.sha256()
    for path in sorted(p for p in recipe.rglob("*") if p.is_file()):
        digest.update(path.relative_to(recipe).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def default_image(recipe: Path | None = None) -> str:
    """The tag of the recipe's image (read once: sandboxes ask for it on the event loop)."""
    return f"{REPOSITORY}:{recipe_hash(recipe)}"


def missing_image_message(image: str, *, custom: bool = False) -> str:
    if custom:
        return f"image {image} (sandbox.image) is not on the Docker engine: pull or build it"
    return (
        f"sandbox image {image} is missing: build it with `{BUILD_COMMAND}` "
        f"(`{BUILD_COMMAND} --offline` where base images cannot be pulled)"
    )


@dataclass(frozen=True)
class BuildResult:
    image: str
    built: bool  # False: it was there already
    method: str  # "dockerfile", "offline" or "" when nothing was built
    seconds: float


def build_image(
    *,
    offline: bool = False,
    force: bool = False,
    mirror: str | None = None,
    progress: Progress = lambda _line: None,
    docker_host: str | None = None,
    recipe: Path | None = None,
) -> BuildResult:
    """Build the image of ``recipe`` unless it exists (or ``force``). Blocks for minutes."""
    recipe = recipe or active_recipe()
    client = connect(docker_host)
    image = default_image(recipe)
    if not force and image_present(client, image):
        return BuildResult(image, built=False, method="", seconds=0.0)
    started = time.monotonic()
    if offline:
        _build_offline(client, recipe, image, mirror or debian_mirror(), progress)
    else:
        _build_dockerfile(client, recipe, image, progress)
    client.api.tag(image, REPOSITORY, "latest")
    method = "offline" if offline else "dockerfile"
    return BuildResult(image, built=True, method=method, seconds=time.monotonic() - started)


def ensure_default_image(
    *, progress: Progress = lambda _line: None, docker_host: str | None = None
) -> BuildResult:
    """The default image, built first if it is missing: from its Dockerfile where the base
    image can be pulled, else from Debian packages. Runs started together on one machine
    build it once (a lock; the others wait and find it). Blocks for minutes when it builds.
    """
    client = connect(docker_host)
    image = default_image()
    if image_present(client, image):
        return BuildResult(image, built=False, method="", seconds=0.0)
    lock_path = Path(tempfile.gettempdir()) / f"asyncfc-agent-image-{os.getuid()}.lock"
    # a shared temporary folder: never follow a link another user planted there
    with held_lock(lock_path):
        if image_present(client, image):  # built by another run while this one waited
            return BuildResult(image, built=False, method="", seconds=0.0)
        progress(f"{image} is missing: building it, once (about a minute)")
        try:
            return build_image(progress=progress, docker_host=docker_host)
        except SandboxError as pulled:
            progress(f"from its Dockerfile: {pulled}; building from Debian packages instead")
            try:
                return build_image(offline=True, progress=progress, docker_host=docker_host)
            except SandboxError as offline:
                raise SandboxError(
                    f"the sandbox image {image} is missing and could not be built: from its "
                    f"Dockerfile: {pulled}; from Debian packages: {offline}"
                ) from None


def stale_images(client: Any, recipe: Path | None = None) -> list[str]:
    """Tags of default images built from earlier recipes (not the current one, not
    ``latest``). Blocks."""
    keep = {default_image(recipe), f"{REPOSITORY}:latest"}
    tags = [t for img in client.api.images(name=REPOSITORY) for t in img.get("RepoTags") or []]
    return sorted(t for t in tags if t.startswith(f"{REPOSITORY}:") and t not in keep)


def remove_stale_images(
    client: Any, recipe: Path | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Remove the tags of :func:`stale_images`; an image a container still uses stays.

    Returns the removed tags and the kept ones with the reason. Blocks.
    """
    import docker.errors

    removed: list[str] = []
    kept: list[tuple[str, str]] = []
    for tag in stale_images(client, recipe):
        try:
            client.api.remove_image(tag)
        except docker.errors.NotFound:
            removed.append(tag)  # gone meanwhile
        except docker.errors.APIError as exc:
            kept.append((tag, brief(exc)))
        else:
            removed.append(tag)
    return removed, kept


def _build_dockerfile(client: Any, recipe: Path, image: str, progress: Progress) -> None:
    import docker.errors

    try:
        stream = client.api.build(
            path=str(recipe), tag=image, rm=True, forcerm=True, decode=True,
            labels={LABEL_RECIPE: image.rpartition(":")[2]},
        )
        for chunk in stream:
            if "error" in chunk:
                raise SandboxError(f"docker build failed: {str(chunk['error']).strip()}; "
                                   f"without a registry, use `{BUILD_COMMAND} --offline`")
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    progress(line.rstrip())
    except docker.errors.APIError as exc:
        raise SandboxError(f"docker build failed: {brief(exc)}") from None


def _build_offline(client: Any, recipe: Path, image: str, mirror: str, progress: Progress) -> None:
    _check_can_debootstrap()
    dockerfile = (recipe / "Dockerfile").read_text()
    options = tomllib.loads((recipe / "offline.toml").read_text())
    packages = read_packages(recipe / "packages.txt")
    work = Path(tempfile.mkdtemp(prefix="asyncfc-rootfs-", dir=_scratch_dir()))
    try:
        root = work / "root"
        progress(f"debootstrap {base_suite(dockerfile)} from {mirror} ({len(packages)} packages)")
        _run_streamed(
            ["debootstrap", f"--variant={options.get('variant', 'minbase')}",
             f"--include={','.join(packages)}", base_suite(dockerfile), str(root), mirror],
            progress,
        )
        trim_tree(root, list(options.get("remove", [])))
        progress("importing the root filesystem into the engine")
        changes = [*import_changes(dockerfile), f"LABEL {LABEL_RECIPE}={image.rpartition(':')[2]}"]
        _import_tree(client, root, image, changes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_can_debootstrap() -> None:
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "the offline build needs debootstrap: install it (apt-get install debootstrap)"
        )
    if os.geteuid() != 0:
        raise SandboxError("the offline build runs debootstrap, which needs root: run it with sudo")


def _scratch_dir() -> str:
    # /var/tmp is on disk where /tmp may be a small tmpfs; the tree is ~300 MB
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else tempfile.gettempdir()


def read_packages(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def base_suite(dockerfile: str) -> str:
    """The Debian suite of ``FROM debian:<suite>[-slim]``."""
    match = re.search(r"^FROM\s+(?:docker\.io/)?(?:library/)?debian:([a-z]+)", dockerfile, re.M)
    if match is None:
        raise SandboxError("the offline build needs a Dockerfile FROM debian:<suite>")
    return match.group(1)


def import_changes(dockerfile: str) -> list[str]:
    """The Dockerfile's one-line ENV, WORKDIR, CMD, ... instructions, for ``docker import``."""
    return [
        line.strip()
        for line in dockerfile.splitlines()
        if line.split(" ", 1)[0].upper() in _IMPORTED
    ]


def trim_tree(root: Path, patterns: list[str]) -> None:
    for pattern in patterns:
        for match in glob.glob(str(root / pattern)):
            path = Path(match)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive apt uses here (not the security one), else deb.debian.org."""
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for uri in _source_uris(text):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return FALLBACK_MIRROR


def _source_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "URIs:":  # deb822 (.sources)
            uris.extend(words[1:])
        elif words[0] == "deb":  # one-line format; options may sit in [...]
            rest = [w for w in words[1:] if not (w.startswith("[") or w.endswith("]"))]
            uris.extend(rest[:1])
    return uris


def _run_streamed(argv: list[str], progress: Progress) -> None:
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        progress(line.rstrip())
        tail = [*tail[-4:], line.rstrip()]
    if proc.wait() != 0:
        raise SandboxError(f"{argv[0]} failed (exit {proc.returncode}): {' | '.join(tail)}")


def _import_tree(client: Any, root: Path, image: str, changes: list[str]) -> None:
    import docker.errors

    repository, _, tag = image.rpartition(":")
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--numeric-owner", "-cf", "-", "."],
        stdout=subprocess.PIPE,
    )
    stdout: IO[bytes] | None = tar.stdout
    assert stdout is not None
    try:
        client.api.import_image_from_stream(stdout, repository=repository, tag=tag, changes=changes)
    except docker.errors.APIError as exc:
        raise SandboxError(f"docker import failed: {brief(exc)}") from None
    finally:
        stdout.close()
        tar.wait()
    if tar.returncode != 0:
        raise SandboxError(f"tar of {root} failed (exit {tar.returncode})")
