"""``solve`` and ``demo``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

if TYPE_CHECKING:
    from ..agent.config import RunConfig
    from ..agent.session import RunOutcome


class ModeOpt(StrEnum):
    async_ = "async"
    parallel = "parallel"
    sync = "sync"


class SandboxOpt(StrEnum):
    docker = "docker"
    local = "local"
    auto = "auto"


#: Exit codes of solve, demo and ci.
EXIT_SOLVED, EXIT_UNSOLVED, EXIT_USAGE, EXIT_INFRA, EXIT_LIMIT = 0, 1, 2, 3, 4
LIMIT_REASONS = frozenset({"max_turns", "max_cost", "timeout"})
INFRA_REASONS = frozenset({"model_error", "sandbox_error", "output_error"})

ModelArg = Annotated[Optional[str], typer.Option("--model", "-m", help="Any litellm model string, or scripted/PATH.")]  # noqa: UP045
ModeArg = Annotated[Optional[ModeOpt], typer.Option("--mode", help="How tool calls run: async (futures), parallel, sync.")]  # noqa: UP045
SandboxArg = Annotated[Optional[SandboxOpt], typer.Option("--sandbox", help="Where commands run: docker, local, or auto.")]  # noqa: UP045
PlainArg = Annotated[bool, typer.Option("--plain", help="A line log instead of the live view.")]
JsonArg = Annotated[bool, typer.Option("--json", help="One JSON object per event on stdout.")]
NoSpeculateArg = Annotated[bool, typer.Option("--no-speculate", help="Do not start the last test or build call ahead of the model after an edit (async mode).")]
NoMemoizeArg = Annotated[bool, typer.Option("--no-memoize", help="Run every test, build or read-only command again, even on unchanged files (async mode).")]
OutArg = Annotated[Optional[Path], typer.Option("--out", help="Folder for result.json, trajectory.jsonl and patch.diff.")]  # noqa: UP045


def read_issue(issue: str) -> str:
    """ISSUE is literal text, the path of a file, ``-`` for standard input, or the URL of a
    GitHub issue (fetched through the REST API; ``GITHUB_API_URL`` and ``GITHUB_TOKEN``)."""
    from ..agent import github

    if github.parse_issue_url(issue) is not None:
        try:
            return github.fetch_issue(issue).text
        except github.GitHubError as exc:
            fail(str(exc), EXIT_INFRA if exc.transient else EXIT_USAGE)
    if issue == "-":
        text = sys.stdin.read()
    elif len(issue) < 4096 and "\n" not in issue and Path(issue).is_file():
        text = Path(issue).read_text(encoding="utf-8")
    else:
        text = issue
    if not text.strip():
        raise typer.BadParameter("the issue is empty", param_hint="ISSUE")
    return text.strip()


def build_config(
    repo: Path,
    *,
    mode: ModeOpt | None = None,
    sandbox: SandboxOpt | None = None,
    **options: Any,
) -> RunConfig:
    """The run's configuration (see ``agent.assemble``); a bad one exits with usage."""
    from ..agent.assemble import assemble
    from ..agent.config import ConfigError

    try:
        return assemble(
            repo, mode=mode.value if mode else None, sandbox=sandbox.value if sandbox else None,
            **options,
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def reuse_options(no_speculate: bool, no_memoize: bool) -> dict[str, Any]:
    """``--no-speculate`` and ``--no-memoize`` as overrides (not given: the files decide)."""
    return {"speculate": False if no_speculate else None, "memoize": False if no_memoize else None}


def fail(message: str, code: int) -> NoReturn:
    from .sanitize import sanitize

    typer.echo(f"error: {sanitize(message)}", err=True)
    raise typer.Exit(code)


def exit_code(outcome: RunOutcome) -> int:
    if outcome.status == "solved":
        return EXIT_SOLVED
    if outcome.exit_reason in LIMIT_REASONS:
        return EXIT_LIMIT
    if outcome.exit_reason in INFRA_REASONS or outcome.exit_reason == "error":
        return EXIT_INFRA  # a run that crashed did not give up: it could not do its work
    if outcome.exit_reason in ("repository_error", "model_config"):
        return EXIT_USAGE
    return EXIT_UNSOLVED


def run_session(task: str, repo: Path, cfg: RunConfig, *, plain: bool, json_events: bool) -> RunOutcome:
    """Run one session with the chosen view; Ctrl-C or SIGTERM ends it cleanly (exit 130)."""
    import asyncio

    from ..agent.session import Session
    from . import view
    from .signals import terminate_as_interrupt

    subscribers, live = view.make_view(plain=plain, json_events=json_events)
    session = Session(task, repo, cfg, subscribers=subscribers)
    try:
        with live, terminate_as_interrupt():
            outcome = asyncio.run(session.run())
    except KeyboardInterrupt:
        typer.echo(f"\ninterrupted; the run's record is in {session.out_dir}", err=True)
        raise typer.Exit(130) from None
    view.print_summary(outcome, plain=plain, json_events=json_events)
    return outcome


def solve(
    issue: Annotated[str, typer.Argument(help="The issue: text, a file's path, - for stdin, or a GitHub issue URL.")],
    repo: Annotated[Path, typer.Option("--repo", help="The repository to work on.")] = Path("."),
    model: ModelArg = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,  # noqa: UP045
    mode: ModeArg = None,
    sandbox: SandboxArg = None,
    out: OutArg = None,
    plain: PlainArg = False,
    json_events: JsonArg = False,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the patch to your working tree at the end.")] = False,
    carry: Annotated[bool, typer.Option("--carry/--no-carry", help="Bring your uncommitted changes into the agent's worktree.")] = True,
    verify: Annotated[bool, typer.Option("--verify", help="Run the tests on the final revision if the agent did not.")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="A TOML config file.")] = None,  # noqa: UP045
    max_turns: Annotated[Optional[int], typer.Option("--max-turns", min=1)] = None,  # noqa: UP045
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Dollars.")] = None,  # noqa: UP045
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds for the whole run.")] = None,  # noqa: UP045
    no_speculate: NoSpeculateArg = False,
    no_memoize: NoMemoizeArg = False,
) -> None:
    """Solve an issue in a repository, on a branch of its own."""
    if not repo.is_dir():
        fail(f"--repo {repo} is not a directory", EXIT_USAGE)
    task = read_issue(issue)
    cfg = build_config(
        repo, config_file=config, model=model, api_base=api_base, mode=mode, sandbox=sandbox,
        out=out, apply=apply or None, carry_changes=carry, verify=verify or None, max_turns=max_turns,
        max_cost_usd=max_cost, timeout_s=timeout, **reuse_options(no_speculate, no_memoize),
    )
    outcome = run_session(task, repo.resolve(), cfg, plain=plain, json_events=json_events)
    raise typer.Exit(exit_code(outcome))


def demo(
    compare: Annotated[bool, typer.Option("--compare", help="Also run in sync mode and compare wall times.")] = False,
    mode: ModeArg = None,
    sandbox: Annotated[SandboxOpt, typer.Option("--sandbox", help="docker, local, or auto (docker when reachable).")] = SandboxOpt.auto,
    plain: PlainArg = False,
    json_events: JsonArg = False,
    out: OutArg = None,
) -> None:
    """Fix a bug in a bundled example repository with the scripted model (no API key)."""
    from ..examples import DEMO_ISSUE, DEMO_SCRIPT
    from . import demo as demo_mod

    task = DEMO_ISSUE.read_text(encoding="utf-8").strip()
    runs = [mode or ModeOpt.async_] + ([ModeOpt.sync] if compare else [])
    outcomes = []
    for run_mode in runs:
        repo = demo_mod.fresh_demo_repo()
        cfg = build_config(
            repo, model=f"scripted/{DEMO_SCRIPT}", mode=run_mode, sandbox=sandbox,
            out=(out / run_mode.value) if out and compare else out,
        )
        if compare:
            typer.echo(f"\n=== demo in {run_mode.value} mode ===", err=json_events)
        typer.echo(f"example repository: {repo}", err=json_events)
        outcomes.append(run_session(task, repo, cfg, plain=plain, json_events=json_events))
    if compare:
        demo_mod.print_comparison([m.value for m in runs], outcomes, err=json_events)
    raise typer.Exit(max(exit_code(o) for o in outcomes))
