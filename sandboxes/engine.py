"""The connection to the Docker engine, and its failures as one-line errors.

docker-py is imported here, inside functions, so that importing the sandboxes package
(and running the CLI's ``--help``) does not pay for it. Every call blocks: async code
runs these through ``asyncio.to_thread``.
"""

from __future__ import annotations

import functools
import os
import socket
from typing import Any

from .base import SandboxError

#: API version spoken to the engine: Docker Engine 20.10 and every later one speak it.
#: Fixed rather than "auto", whose failed probe leaks a socket.
API_VERSION = "1.41"
_CLIENT_TIMEOUT_S = 120


class EngineUnreachable(SandboxError):
    """No Docker engine answers."""


class ImageMissing(SandboxError):
    """The sandbox image is not on the engine."""


def connect(docker_host: str | None = None) -> Any:
    """A docker-py client of the engine, shared per engine; raises ``EngineUnreachable``."""
    from docker.errors import DockerException

    try:
        return _client(docker_host or os.environ.get("DOCKER_HOST") or "")
    except (OSError, DockerException) as exc:  # requests' errors are OSErrors
        where = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
        raise EngineUnreachable(
            f"no Docker engine reachable at {where} ({brief(exc)}); "
            "start Docker, or use --sandbox local"
        ) from None


@functools.lru_cache(maxsize=4)
def _client(base_url: str) -> Any:
    import docker

    _probe_unix_socket(base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    if base_url:
        client = docker.DockerClient(
            base_url=base_url, version=API_VERSION, timeout=_CLIENT_TIMEOUT_S
        )
    else:
        client = docker.from_env(version=API_VERSION, timeout=_CLIENT_TIMEOUT_S)
    try:
        client.ping()
    except BaseException:
        client.close()
        raise
    return client


def _probe_unix_socket(url: str) -> None:
    """Fail on a dead unix socket here: docker-py leaks the socket of a failed connect."""
    if not url.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        probe.connect(url.removeprefix("unix://"))


def brief(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's text, shortened: for one-line error messages."""
    text = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    line = str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def is_not_found(exc: BaseException) -> bool:
    import docker.errors

    return isinstance(exc, docker.errors.NotFound)


def image_present(client: Any, image: str) -> bool:
    """Whether the engine has ``image``; raises ``EngineUnreachable`` when it does not answer."""
    return image_id(client, image) is not None


def image_id(client: Any, image: str) -> str | None:
    """The id of ``image`` (None when the engine lacks it); raises ``EngineUnreachable``
    when the engine does not answer."""
    import docker.errors

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    except (OSError, docker.errors.DockerException) as exc:
        raise EngineUnreachable(f"the Docker engine did not answer: {brief(exc)}") from None
    return str(found.id)
