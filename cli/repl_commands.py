"""The REPL's slash commands. Each answers at once (``/await`` waits in place of the
prompt until Ctrl-C) and returns True when it asks to leave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .repl_format import diff_style, futures_table, tail

if TYPE_CHECKING:
    from ..agent.interactive import Interactive
    from .repl import Repl

#: Lines of a future's output that /output and /await show at most (the tail).
OUTPUT_LINES = 200
KEYS_HELP = """\
Enter sends. Esc-Enter (or a line ending in \\) starts a new line of the same message.
Up and Down walk the history of this repository. A message typed while the model works
is given to it at its next step. Ctrl-C stops the running turn and its futures; Ctrl-C
again at an idle prompt, Ctrl-D or /exit leaves (the branch is kept). Start a message
with // to send one that begins with /."""

Command = Callable[[str], Awaitable[bool]]


class Commands:
    def __init__(self, ui: Repl) -> None:
        self.ui = ui
        #: name -> (function, arguments, help)
        self.table: dict[str, tuple[Command, str, str]] = {
            "futures": (self.futures, "", "all futures: state, time, call"),
            "await": (self.await_, "[ids]", "wait for futures (all running) and show them"),
            "cancel": (self.cancel, "ID", "cancel a future"),
            "output": (self.output, "ID", "a future's output so far"),
            "diff": (self.diff, "", "the session's changes"),
            "undo": (self.undo, "", "revert the last turn's changes (its checkpoint)"),
            "model": (self.model, "[name]", "show or switch the model"),
            "mode": (self.mode, "[async|parallel|sync]", "show or switch how calls run"),
            "wake": (self.wake, "[auto|failures|off]", "show or set when results wake the model"),
            "cost": (self.cost, "", "tokens, cost, time and context so far"),
            "mcp": (self.mcp, "", "the MCP servers: running or left out (why), their tools"),
            "save": (self.save, "", "write the conversation (the trajectory is written all along)"),
            "help": (self.help, "", "this help"),
            "exit": (self.exit, "", "end the session (the branch is kept)"),
        }

    @property
    def inter(self) -> Interactive:
        return self.ui.inter

    def say(self, text: str, style: str = "") -> None:
        self.ui.say(text, style)

    async def help(self, _arg: str) -> bool:
        for name, (_fn, args, text) in self.table.items():
            self.say(f"  /{name} {args}".ljust(32) + text)
        self.say(KEYS_HELP, "class:dim")
        return False

    async def exit(self, _arg: str) -> bool:
        return True

    async def futures(self, _arg: str) -> bool:
        futures, lost = list(self.inter.executor.futures.values()), self.inter.lost()
        if not futures and not lost:
            self.say("no futures yet", "class:dim")
            return False
        for line in futures_table(futures, self.inter.session.bus.now(), lost):
            self.say(line)
        return False

    async def await_(self, arg: str) -> bool:
        ids = arg.replace(",", " ").split()
        targets = [self.inter.future(i) for i in ids] if ids else self.inter.running()
        if not targets:
            self.say("no future is running", "class:dim")
            return False
        self.say(f"waiting for {', '.join(f.id for f in targets)} "
                 "(Ctrl-C stops waiting; the futures go on)", "class:dim")
        if await self.ui.in_foreground(self.inter.await_futures([f.id for f in targets])):
            for f in targets:
                self.say(tail(f.message, OUTPUT_LINES))
        return False

    async def cancel(self, arg: str) -> bool:
        if not arg:
            self.say("usage: /cancel ID (see /futures)", "class:bad")
        elif self.inter.cancel(arg):
            self.say(f"cancelling {arg}", "class:dim")
        else:
            self.say(f"{arg} had already ended", "class:dim")
        return False

    async def output(self, arg: str) -> bool:
        if not arg:
            self.say("usage: /output ID (see /futures)", "class:bad")
            return False
        future, text = self.inter.future(arg), self.inter.output(arg)
        self.say(f"{future.id} {future.tool} ({future.state.value}), output"
                 f"{' so far' if not future.done.is_set() else ''}:", "class:dim")
        self.say(tail(text, OUTPUT_LINES) or "(no output)")
        return False

    async def diff(self, _arg: str) -> bool:
        patch = await self.inter.diff()
        if not patch.strip():
            self.say("no changes yet", "class:dim")
        for line in patch.splitlines():
            self.say(line, diff_style(line))
        return False

    async def undo(self, _arg: str) -> bool:
        undone = await self.inter.undo()
        if undone is None:
            self.say("nothing to undo: the branch is where the session started", "class:dim")
            return False
        what = undone.subject.removeprefix("asyncfc-agent: ") or "uncommitted changes"
        self.say(f"reverted {what} ({', '.join(undone.files) or 'no files'}); "
                 f"back at {undone.target[:12]}", "class:note")
        return False

    async def model(self, arg: str) -> bool:
        if arg:
            self.say(f"model: {self.inter.set_model(arg)} (from the next request)")
        else:
            self.say(f"model: {self.inter.session.model.config.model}")
        return False

    async def mode(self, arg: str) -> bool:
        if arg:
            mode = self.inter.set_mode(arg)
            later = " (from the next turn)" if self.inter.busy else ""
            self.say(f"mode: {mode.value}{later}")
        else:
            self.say(f"mode: {self.inter.mode.value}")
        return False

    async def wake(self, arg: str) -> bool:
        waker = self.inter.waker
        if arg:
            waker.set_policy(arg)
        paused = " (paused until you write: the model woke too often in a row)" if waker.paused else ""
        self.say(f"wake: {waker.policy.value}{paused}")
        return False

    async def cost(self, _arg: str) -> bool:
        from ..tools.text import plural

        u = self.inter.usage()
        self.say(f"tokens: {u.prompt_tokens} prompt, {u.completion_tokens} completion · "
                 f"cost ${u.cost_usd:.4f} · {plural(u.responses, 'model response')} "
                 f"({plural(u.requests, 'request')}), {u.model_s:.1f} s · "
                 f"{plural(u.futures, 'future')}, {u.tool_s:.1f} s of tool time"
                 + (f" · {plural(u.wakes, 'wake-up')}" if u.wakes else ""))
        self.say(f"context: {u.context_tokens:,} of {u.context_limit:,} tokens in the last "
                 f"request · {plural(u.compactions, 'compaction')} · prompt cache: "
                 f"{u.cache_read:,} tokens read, {u.cache_write:,} written")
        return False

    async def mcp(self, _arg: str) -> bool:
        from ..mcp_servers.manager import describe

        servers = self.inter.session.mcp
        if servers is None or not servers.connections:
            self.say("no MCP servers configured (.mcp.json, or [mcp_servers.NAME] in "
                     "asyncfc.toml or your config file)", "class:dim")
            return False
        tools = {c.name: servers.tools_of(c) for c in servers.connections.values()}
        for line in describe(servers.connections.values(), tools):
            self.say(line)
        return False

    async def save(self, _arg: str) -> bool:
        out = self.inter.save()
        self.say(f"saved {out / 'messages.json'} and {out / 'session.json'}; "
                 f"the trajectory is written as it happens to {out / 'trajectory.jsonl'}")
        return False
