"""``repl``: talk with the agent in a repository while its futures run.

The prompt never waits for the agent: a message starts a turn in the background, the
model's text and the futures are printed above the prompt as they come, and slash
commands answer at once. prompt_toolkit and the agent are imported inside the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .repl_format import (
    describe_interruption,
    describe_turn,
    event_style,
    idle_outcome,
    recap,
    styles,
)
from .solve import (
    EXIT_INFRA,
    EXIT_USAGE,
    ModeArg,
    ModelArg,
    ModeOpt,
    NoMemoizeArg,
    NoSpeculateArg,
    SandboxArg,
    build_config,
    fail,
    reuse_options,
)

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from ..agent.config import RunConfig
    from ..agent.events import Event
    from ..agent.interactive import Interactive, TurnReport
    from ..agent.resume import Saved
    from ..agent.session import RunOutcome



def repl(
    repo: Annotated[Path, typer.Option("--repo", help="The repository to work on.")] = Path("."),
    model: ModelArg = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,  # noqa: UP045
    mode: ModeArg = None,
    sandbox: SandboxArg = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last session of this repository.")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="A TOML config file.")] = None,  # noqa: UP045
    no_speculate: NoSpeculateArg = False,
    no_memoize: NoMemoizeArg = False,
) -> None:
    """Talk with the agent in a repository; it works on a branch of its own while you type."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("repl needs a terminal (use solve for a run without one)", EXIT_USAGE)
    if not repo.is_dir():
        fail(f"--repo {repo} is not a directory", EXIT_USAGE)
    from ..agent.resume import ResumeError, load_last

    saved = None
    if resume:
        try:
            saved = load_last(repo)
        except ResumeError as exc:
            fail(str(exc), EXIT_USAGE)
    if saved is not None:  # the earlier session's model and mode, unless given again
        model = model or saved.model
        mode = mode or ModeOpt(saved.mode)
    cfg = build_config(repo, config_file=config, model=model, api_base=api_base, mode=mode,
                       sandbox=sandbox, **reuse_options(no_speculate, no_memoize))
    raise typer.Exit(asyncio.run(Repl(repo.resolve(), cfg, saved).main()))


class Repl:
    """The prompt, its keys and signals; the screen prints, the commands answer."""

    def __init__(self, repo: Path, cfg: RunConfig, saved: Saved | None) -> None:
        from ..agent.interactive import Interactive
        from ..agent.resume import new_session
        from .repl_commands import Commands
        from .repl_screen import Screen

        self.repo = repo
        self.saved = saved
        self.screen = Screen()
        session = new_session(repo, cfg, saved=saved, subscribers=[self.on_event])
        self.inter: Interactive = Interactive(session, saved=saved, on_turn_end=self.on_turn_end)
        self.inter.waker.user_busy = self.typing
        self.edited_at = 0.0  # when the user last changed the line they type
        self.notified_at = -1e9
        self.armed = False  # the last key was Ctrl-C with nothing to stop
        self.cleared = False  # that Ctrl-C only cleared a typed line
        self.leave_reason: str | None = None
        self.foreground: asyncio.Future[Any] | None = None
        self.prompt: PromptSession[str] | None = None
        self.commands = Commands(self).table

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
                self.prompt = self.screen.prompt = self._make_prompt()
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
            self.edited_at = 0.0  # a line sent is no line being typed
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
        from ..agent.config import ConfigError
        from ..agent.interactive import NotNow
        from ..agent.model import ModelConfigError
        from ..agent.workarea import WorkAreaError

        try:
            return await self.commands[name][0](arg)
        except (NotNow, ModelConfigError, ConfigError) as exc:
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
        self.screen.say(text, style)

    def on_event(self, event: Event) -> None:
        """Events go to the screen; a result arriving while the session is idle gets a
        notice that says what happens to it, and rings the terminal if asked."""
        if event.kind != "future_resolved" or self.inter.session.agent is None or self.inter.busy:
            self.screen.on_event(event)
            return
        from ..agent.wake import failed

        data = event.to_dict()
        future = self.inter.executor.futures.get(data["future"])  # None: a speculative run
        waker = self.inter.waker
        if future is None or future.delivered or future not in waker.ready():
            self.screen.on_event(event)
            return
        self.screen.flush_text()
        line = self.screen.log.format(data) or data["future"]
        self.say(f"  {line} · {idle_outcome(waker, future)}", event_style(data))
        self.ring(f"{future.id} {future.tool} {'failed' if failed(future) else 'done'}",
                  idle_outcome(waker, future))
        self.screen.refresh()

    def ring(self, title: str, body: str) -> None:
        """The bell or a desktop notification (the ``notify`` setting); results that
        arrive together ring once."""
        from .notify import notification

        now = time.monotonic()
        text = notification(self.inter.session.config.repl.notify, f"asyncfc-agent: {title}", body)
        if not text or self.prompt is None or now - self.notified_at < 2.0:
            return
        self.notified_at = now
        self.prompt.app.output.write_raw(text)
        self.prompt.app.output.flush()

    def typing(self) -> bool:
        """The user is busy at the prompt: a line is being typed, was cleared a moment
        ago, or a command such as /await runs in its place."""
        if self.foreground is not None:
            return True
        if self.prompt is None:
            return False
        pause = self.inter.session.config.repl.typing_pause_s
        return bool(self.prompt.default_buffer.text) or time.monotonic() - self.edited_at < pause

    def on_turn_end(self, report: TurnReport) -> None:
        self.screen.flush_text()
        failed = report.reason in ("error", "model_error")
        self.say(describe_turn(report), "class:bad" if failed else "class:dim")

    # -- the prompt ------------------------------------------------------------------

    def _make_prompt(self) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        from ..agent.resume import history_file

        path = history_file(self.repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        session: PromptSession[str] = PromptSession(
            history=FileHistory(str(path)),
            key_bindings=self._keys(),
            bottom_toolbar=lambda: self.screen.toolbar(self.inter),
            refresh_interval=0.5,
            prompt_continuation=lambda width, _n, _soft: "." * (width - 1) + " ",
            style=styles(),
        )
        session.default_buffer.on_text_changed += self._edited
        return session

    def _edited(self, _buffer: object) -> None:
        self.edited_at = time.monotonic()

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

    async def in_foreground(self, work: Awaitable[Any]) -> bool:
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

