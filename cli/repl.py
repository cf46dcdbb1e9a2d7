"""``repl``: talk with the agent in a repository while its futures run.

The prompt never waits for the agent: a message starts a turn in the background, the
model's text and the futures are printed above the prompt as they come, and slash
commands answer at once. prompt_toolkit and the agent are imported inside the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .solve import (
    EXIT_INFRA,
    EXIT_USAGE,
    ModeArg,
    ModelArg,
    ModeOpt,
    SandboxArg,
    build_config,
    fail,
)

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from ..agent.config import RunConfig
    from ..agent.events import Event
    from ..agent.futures import Future
    from ..agent.interactive import Interactive, Interruption, Saved, TurnReport
    from ..agent.session import RunOutcome

#: Lines of a future's output that /output and /await show at most (the tail).
OUTPUT_LINES = 200
#: Event kinds that get a line of their own (formatted as in the plain log).
SHOWN = frozenset({"future_created", "future_resolved", "call_closed", "workspace_edited",
                   "model_retry", "notice"})
STYLES = {
    "dim": "#888888",
    "future": "ansicyan",
    "ok": "ansigreen",
    "bad": "ansired",
    "note": "ansiyellow",
    "added": "ansigreen",
    "removed": "ansired",
    "hunk": "ansicyan",
}
KEYS_HELP = """\
Enter sends. Esc-Enter (or a line ending in \\) starts a new line of the same message.
Up and Down walk the history of this repository. A message typed while the model works
is given to it at its next step. Ctrl-C stops the running turn and its futures; Ctrl-C
again at an idle prompt, Ctrl-D or /exit leaves (the branch is kept). Start a message
with // to send one that begins with /."""


def repl(
    repo: Annotated[Path, typer.Option("--repo", help="The repository to work on.")] = Path("."),
    model: ModelArg = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,  # noqa: UP045
    mode: ModeArg = None,
    sandbox: SandboxArg = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last session of this repository.")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="A TOML config file.")] = None,  # noqa: UP045
) -> None:
    """Talk with the agent in a repository; it works on a branch of its own while you type."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("repl needs a terminal (use solve for a run without one)", EXIT_USAGE)
    if not repo.is_dir():
        fail(f"--repo {repo} is not a directory", EXIT_USAGE)
    from ..agent import interactive

    saved = None
    if resume:
        try:
            saved = interactive.load_last(repo)
        except interactive.ResumeError as exc:
            fail(str(exc), EXIT_USAGE)
    if saved is not None:  # the earlier session's model and mode, unless given again
        model = model or saved.model
        mode = mode or ModeOpt(saved.mode)
    cfg = build_config(repo, config_file=config, model=model, api_base=api_base, mode=mode,
                       sandbox=sandbox)
    raise typer.Exit(asyncio.run(Repl(repo.resolve(), cfg, saved).main()))


class Repl:
    """The prompt, the printing of events, and the slash commands."""

    def __init__(self, repo: Path, cfg: RunConfig, saved: Saved | None) -> None:
        from ..agent.interactive import Interactive, new_session
        from .plain import PlainLog

        self.repo = repo
        self.saved = saved
        session = new_session(repo, cfg, saved=saved, subscribers=[self.on_event])
        self.inter: Interactive = Interactive(session, saved=saved, on_turn_end=self.on_turn_end)
        self.log = PlainLog()
        self.partial = ""  # the model's text of the line it is writing
        self.armed = False  # the last key was Ctrl-C with nothing to stop
        self.cleared = False  # that Ctrl-C only cleared a typed line
        self.leave_reason: str | None = None
        self.foreground: asyncio.Future[Any] | None = None
        self.prompt: PromptSession[str] | None = None
        self.commands: dict[str, tuple[Callable[[str], Awaitable[bool]], str, str]] = {
            "futures": (self.cmd_futures, "", "all futures: state, time, call"),
            "await": (self.cmd_await, "[ids]", "wait for futures (all running) and show them"),
            "cancel": (self.cmd_cancel, "ID", "cancel a future"),
            "output": (self.cmd_output, "ID", "a future's output so far"),
            "diff": (self.cmd_diff, "", "the session's changes"),
            "undo": (self.cmd_undo, "", "revert the last turn's changes (its checkpoint)"),
            "model": (self.cmd_model, "[name]", "show or switch the model"),
            "mode": (self.cmd_mode, "[async|parallel|sync]", "show or switch how calls run"),
            "cost": (self.cmd_cost, "", "tokens, cost and time so far"),
            "save": (self.cmd_save, "", "write the conversation (the trajectory is written all along)"),
            "help": (self.cmd_help, "", "this help"),
            "exit": (self.cmd_exit, "", "end the session (the branch is kept)"),
        }

    # -- the session from start to end -----------------------------------------------

    async def main(self) -> int:
        from prompt_toolkit.patch_stdout import patch_stdout

        from ..agent.model import ModelConfigError, ModelError
        from ..agent.workarea import WorkAreaError
        from ..sandboxes.base import SandboxError

        code, reason = 0, "user_exit"
        with patch_stdout(raw=True), self._signals():
            try:
                await self.inter.open()
                self.prompt = self._make_prompt()
                self.banner()
                reason = await self.read_loop()
            except (ModelConfigError, WorkAreaError) as exc:
                self.say(f"error: {exc}", "class:bad")
                code, reason = EXIT_USAGE, "error"
            except (ModelError, SandboxError) as exc:
                self.say(f"error: {exc}", "class:bad")
                code, reason = EXIT_INFRA, "error"
            finally:
                outcome = await asyncio.shield(self.inter.close(reason))
        self.goodbye(outcome)
        return code

    async def read_loop(self) -> str:
        """Read and act on lines until the user leaves; the reason for leaving."""
        assert self.prompt is not None
        while self.leave_reason is None:
            try:
                text = await self.prompt.prompt_async("> ", handle_sigint=False)
            except KeyboardInterrupt:
                if self.ctrl_c():
                    return "interrupted"
                continue
            except EOFError:
                break
            self.armed = False
            if await self.handle(text):
                break
        return self.leave_reason or "user_exit"

    async def handle(self, text: str) -> bool:
        """Act on one line; True when it asks to leave."""
        if not text.strip():
            return False
        if text.startswith("/") and not text.startswith("//"):
            name, _, arg = text[1:].strip().partition(" ")
            if name not in self.commands:
                names = ", ".join(f"/{n}" for n in self.commands)
                self.say(f"unknown command /{name}; the commands are: {names}", "class:bad")
                return False
            return await self.command(name, arg.strip())
        if not self.inter.send(text.removeprefix("/")):
            self.say("(the model is working: it gets this at its next step)", "class:dim")
        return False

    async def command(self, name: str, arg: str) -> bool:
        """Run a slash command; what cannot be done now is said, and the session goes on."""
        from ..agent.interactive import NotNow
        from ..agent.model import ModelConfigError
        from ..agent.workarea import WorkAreaError

        try:
            return await self.commands[name][0](arg)
        except (NotNow, ModelConfigError) as exc:
            self.say(str(exc), "class:bad")
        except WorkAreaError as exc:
            self.say(f"/{name} failed: {exc}", "class:bad")
        return False

    def ctrl_c(self) -> bool:
        """Stop what runs; with nothing to stop, a second Ctrl-C in a row leaves."""
        if self.inter.busy or self.inter.running():
            self.say(describe_interruption(self.inter.interrupt()), "class:note")
            self.armed = True
            return False
        if self.cleared:
            self.armed = False
            return False
        if self.armed:
            return True
        self.armed = True
        self.say("(nothing runs: Ctrl-C again or Ctrl-D to leave)", "class:dim")
        return False

    def banner(self) -> None:
        area, cfg = self.inter.area, self.inter.session.config
        self.say(f"asyncfc-agent on {area.source} · branch {area.branch or '(a copy)'} · "
                 f"model {cfg.model.model} · mode {self.inter.mode.value} · sandbox "
                 f"{self.inter.session.sandbox.kind if self.inter.session.sandbox else '?'}")
        if self.saved is not None:
            from ..tools.text import plural

            turns = plural(self.saved.user_turns, "turn")
            self.say(f"resumed session {self.saved.run_id} ({turns}):", "class:note")
            for role, text in recap(self.saved.messages):
                self.say(f"  {role}: {text}", "class:dim")
        self.say("Type a message, or /help. Esc-Enter adds a line; Ctrl-C stops; Ctrl-D leaves.",
                 "class:dim")

    def goodbye(self, outcome: RunOutcome) -> None:
        result = outcome.result
        if result.get("branch"):
            self.say(f"session ended: branch {result['branch']} at {str(result['commit'])[:12]} "
                     f"(your tree is untouched) · record in {outcome.out_dir}")
            self.say("continue it with: asyncfc-agent repl --resume", "class:dim")
        else:
            self.say(f"session ended without changes · record in {outcome.out_dir}")

    # -- printing --------------------------------------------------------------------

    def say(self, text: str, style: str = "") -> None:
        """A line above the prompt (prompt_toolkit redraws the prompt below it)."""
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText

        print_formatted_text(FormattedText([(style, text)]), style=styles())

    def on_event(self, event: Event) -> None:
        from ..agent.events import TextDelta

        if isinstance(event, TextDelta):
            self.stream(event.text)
        elif event.kind == "response_done":
            self.flush_text()
        elif event.kind in SHOWN:
            data = event.to_dict()
            line = self.log.format(data)
            if line is not None:
                self.flush_text()  # the text came first: keep the order on the screen
                self.say(f"  {line}", event_style(data))
        if self.prompt is not None:
            self.prompt.app.invalidate()  # the toolbar shows the futures and the text

    def stream(self, text: str) -> None:
        """Print the model's text line by line; the line being written is in the toolbar."""
        *done, self.partial = (self.partial + text).split("\n")
        for line in done:
            self.say(line)
        width = max(20, self.columns() - 2)
        while len(self.partial) > width:
            cut = self.partial.rfind(" ", 0, width)
            cut = cut if cut > 0 else width
            self.say(self.partial[:cut])
            self.partial = self.partial[cut:].lstrip(" ")

    def flush_text(self) -> None:
        if self.partial.strip():
            self.say(self.partial)
        self.partial = ""

    def columns(self) -> int:
        if self.prompt is not None:
            return int(self.prompt.app.output.get_size().columns)
        return 80

    def on_turn_end(self, report: TurnReport) -> None:
        self.flush_text()
        failed = report.reason in ("error", "model_error")
        self.say(describe_turn(report), "class:bad" if failed else "class:dim")

    def toolbar(self) -> list[tuple[str, str]]:
        now = self.inter.session.bus.now()
        parts = []
        if self.inter.busy:
            tail = self.partial[-60:]
            parts.append(f"turn {self.inter.user_turns}: " + (f"... {tail}" if tail else "working"))
        running = self.inter.running()
        if running:
            parts.append(", ".join(f"{f.id} {f.tool} {f.duration_s(now):.0f}s" for f in running))
        status = " | ".join(parts) or "idle"
        return [("", f" {status} "), ("class:dim", "   /help · Esc-Enter: new line")]

    # -- the prompt ------------------------------------------------------------------

    def _make_prompt(self) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        from ..agent.interactive import history_file

        path = history_file(self.repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        return PromptSession(
            history=FileHistory(str(path)),
            key_bindings=self._keys(),
            bottom_toolbar=self.toolbar,
            refresh_interval=0.5,
            prompt_continuation=lambda width, _n, _soft: "." * (width - 1) + " ",
            style=styles(),
        )

    def _keys(self) -> Any:
        from prompt_toolkit.enums import DEFAULT_BUFFER
        from prompt_toolkit.filters import has_focus
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

        keys = KeyBindings()

        @keys.add("escape", "enter", filter=has_focus(DEFAULT_BUFFER))
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        @keys.add("enter", filter=has_focus(DEFAULT_BUFFER))
        def _enter(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            if buffer.document.is_cursor_at_the_end and buffer.text.endswith("\\"):
                buffer.delete_before_cursor(1)
                buffer.insert_text("\n")
            else:
                buffer.validate_and_handle()

        @keys.add("c-c")
        def _interrupt(event: KeyPressEvent) -> None:
            self.cleared = bool(event.current_buffer.text)
            event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        return keys

    @contextlib.contextmanager
    def _signals(self) -> Any:
        """SIGINT outside the prompt (the prompt reads Ctrl-C as a key) stops a wait or
        the work; SIGTERM and SIGHUP (a closed terminal) end the session cleanly."""
        loop = asyncio.get_running_loop()
        handlers: dict[int, Callable[[], None]] = {
            signal.SIGINT: self._on_sigint,
            signal.SIGTERM: lambda: self.leave("terminated"),
            signal.SIGHUP: lambda: self.leave("terminated"),
        }
        for sig, fn in handlers.items():
            loop.add_signal_handler(sig, fn)
        try:
            yield
        finally:
            for sig in handlers:
                loop.remove_signal_handler(sig)

    def _on_sigint(self) -> None:
        if self.foreground is not None and not self.foreground.done():
            self.foreground.cancel()
        elif self.inter.session.agent is not None and (self.inter.busy or self.inter.running()):
            self.say(describe_interruption(self.inter.interrupt()), "class:note")

    def leave(self, reason: str) -> None:
        self.leave_reason = reason
        if self.foreground is not None:
            self.foreground.cancel()
        if self.prompt is not None and self.prompt.app.is_running:
            self.prompt.app.exit(exception=EOFError)

    # -- slash commands (each returns True to leave) ---------------------------------

    async def cmd_help(self, _arg: str) -> bool:
        for name, (_fn, args, text) in self.commands.items():
            self.say(f"  /{name} {args}".ljust(32) + text)
        self.say(KEYS_HELP, "class:dim")
        return False

    async def cmd_exit(self, _arg: str) -> bool:
        return True

    async def cmd_futures(self, _arg: str) -> bool:
        futures = list(self.inter.executor.futures.values())
        if not futures:
            self.say("no futures yet", "class:dim")
        for line in futures_table(futures, self.inter.session.bus.now()):
            self.say(line)
        return False

    async def cmd_await(self, arg: str) -> bool:
        ids = arg.replace(",", " ").split()
        targets = [self.inter.future(i) for i in ids] if ids else self.inter.running()
        if not targets:
            self.say("no future is running", "class:dim")
            return False
        self.say(f"waiting for {', '.join(f.id for f in targets)} "
                 "(Ctrl-C stops waiting; the futures go on)", "class:dim")
        if await self._in_foreground(self.inter.await_futures([f.id for f in targets])):
            for f in targets:
                self.say(tail(f.message, OUTPUT_LINES))
        return False

    async def _in_foreground(self, work: Awaitable[Any]) -> bool:
        """Run ``work`` in place of the prompt until it ends or Ctrl-C; False if stopped."""
        self.foreground = asyncio.ensure_future(work)
        try:
            await self.foreground
            return True
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the REPL itself is being cancelled
            self.say("stopped waiting", "class:dim")
            return False
        finally:
            self.foreground = None

    async def cmd_cancel(self, arg: str) -> bool:
        if not arg:
            self.say("usage: /cancel ID (see /futures)", "class:bad")
        elif self.inter.cancel(arg):
            self.say(f"cancelling {arg}", "class:dim")
        else:
            self.say(f"{arg} had already ended", "class:dim")
        return False

    async def cmd_output(self, arg: str) -> bool:
        if not arg:
            self.say("usage: /output ID (see /futures)", "class:bad")
            return False
        future, text = self.inter.future(arg), self.inter.output(arg)
        self.say(f"{future.id} {future.tool} ({future.state.value}), output"
                 f"{' so far' if not future.done.is_set() else ''}:", "class:dim")
        self.say(tail(text, OUTPUT_LINES) or "(no output)")
        return False

    async def cmd_diff(self, _arg: str) -> bool:
        patch = await self.inter.diff()
        if not patch.strip():
            self.say("no changes yet", "class:dim")
        for line in patch.splitlines():
            self.say(line, diff_style(line))
        return False

    async def cmd_undo(self, _arg: str) -> bool:
        undone = await self.inter.undo()
        if undone is None:
            self.say("nothing to undo: the branch is where the session started", "class:dim")
            return False
        what = undone.subject.removeprefix("asyncfc-agent: ") or "uncommitted changes"
        self.say(f"reverted {what} ({', '.join(undone.files) or 'no files'}); "
                 f"back at {undone.target[:12]}", "class:note")
        return False

    async def cmd_model(self, arg: str) -> bool:
        if arg:
            self.say(f"model: {self.inter.set_model(arg)} (from the next request)")
        else:
            self.say(f"model: {self.inter.session.model.config.model}")
        return False

    async def cmd_mode(self, arg: str) -> bool:
        if arg:
            mode = self.inter.set_mode(arg)
            later = " (from the next turn)" if self.inter.busy else ""
            self.say(f"mode: {mode.value}{later}")
        else:
            self.say(f"mode: {self.inter.mode.value}")
        return False

    async def cmd_cost(self, _arg: str) -> bool:
        from ..tools.text import plural

        u = self.inter.usage()
        self.say(f"tokens: {u.prompt_tokens} prompt, {u.completion_tokens} completion · "
                 f"cost ${u.cost_usd:.4f} · {plural(u.responses, 'model response')} "
                 f"({plural(u.requests, 'request')}), {u.model_s:.1f} s · "
                 f"{plural(u.futures, 'future')}, {u.tool_s:.1f} s of tool time")
        return False

    async def cmd_save(self, _arg: str) -> bool:
        out = self.inter.save()
        self.say(f"saved {out / 'messages.json'} and {out / 'session.json'}; "
                 f"the trajectory is written as it happens to {out / 'trajectory.jsonl'}")
        return False


# -- formatting ---------------------------------------------------------------------------


@functools.cache
def styles() -> Any:
    from prompt_toolkit.styles import Style

    return Style.from_dict(STYLES)


def describe_interruption(stop: Interruption) -> str:
    parts = ["stopped the turn"] if stop.turn else []
    if stop.futures:
        parts.append(f"cancelled {', '.join(stop.futures)}")
    if stop.dropped:
        parts.append(f"dropped {stop.dropped} queued message(s)")
    return "; ".join(parts) or "nothing to stop"


def describe_turn(report: TurnReport) -> str:
    """The line that closes a turn (an empty answer would otherwise leave no trace)."""
    if report.reason == "cancelled":
        return f"-- turn {report.number} cancelled"
    if report.reason in ("error", "model_error"):
        return f"-- turn {report.number} failed: {report.detail}"
    if report.reason != "submitted":
        return f"-- turn {report.number} stopped: {report.detail}"
    parts = [f"-- turn {report.number} done"]
    if report.checkpoint:
        parts.append(f"checkpoint {report.checkpoint[:7]}")
    if report.running:
        parts.append(f"{', '.join(report.running)} still running: its result goes to the "
                     "model with your next message")
    return " · ".join(parts)


def event_style(data: dict[str, Any]) -> str:
    kind = data["kind"]
    if kind == "future_resolved":
        ok = data["status"] == "resolved" and data["exit_code"] in (0, None)
        return "class:ok" if ok else "class:bad"
    if kind == "notice":
        return "class:bad" if data["level"] == "error" else "class:note"
    if kind == "call_closed":
        return "class:bad"
    return "class:future"


def futures_table(futures: list[Future], now: float) -> list[str]:
    from .plain import short_args

    rows = [("id", "tool", "state", "time", "model", "call")]
    for f in futures:
        rows.append((f.id, f.tool, f.state.value, f"{f.duration_s(now):.1f} s",
                     "seen" if f.delivered else "-", short_args(f.args, 50)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
            for r in rows]


def diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "class:added"
    if line.startswith("-"):
        return "class:removed"
    return "class:hunk" if line.startswith("@@") else ""


def tail(text: str, lines: int) -> str:
    parts = text.rstrip("\n").split("\n")
    if len(parts) <= lines:
        return "\n".join(parts)
    return f"({len(parts) - lines} earlier lines not shown)\n" + "\n".join(parts[-lines:])


def recap(messages: list[dict[str, Any]], exchanges: int = 3) -> list[tuple[str, str]]:
    """The last user messages and answers of a conversation, one short line each."""
    lines: list[tuple[str, str]] = []
    for m in messages:
        text = m.get("content")
        if m.get("role") not in ("user", "assistant") or not isinstance(text, str) or not text.strip():
            continue
        short = " ".join(text.split())
        lines.append(("you" if m["role"] == "user" else "agent",
                      short if len(short) <= 100 else short[:97] + "..."))
    # the last ``exchanges`` messages of the user, and what followed each
    starts = [i for i, (role, _t) in enumerate(lines) if role == "you"]
    return lines[starts[-exchanges]:] if len(starts) >= exchanges else lines
