"""Telling the terminal that something happened: the bell, or a desktop notification
through the escape sequence the terminal understands (OSC 9 or OSC 777).

Terminals that do not know a sequence ignore it, but some print its text, so a desktop
notification is only sent where the terminal is known to show one; elsewhere it is the
bell. Inside tmux or screen the sequence would need a passthrough the user may not have
enabled: the bell, which they forward, is used there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .sanitize import sanitize_line

BELL = "\a"
#: Terminals that show OSC 9 ("ESC ] 9 ; text BEL") as a desktop notification.
OSC9_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "ghostty"})


def desktop_sequence(env: Mapping[str, str]) -> str | None:
    """The notification sequence the terminal of ``env`` shows ("9" or "777"), if any."""
    if env.get("TMUX") or env.get("STY"):
        return None
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    if program in OSC9_PROGRAMS or term == "xterm-kitty":
        return "9"
    if term.startswith(("foot", "rxvt")):
        return "777"
    return None


def clean(text: str, limit: int = 200) -> str:
    """Text that cannot end the sequence it is in (no control, no field separator)."""
    return sanitize_line(text).replace(";", ",")[:limit]


def notification(kind: str, title: str, body: str, env: Mapping[str, str] | None = None) -> str:
    """What to write to the terminal for ``kind`` ("off", "bell", "desktop")."""
    if kind == "off":
        return ""
    osc = desktop_sequence(os.environ if env is None else env) if kind == "desktop" else None
    if osc == "9":
        return f"\x1b]9;{clean(f'{title}: {body}')}\a"
    if osc == "777":
        return f"\x1b]777;notify;{clean(title)};{clean(body)}\a"
    return BELL
