"""The futures of a run as a table of fixed-width lines, and the small formats of the views.

Drawn several times a second by the live view, and once by the summary and ``report``.
Every cell that holds untrusted text (arguments, output, errors) is sanitized here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from rich.cells import cell_len, get_character_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment

from ..agent.timeline import FutureSpan
from .plain import short_args
from .sanitize import sanitize_line

#: ``sanitize_line`` for cells: a frame shows mostly the same texts as the one before.
shown = functools.lru_cache(maxsize=4096)(sanitize_line)

COLUMNS = ("id", "tool", "args", "state", "time", "rev", "model", "output")
#: "f10", "tool", -, "timed out", "59.9 s", "rev", "unseen", -
MIN_WIDTHS = (3, 4, 0, 9, 6, 3, 6, 0)
STATE_STYLES = {
    "waiting": "dim",
    "running": "bold yellow",
    "resolved": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "timed out": "bold red",
}


# -- small formats -------------------------------------------------------------------


def seconds(value: float) -> str:
    """``3.2 s`` below a minute, ``2m05s`` above: the width stays small while it counts."""
    if value < 60:
        return f"{value:.1f} s"
    whole = int(value)
    return f"{whole // 60}m{whole % 60:02d}s"


def short_model(model: str) -> str:
    """A scripted model's script by its file name, not its full path."""
    if model.startswith("scripted/"):
        return "scripted/" + model.removeprefix("scripted/").rsplit("/", 1)[-1]
    return model


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


Piece = tuple[str, str]  # text and its style


def future_output(f: FutureSpan) -> list[Piece]:
    if f.status not in (None, "resolved"):
        return [(shown(f.error), "red")]
    pieces: list[Piece] = []
    if f.exit_code is not None:
        pieces.append((f"exit {f.exit_code}", "red" if f.exit_code != 0 else ""))
    if f.tests is not None:  # a test run: its counts say more than its last line (and
        # the state column beside says "running")
        counts = f.tests.describe(failures_first=f.final)
        pieces.append((shown(counts), "red" if f.tests.failing else "green"))
    last = f.last_line if f.tests is None or not f.final else ""
    if last:
        pieces.append((shown(last), "dim" if f.final else ""))
    return [p for i, piece in enumerate(pieces) for p in ([(" · ", "")] if i else []) + [piece]]


def future_rev(f: FutureSpan) -> list[Piece]:
    if f.workspace_rev is None:
        return []
    return [(str(f.workspace_rev), ""), *([(" stale", "bold yellow")] if f.stale else [])]


def visible_futures(futures: Sequence[FutureSpan], rows: int) -> tuple[list[FutureSpan], int]:
    """The futures that fit in ``rows``: every unfinished one first, then the latest."""
    if len(futures) <= rows:
        return list(futures), 0
    rows = max(1, rows - 1)  # one row says how many are left out
    keep = {f.id for f in futures if not f.final}
    for f in reversed(futures):
        if len(keep) >= rows:
            break
        keep.add(f.id)
    shown = [f for f in futures if f.id in keep][-rows:]
    return shown, len(futures) - len(shown)


def cells(text: str) -> int:
    # most of what is drawn is ASCII, where the cell width is the length (and far quicker)
    return len(text) if text.isascii() else cell_len(text)


def cut(text: str, width: int) -> str:
    """The start of ``text`` in exactly ``width`` cells (a wide character that would
    straddle the edge gives way to a space)."""
    if text.isascii():
        return text[:width].ljust(width)
    # Rich's set_cell_size splits the whole text into graphemes first: several times slower
    # on a long line (sanitized output is not ASCII: ␛, ␇ ...). A joined emoji may be cut
    used = 0
    for i, char in enumerate(text):
        size = get_character_cell_size(char)
        if used + size > width:
            return text[:i] + " " * (width - used)
        used += size
    return text + " " * (width - used)


def fit(pieces: list[Piece], width: int, *, right: bool = False, pad: bool = True) -> list[Piece]:
    """``pieces`` in exactly ``width`` cells: cut with an ellipsis, or padded."""
    used = sum(cells(text) for text, _ in pieces)
    if used <= width:
        filler = (" " * (width - used), "")
        return ([filler, *pieces] if right else [*pieces, filler]) if pad else pieces
    out: list[Piece] = []
    room = width - 1
    for text, style in pieces:
        if room <= 0:
            break
        if cells(text) > room:
            text = cut(text, room)
        out.append((text, style))
        room -= cells(text)
    return [*out, ("…", "")]


def future_row(f: FutureSpan, now: float) -> list[list[Piece]]:
    return [
        [(shown(f.id), "")], [(shown(f.tool), "")], [(shown(short_args(f.args, 200)), "")],
        [(f.state, STATE_STYLES.get(f.state, ""))], [(seconds(f.seconds(now)), "")],
        future_rev(f), [(f.seen, "")], future_output(f),
    ]


def column_widths(rows: list[list[list[Piece]]], width: int) -> list[int]:
    """Fixed columns as wide as their widest cell (at least as wide as their longest word,
    so the layout holds still as states change); args and output share the rest, 3:4."""
    widths = [
        max(least, *(cells("".join(t for t, _ in row[i])) for row in rows))
        for i, least in enumerate(MIN_WIDTHS)
    ]
    widths[1] = min(widths[1], 14)
    rest = max(0, width - sum(widths[i] for i in (0, 1, 3, 4, 5, 6)) - 2 * 7)
    widths[2] = rest * 3 // 7
    widths[7] = rest - widths[2]
    return widths


def merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbours of one style joined: each segment drawn costs more than its length."""
    out: list[Piece] = []
    for text, style in pieces:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        elif text:
            out.append((text, style))
    return out


class Rows:
    """Lines already cut to width, drawn as plain segments: none of Text's wrapping work."""

    def __init__(self, lines: list[list[Piece]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            for text, style in line:
                yield Segment(text, console.get_style(style) if style else None)
            yield Segment.line()


def futures_table(
    futures: Sequence[FutureSpan], now: float, rows: int, width: int = 100
) -> Rows:
    """The futures, one line each, in columns laid out by hand.

    It is drawn several times a second with up to dozens of rows, on a thread that holds
    the GIL while it draws: fixed-width lines cost a small fraction of a Rich ``Table``.
    """
    shown, hidden = visible_futures(futures, rows)
    header = [[(name, "bold")] for name in COLUMNS]
    cells = [header, *(future_row(f, now) for f in shown)]
    widths = column_widths(cells, width)
    lines: list[list[Piece]] = []
    for row in cells:
        pieces: list[Piece] = []
        for i, (cell, w) in enumerate(zip(row, widths, strict=True)):
            pieces += fit(cell, w, right=i == 4, pad=i < 7)
            if i < 7:
                pieces.append(("  ", ""))
        lines.append(merged(pieces))
    if hidden:
        lines.append([(f"    ... and {plural(hidden, 'earlier future')}", "dim")])
    return Rows(lines)
