"""Reading a test run's output as it streams: lines to parsers, the rest to the viewer.

The output arrives in chunks cut anywhere. ``OutcomeStream`` splits it into lines, gives
each line to the parsers of the formats the command may print, and passes on what a
person should see: machine lines (JSON records) are taken out or turned into text. The
start of an unfinished line is passed on at once unless it may begin a machine line, so
a line of progress dots still shows as it grows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

from .model import Outcomes

#: Characters of an unfinished line held at most: past them it is read as a line.
MAX_LINE = 65_536


class Parser(ABC):
    """Reads one output format. ``feed`` gets each line with its newline (the last one
    may have none) and returns what of it should be shown."""

    format: ClassVar[str]

    def __init__(self) -> None:
        self.outcomes = Outcomes(self.format)

    @abstractmethod
    def feed(self, line: str) -> str:
        """Fold ``line`` into ``outcomes``; the text to show in its place."""

    def hold(self, partial: str) -> int:
        """Where, in an unfinished line, text may begin that ``feed`` would not show as it
        is (``len(partial)``: nowhere)."""
        return len(partial)

    def finish(self) -> None:
        """The output has ended."""
        return None

    @property
    def recognised(self) -> bool:
        """Whether the output looked like this format (a result, a count or a total)."""
        return self.outcomes.version > 0


class OutcomeStream:
    """Feed it a command's output; it keeps ``outcomes`` and passes the shown text on.

    Several parsers may listen (a ``make test`` could run anything): the first one that
    recognises its format takes the stream, and the others stop reading.
    """

    def __init__(
        self,
        parsers: Sequence[Parser],
        *,
        show: Callable[[str], None] = lambda _text: None,
        changed: Callable[[Outcomes], None] = lambda _outcomes: None,
        keep: int = 0,
    ) -> None:
        self.parsers = list(parsers)
        self._show = show
        self._changed = changed
        self._partial = ""
        self._shown = 0  # characters of the unfinished line already shown
        self._version = -1
        self._keep = keep  # characters of the end of the shown text kept (for the result)
        self._kept: list[str] = []
        self._kept_chars = 0
        self.dropped = 0  # characters shown but no longer kept

    @property
    def outcomes(self) -> Outcomes | None:
        """What the parser that took the stream has read (None before one did)."""
        owner = self._owner()
        return owner.outcomes if owner is not None else None

    def _owner(self) -> Parser | None:
        for p in self.parsers:
            if p.recognised:
                return p
        return None

    def feed(self, text: str) -> None:
        self._partial += text
        out: list[str] = []
        while True:
            nl = self._partial.find("\n")
            if nl == -1 and len(self._partial) < MAX_LINE:
                break
            end = nl + 1 if nl != -1 else len(self._partial)
            line, self._partial = self._partial[:end], self._partial[end:]
            out.append(self._line(line))
        if self._partial:
            hold = min(p.hold(self._partial) for p in self._listening())
            if hold > self._shown:
                out.append(self._partial[self._shown : hold])
                self._shown = hold
        self._pass_on("".join(out))

    def close(self) -> Outcomes | None:
        """The output has ended: read what is left; the outcomes, if any format was seen."""
        if self._partial:
            line, self._partial = self._partial, ""
            self._pass_on(self._line(line))
        for p in self._listening():
            p.finish()
        self._report()
        return self.outcomes

    def _listening(self) -> list[Parser]:
        owner = self._owner()
        return [owner] if owner is not None else self.parsers

    def _line(self, line: str) -> str:
        shown = line
        for p in self._listening():
            text = p.feed(line)
            if text != line:
                shown = text
        done, self._shown = self._shown, 0
        # what was shown of it already was shown as it is: a line that starts that way
        # is one no parser changes (see ``Parser.hold``)
        return shown[done:] if shown.startswith(line[:done]) else shown

    def _pass_on(self, text: str) -> None:
        if text:
            if self._keep:
                self._hold(text)
            self._show(text)
        self._report()

    def _hold(self, text: str) -> None:
        self._kept.append(text)
        self._kept_chars += len(text)
        if self._kept_chars > 2 * self._keep and len(self._kept) > 1:
            tail = "".join(self._kept)[-self._keep :]
            self.dropped += self._kept_chars - len(tail)
            self._kept, self._kept_chars = [tail], len(tail)

    def shown_text(self) -> str:
        """The end of what was shown (``keep`` characters at least, when there were as many)."""
        return "".join(self._kept)

    def _report(self) -> None:
        outcomes = self.outcomes
        if outcomes is not None and outcomes.version != self._version:
            self._version = outcomes.version
            self._changed(outcomes.copy())


def replay(parsers: Sequence[Parser], output: str) -> tuple[str, Outcomes | None]:
    """The shown text of a whole output, and its outcomes."""
    stream = OutcomeStream(parsers, keep=max(1, len(output)))
    stream.feed(output)
    outcomes = stream.close()
    return stream.shown_text(), outcomes
