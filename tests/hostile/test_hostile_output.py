"""Hostile output: what a command prints, or the model streams, cannot drive the terminal
it is shown on, nor inject markup into the HTML report or the CI summary."""

from __future__ import annotations

import io
import re

from asyncfc_agent.cli.repl_screen import Screen
from prompt_toolkit.application import create_app_session
from prompt_toolkit.output.vt100 import Vt100_Output

#: The sequences a hostile command prints: clipboard (OSC 52, BEL- and ST-ended), title,
#: a link, a screen clear and cursor home, 8-bit CSI, a CR overwrite, a bidi override.
HOSTILE = ("\x1b]52;c;cm0gLXJmIH4=\x07|\x1b]52;c;eA==\x1b\\|\x1b]0;OWNED\x07|"
           "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\|\x1b[2J\x1b[H|\x9b2J|"
           "rm -rf ~\rsafe|\u202eabc|[bold]markup[/bold]")
#: What must not reach a terminal from it.
RAW = ("\x1b]", "\x1b[2J", "\x1b[H", "\x9b", "\x07", "\u202e")


def raw_sequences(written: str) -> list[str]:
    """The sequences of ``HOSTILE`` found in what was written (a CR not ending a line too)."""
    return [seq for seq in RAW if seq in written] + re.findall(r"\r(?!\n)", written)


def test_the_repl_prints_output_and_model_text_inert() -> None:
    out = io.StringIO()
    with create_app_session(output=Vt100_Output(out, lambda: None, term="xterm")):  # type: ignore[arg-type]
        screen = Screen()
        screen.say(f"  f1 | {HOSTILE}")
        screen.stream(f"the model says {HOSTILE}\n")
    written = out.getvalue()
    assert raw_sequences(written) == [], repr(written)
    assert "␛]52;c;cm0gLXJmIH4=␇" in written and "rm -rf ~␍safe" in written
    assert "[bold]markup[/bold]" in written
