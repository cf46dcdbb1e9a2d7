"""``ci``: the headless bot. Never prompts; a plain log on stdout, a one-line reason for every
failure on stderr, a JSON report, a Markdown step summary, exit codes, and a branch push.

Exit codes: 0 solved, 1 not solved, 2 usage or configuration error, 3 infrastructure error
(sandbox, model, GitHub or the git remote unreachable, after retries), 4 a limit was hit,
130 interrupted (SIGINT or SIGTERM, as a CI runner cancels a job).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from .solve import (
    EXIT_INFRA,
    EXIT_SOLVED,
    EXIT_USAGE,
    ModeArg,
    ModelArg,
    NoMemoizeArg,
    NoSpeculateArg,
    OutArg,
    SandboxArg,
    build_config,
    exit_code,
    fail,
    reuse_options,
)

if TYPE_CHECKING:
    from ..agent.config import RunConfig
    from ..agent.session import RunOutcome, Session
    from .ci_report import ModelCalls

EXIT_INTERRUPTED = 130
#: Attempts of a git command that talks to the remote; a network blip should not cost a run.
REMOTE_ATTEMPTS = 3


@dataclass(frozen=True)
class Task:
    text: str
    title: str
    source: str  # text, file, url, event
    number: int | None = None
    url: str | None = None

    def record(self) -> dict[str, Any]:
        """What the report says of the issue (its text is the report's ``task``)."""
        return {"title": self.title, "source": self.source, "number": self.number, "url": self.url}

    def slug(self) -> str:
        from ..agent.workarea import slugify

        if self.number is None:
            return slugify(self.text)
        return slugify(f"issue-{self.number}-{self.title}", limit=50)


def ci(
    issue: Annotated[Optional[str], typer.Option("--issue", help="The task as text.")] = None,  # noqa: UP045
    issue_file: Annotated[Optional[Path], typer.Option("--issue-file", help="A file holding the task.")] = None,  # noqa: UP045
    issue_url: Annotated[Optional[str], typer.Option("--issue-url", help="https://github.com/OWNER/REPO/issues/N")] = None,  # noqa: UP045
    event_path: Annotated[Optional[Path], typer.Option("--event-path", help="An issues or issue_comment event payload; default $GITHUB_EVENT_PATH.")] = None,  # noqa: UP045
    repo: Annotated[Path, typer.Option("--repo", help="The repository to work on.")] = Path("."),
    model: ModelArg = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,  # noqa: UP045
    mode: ModeArg = None,
    sandbox: SandboxArg = None,
    out: OutArg = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="A TOML config file.")] = None,  # noqa: UP045
    max_turns: Annotated[Optional[int], typer.Option("--max-turns", min=1)] = None,  # noqa: UP045
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Dollars.")] = None,  # noqa: UP045
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds for the whole run.")] = None,  # noqa: UP045
    json_out: Annotated[Optional[Path], typer.Option("--json-out", help="Where to write the JSON report (default: report.json in the run folder).")] = None,  # noqa: UP045
    push: Annotated[Optional[str], typer.Option("--push", help="Push the branch of a solved run to this git remote (a name, URL or path).")] = None,  # noqa: UP045
    github_api: Annotated[Optional[str], typer.Option("--github-api", help="GitHub API base URL (default: $GITHUB_API_URL or https://api.github.com).")] = None,  # noqa: UP045
    no_speculate: NoSpeculateArg = False,
    no_memoize: NoMemoizeArg = False,
) -> None:
    """Solve an issue headless, for CI: exit 0 only when the tests pass on the final revision."""
    task = load_task(issue, issue_file, issue_url, event_path, github_api)
    if not repo.is_dir():
        stop(f"--repo {repo} is not a directory", EXIT_USAGE)
    repo = repo.resolve()
    target = resolve_remote(repo, push) if push else None
    slug = free_slug(repo, target, task.slug()) if target else task.slug()
    cfg = build_config(
        repo, config_file=config, model=model, api_base=api_base, mode=mode, sandbox=sandbox,
        out=out, verify=True, carry_changes=False, branch_slug=slug, max_turns=max_turns,
        max_cost_usd=max_cost, timeout_s=timeout, **reuse_options(no_speculate, no_memoize),
    )
    outcome, by_bot = run(task.text, repo, cfg)
    code = EXIT_INTERRUPTED if outcome.exit_reason == "interrupted" else exit_code(outcome)
    pushed = None
    if target and code == EXIT_SOLVED and outcome.result.get("branch"):
        pushed = push_branch(repo, push or target, target, outcome.result["branch"])
        code = EXIT_SOLVED if pushed["pushed"] else EXIT_INFRA
    raise typer.Exit(publish(outcome, task, code, pushed, by_bot, json_out))


def stop(message: str, code: int) -> NoReturn:
    """``fail``, typed as the exit it is."""
    fail(message, code)
    raise AssertionError("fail() returned")


# -- the task ------------------------------------------------------------------------------


def load_task(
    issue: str | None, issue_file: Path | None, issue_url: str | None, event_path: Path | None,
    github_api: str | None,
) -> Task:
    """The one task given; with none, the event payload of ``$GITHUB_EVENT_PATH``."""
    from ..agent import github

    given = {"--issue": issue, "--issue-file": issue_file, "--issue-url": issue_url,
             "--event-path": event_path}
    named = [k for k, v in given.items() if v is not None]
    if len(named) > 1:
        stop(f"give one task, not {' and '.join(named)}", EXIT_USAGE)
    try:
        if issue_url is not None:
            return issue_task(github.fetch_issue(issue_url, api_base=github_api), "url")
        if issue is not None:
            return text_task(issue, "text")
        if issue_file is not None:
            return text_task(read_text(issue_file), "file")
        path = event_path or os.environ.get("GITHUB_EVENT_PATH")
        if not path:
            stop("no task: give --issue, --issue-file, --issue-url or --event-path "
                 "(GITHUB_EVENT_PATH is not set)", EXIT_USAGE)
        return issue_task(github.issue_from_event(Path(path)), "event")
    except github.GitHubError as exc:
        stop(str(exc), EXIT_INFRA if exc.transient else EXIT_USAGE)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        stop(f"cannot read --issue-file {path}: {exc}", EXIT_USAGE)


def text_task(text: str, source: str) -> Task:
    if not text.strip():
        stop(f"the task ({source}) is empty", EXIT_USAGE)
    title = next(line for line in text.strip().splitlines() if line.strip())
    return Task(text.strip(), title.strip(), source)


def issue_task(issue: Any, source: str) -> Task:
    return Task(issue.text, issue.title, source, issue.number, issue.url)


# -- the git remote ------------------------------------------------------------------------


def resolve_remote(repo: Path, remote: str) -> str:
    """What ``git push`` is given: a remote of the repository, a URL, or an absolute path.
    Checked before the run, so that a typo does not cost a whole run."""
    from ..agent import hostgit

    root = hostgit.repo_root(repo)
    if root is None:
        stop(f"--push needs a git repository with a commit; {repo} is not one", EXIT_USAGE)
    names = hostgit.for_repo(root).text("remote").split()
    if remote in names or "://" in remote or _scp_like(remote):
        return remote
    path = Path(remote).expanduser()
    if path.exists():
        return str(path.resolve())
    known = f" (its remotes: {', '.join(names)})" if names else " (it has no remotes)"
    stop(f"--push {remote}: not a remote of {repo}{known}, a URL or a path", EXIT_USAGE)


def _scp_like(remote: str) -> bool:
    # git's "host:path" form: a colon before any slash
    return re.match(r"^[^/:]+:", remote) is not None


def free_slug(repo: Path, target: str, slug: str) -> str:
    """A branch name the remote does not have yet: a re-run never overwrites an earlier one."""
    heads = remote_git(repo, "ls-remote", "--heads", target)
    taken = {line.split("refs/heads/", 1)[-1] for line in heads.splitlines()}
    name, n = slug, 1
    while f"asyncfc/{name}" in taken:
        n += 1
        name = f"{slug}-{n}"
    return name


def push_branch(repo: Path, remote: str, target: str, branch: str) -> dict[str, Any]:
    record: dict[str, Any] = {"remote": remote, "branch": branch, "pushed": True, "detail": ""}
    try:
        remote_git(repo, "push", "--quiet", target, f"refs/heads/{branch}:refs/heads/{branch}",
                   exit_on_error=False)
    except RuntimeError as exc:
        record.update(pushed=False, detail=str(exc))
    return record


def remote_git(repo: Path, *args: str, exit_on_error: bool = True) -> str:
    """A git command that talks to the remote, retried with a growing pause."""
    from ..agent.hostgit import WorkAreaError, for_repo, repo_root

    error = ""
    for attempt in range(REMOTE_ATTEMPTS):
        try:
            return for_repo(repo_root(repo) or repo).text(*args)
        except WorkAreaError as exc:
            error = " ".join(str(exc).split())
        if attempt + 1 < REMOTE_ATTEMPTS:
            time.sleep(2**attempt)
    message = f"{error} (after {REMOTE_ATTEMPTS} attempts)"
    if exit_on_error:
        stop(message, EXIT_INFRA)
    raise RuntimeError(message)


# -- the run -------------------------------------------------------------------------------


def run(task: str, repo: Path, cfg: RunConfig) -> tuple[RunOutcome, set[str]]:
    """Run the session with the plain log; whatever ends it, the outcome comes from its record."""
    import asyncio

    from ..agent.session import Session
    from .ci_report import ModelCalls
    from .plain import PlainLog
    from .signals import terminate_as_interrupt

    calls = ModelCalls()
    session = Session(task, repo, cfg, subscribers=[PlainLog(), calls])
    try:
        with terminate_as_interrupt():
            outcome = asyncio.run(session.run())
    except KeyboardInterrupt:
        outcome = recorded(session, "interrupted", "interrupted")
    except Exception as exc:  # a crash still leaves a record, and the bot still reports
        outcome = recorded(session, "error", f"{type(exc).__name__}: {exc}")
    return outcome, bot_futures(session, calls)


def recorded(session: Session, reason: str, error: str) -> RunOutcome:
    from ..agent.session import RunOutcome

    path = session.out_dir / "result.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = {"status": "error", "exit_reason": reason, "error": error}
    return RunOutcome(result.get("status", "error"), result.get("exit_reason", reason),
                      session.out_dir, result)


def bot_futures(session: Session, calls: ModelCalls) -> set[str]:
    futures = session.executor.futures.values() if session.executor is not None else ()
    return {f.id for f in futures if f.call_id not in calls.ids}


# -- the report ----------------------------------------------------------------------------


def publish(outcome: RunOutcome, task: Task, code: int, pushed: dict[str, Any] | None,
            bot: set[str], json_out: Path | None) -> int:
    """Write the JSON report, the summary and the step outputs; print the reason. The code."""
    from . import ci_report
    from .sanitize import sanitize_line

    reason = ci_report.reason_line(outcome.result, code)
    if pushed and not pushed["pushed"]:
        reason = f"solved, but the push failed: {pushed['detail']}"
    rep = ci_report.report(outcome.result, code=code, reason=reason, task=task.record(),
                           push=pushed, bot_futures=bot)
    json_path = (json_out or outcome.out_dir / "report.json").resolve()
    summary_path = outcome.out_dir / "summary.md"
    summary = ci_report.markdown(rep)
    try:
        ci_report.write_json(json_path, rep)
        summary_path.write_text(summary, encoding="utf-8")
        if step_summary := os.environ.get("GITHUB_STEP_SUMMARY"):
            ci_report.append(Path(step_summary), summary)
        if step_output := os.environ.get("GITHUB_OUTPUT"):
            ci_report.append(Path(step_output), ci_report.step_outputs(rep, json_path, summary_path))
    except OSError as exc:
        stop(f"cannot write the report: {exc}", EXIT_USAGE)
    typer.echo(f"report:   {json_path}")
    if pushed and pushed["pushed"]:
        typer.echo(f"pushed:   {pushed['branch']} to {pushed['remote']}")
    shown = sanitize_line(reason)  # the error of a run can quote a command's output
    typer.echo(shown if code == EXIT_SOLVED else f"error: {shown}", err=code != EXIT_SOLVED)
    return code
