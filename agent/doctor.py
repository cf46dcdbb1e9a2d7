"""What a run needs, checked one piece at a time, each with what to do when it is missing.

``asyncfc-agent doctor`` prints these. Every check is quick and changes nothing; the only
one that talks to the model's provider (a one-token request) runs when asked.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, RunConfig, load_config


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" (works without it, with less), "missing" (a run would fail)
    detail: str
    fix: str = ""


def run_checks(repo: Path, *, model: str | None, api_base: str | None, ping: bool) -> list[Check]:
    checks = [_python(), _git(), _repository(repo), _ripgrep()]
    cfg, problem = _config(repo)
    if problem is not None:
        checks.append(problem)
    engine = _engine(cfg)
    checks.append(engine)
    if engine.status == "ok":
        checks.append(_image(cfg))
    if cfg is not None:
        checks += _model(cfg, model, api_base, ping)
        checks += _mcp_servers(cfg, repo)
    return checks


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", "ok", f"Python {version}")


def _git() -> Check:
    if shutil.which("git") is None:
        return Check("git", "missing", "git is not installed", "apt-get install git")
    out = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return Check("git", "ok", out)


def _ripgrep() -> Check:
    if shutil.which("rg") is None:
        return Check("ripgrep", "warn", "rg is not installed: the local sandbox's grep is slower",
                     "apt-get install ripgrep")
    return Check("ripgrep", "ok", "rg found")


def _repository(repo: Path) -> Check:
    from .workarea import repo_root

    if not repo.is_dir():
        return Check("repository", "missing", f"{repo} is not a directory", "give --repo DIR")
    root = repo_root(repo)
    if root is None:
        return Check("repository", "warn",
                     f"{repo} is not a git repository with a commit: runs work on a copy",
                     "git init && git add -A && git commit -m init, for a branch and a patch")
    return Check("repository", "ok", f"git repository at {root}")


def _config(repo: Path) -> tuple[RunConfig | None, Check | None]:
    try:
        return load_config(repo if repo.is_dir() else None), None
    except ConfigError as exc:
        return None, Check("config", "missing", str(exc), "fix the file it names")


def _engine(cfg: RunConfig | None) -> Check:
    from ..sandboxes.base import SandboxError
    from ..sandboxes.engine import connect

    host = cfg.sandbox.options.get("docker_host") if cfg else None
    try:
        client = connect(host)
        version = client.api.version().get("Version", "?")
    except (SandboxError, OSError) as exc:
        return Check("docker", "warn", f"no Docker engine: {exc}",
                     "install and start Docker (runs without it use --sandbox local, which "
                     "isolates nothing)")
    return Check("docker", "ok", f"Docker Engine {version}")


def _image(cfg: RunConfig | None) -> Check:
    from ..sandboxes.engine import connect, image_present
    from ..sandboxes.image import BUILD_COMMAND, default_image

    options = cfg.sandbox.options if cfg else {}
    image = options.get("image") or default_image()
    if image_present(connect(options.get("docker_host")), image):
        return Check("sandbox image", "ok", f"{image} is there")
    if options.get("image"):
        return Check("sandbox image", "missing", f"{image} (sandbox.image) is not on the engine",
                     f"docker pull {image}, or build it")
    return Check("sandbox image", "warn", f"{image} is missing: the first Docker run builds it",
                 f"{BUILD_COMMAND} now (about a minute; `--offline` where no registry answers)")


def _model(cfg: RunConfig, model: str | None, api_base: str | None, ping: bool) -> list[Check]:
    from .model import ModelClient, ModelConfigError, litellm_module

    name = model or cfg.model.model
    if not name:
        return [Check("model", "missing", "no model configured",
                      "give --model, set ASYNCFC_MODEL, or put model = \"...\" in asyncfc.toml")]
    cfg.model.model = name
    cfg.model.api_base = api_base or cfg.model.api_base
    client = ModelClient(cfg.model)
    try:
        client.check_environment(litellm_module())
    except ModelConfigError as exc:
        return [Check("model", "missing", str(exc), "export the variable it names")]
    if cfg.model.scripted:
        detail = f"{name}: the scripted model"
    elif cfg.model.api_base:
        detail = f"{name} at {cfg.model.api_base} (a server of yours: its key is not checked)"
    else:
        detail = f"{name}: credentials present"
    checks = [Check("model", "ok", detail)]
    if ping:
        checks.append(_ping(cfg))
    return checks


def _mcp_servers(cfg: RunConfig, repo: Path) -> list[Check]:
    """Each MCP server started as a session would (each within its startup timeout),
    its tools counted, and stopped; none when there is none."""
    if not cfg.mcp_servers:
        return []
    from ..mcp_servers.manager import McpServers

    servers = McpServers(cfg.mcp_servers, workdir=repo.resolve())

    async def probe() -> None:
        try:
            await servers.start(None)
        finally:
            await servers.close()

    asyncio.run(probe())
    checks = []
    for conn in servers.connections.values():
        name = f"MCP server {conn.name}"
        said = " ".join(conn.reason.split())[:300]
        if conn.status in ("running", "closed"):
            checks.append(Check(name, "ok", f"{len(conn.tools)} tool(s), {conn.config.transport}: "
                                            f"{conn.config.describe()}"))
        elif conn.status == "disabled":
            checks.append(Check(name, "ok", "enabled = false: not started"))
        elif conn.config.sandbox and conn.status == "skipped" and not conn.config.blocked_reason():
            checks.append(Check(name, "ok", "runs in the sandbox: checked when a session starts"))
        elif conn.status == "skipped":
            checks.append(Check(name, "warn", "not started: defined by the repository, not trusted",
                                f"add \"mcp_servers.{conn.name}\" to trust_project in your config "
                                "file, if you trust this repository's command"))
        else:
            checks.append(Check(name, "warn", f"does not start: {said}",
                                "fix its entry in " + (conn.config.origin or "the config") +
                                " (asyncfc-agent mcp list shows all it says); runs go on without it"))
    return checks


def _ping(cfg: RunConfig) -> Check:
    from .model import litellm_module

    litellm = litellm_module()
    kwargs = {"api_base": cfg.model.api_base} if cfg.model.api_base else {}

    async def one_token() -> None:
        stream = await litellm.acompletion(
            model=cfg.model.model, messages=[{"role": "user", "content": "Say OK."}],
            max_tokens=1, stream=True, timeout=30, **kwargs)
        async for _chunk in stream:
            pass

    try:
        asyncio.run(one_token())
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        return Check("model reachable", "missing", f"{type(exc).__name__}: {first}",
                     "check the key, the model name and --api-base")
    return Check("model reachable", "ok", "a one-token request was answered")
