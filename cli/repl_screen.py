"""The REPL's screen: lines printed above the prompt, the model's text as it streams, and
the toolbar under the prompt. Every line the REPL prints goes through ``say``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .plain import PlainLog
from .repl_format import event_style, styles, tests_note, waiting_line
from .sanitize import sanitize, sanitize_line

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from ..agent.events import Event
    from ..agent.interactive import Interactive

#: Event kinds that get a line of their own (formatted as in the plain log).
SHOWN = frozenset({"future_created", "future_resolved", "call_closed", "workspace_edited",
                   "model_retry", "notice", "future_progress"})


class Screen:
    def __init__(self) -> None:
        self.log = PlainLog()
        self.partial = ""  # the model's text of the line it is writing
        self.prompt: PromptSession[str] | None = None

    def say(self, text: str, style: str = "") -> None:
        """A line above the prompt (prompt_toolkit redraws the prompt below it).

        Output, the model's text and file names pass here: prompt_toolkit would write
        their control characters (C1, CR, BEL) to the terminal as they are."""
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText

        print_formatted_text(FormattedText([(style, sanitize(text))]), style=styles())

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
        self.refresh()

    def refresh(self) -> None:
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

    def toolbar(self, inter: Interactive) -> list[tuple[str, str]]:
        now = inter.session.bus.now()
        parts = []
        if inter.busy:
            tail = sanitize_line(self.partial[-60:])
            name = "wake-up" if inter.waking else f"turn {inter.user_turns}"
            parts.append(f"{name}: " + (f"... {tail}" if tail else "working"))
        running = inter.running()
        waiting = "" if inter.busy else waiting_line(inter.waker, now)
        if waiting:
            parts.append(waiting)
        elif running:
            parts.append(", ".join(f"{f.id} {f.tool} {f.duration_s(now):.0f}s{tests_note(f)}"
                                   for f in running))
        status = " | ".join(parts) or "idle"
        return [("", f" {status} "), ("class:dim", "   /help · Esc-Enter: new line")]
