"""A command's output on the host: streamed within a bound, kept as head and tail.

A command may print gigabytes. What it costs the host is bounded twice: the caller's
callback (live views, the trajectory) is given the first ``limit`` characters as they
come, then, at the end, a note of what was left out and the last part; and the result
keeps the head and the tail of the whole within ``limit``, as ``cap_output`` does.
"""

from __future__ import annotations

from collections import deque

from .base import OutputCallback, cut_note


class OutputBuffer:
    """Feed it a command's output; ``finish`` at the end, then read ``text``."""

    def __init__(self, limit: int, on_output: OutputCallback | None) -> None:
        self._on_output = on_output
        self._head_limit = limit * 2 // 5
        self._tail_limit = limit - self._head_limit
        #: Characters given to the callback as they come (and asked of the runner).
        self.stream_limit = limit
        self._head: list[str] = []
        self._head_size = 0
        self._tail: deque[str] = deque()
        self._tail_size = 0
        self._seen = 0  # characters fed, cut ones included
        self._streamed = 0  # the prefix of them given to the callback
        self._cut = 0  # characters dropped before they got here (by the runner)

    def feed(self, text: str) -> None:
        if self._on_output is not None and self._streamed == self._seen:
            shown = text[: self.stream_limit - self._streamed]
            if shown:
                self._streamed += len(shown)
                self._on_output(shown)
        self._seen += len(text)
        room = self._head_limit - self._head_size
        if room > 0:
            self._head.append(text[:room])
            self._head_size += len(text[:room])
            text = text[room:]
        if text:
            self._tail.append(text)
            self._tail_size += len(text)
            while self._tail_size - len(self._tail[0]) >= self._tail_limit:
                self._tail_size -= len(self._tail.popleft())

    def skip(self, count: int) -> None:
        """``count`` characters of output were dropped upstream, here."""
        self._seen += count
        self._cut += count

    def finish(self) -> None:
        """Give the callback what it missed: a note, and the last part of the output."""
        if self._on_output is None or self._streamed == self._seen:
            return
        tail = "".join(self._tail)[-self._tail_limit :] if self._tail_limit else ""
        tail = tail[max(0, len(tail) - (self._seen - self._streamed)) :]
        missed = self._seen - self._streamed - len(tail)
        self._streamed = self._seen
        self._on_output(cut_note(missed) + tail)

    def text(self) -> tuple[str, bool]:
        """The output within the limit (head and tail), and whether anything was cut."""
        head = "".join(self._head)
        tail = "".join(self._tail)[-self._tail_limit :] if self._tail_limit else ""
        dropped = self._seen - len(head) - len(tail)
        if dropped <= 0:
            return head + tail, False
        return head + cut_note(dropped) + tail, True

