"""Untrusted text made safe for a terminal: the real sequences, and what each becomes."""

from __future__ import annotations

import unicodedata

import pytest
from asyncfc_agent.cli.sanitize import sanitize, sanitize_line


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        # OSC 52 (set the clipboard), ended by BEL and by ST
        ("\x1b]52;c;cm0gLXJmIH4=\x07", "␛]52;c;cm0gLXJmIH4=␇"),
        ("\x1b]52;c;cm0gLXJmIH4=\x1b\\", "␛]52;c;cm0gLXJmIH4=␛\\"),
        # OSC 0 / 2 (window title), OSC 8 (a link over innocent text)
        ("\x1b]0;owned\x07", "␛]0;owned␇"),
        ("\x1b]2;owned\x1b\\", "␛]2;owned␛\\"),
        ("\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\", "␛]8;;https://evil.example/␛\\docs␛]8;;␛\\"),
        # DCS (a terminal query), cursor moves, screen clears, the alternate screen
        ("\x1bP+q544e\x1b\\", "␛P+q544e␛\\"),
        ("\x1b[2J\x1b[H\x1b[3;12H\x1b[?1049h\x1b[K", "␛[2J␛[H␛[3;12H␛[?1049h␛[K"),
        ("\x1b7\x1b8\x1bc", "␛7␛8␛c"),
        # 8-bit C1: CSI, OSC, ST, DCS, NEL
        ("\x9b2J", "␛[2J"),
        ("\x9d0;owned\x9c", "␛]0;owned␛\\"),
        ("\x90q\x9c", "␛Pq␛\\"),
        ("a\x85b", "a␛Eb"),
        # colours carry no text: dropped, the text stays
        ("\x1b[1;31mFAILED\x1b[0m test_x", "FAILED test_x"),
        ("\x1b[38:5:196mred\x1b[m", "red"),
        # overwriting what was printed: CR, BS; and the other C0 controls, DEL
        ("rm -rf ~\rmake test", "rm -rf ~␍make test"),
        ("ok\x08\x08no", "ok␈␈no"),
        ("\x07\x00\x0b\x0c\x7f", "␇␀␋␌␡"),
        ("line one\r\nline two\r\n", "line one\nline two\n"),
        # bidi overrides and isolates, zero-width and tag characters
        ("access = \u202eresu\u202c", "access = <U+202E>resu<U+202C>"),
        ("if x:\u2067\u2066 # ok\u2069\u2069", "if x:<U+2067><U+2066> # ok<U+2069><U+2069>"),
        ("ad\u200bmin\ufeff", "ad<U+200B>min<U+FEFF>"),
        ("hi\U000e0041\U000e0042", "hi<U+E0041><U+E0042>"),
        ("a\u2028b", "a<U+2028>b"),
        # a lone surrogate, as a lenient decoding leaves one: printing it would raise
        ("bad \udc80 byte", "bad <U+DC80> byte"),
        # what stays: tabs, newlines, ordinary text and emoji joined with ZWJ
        ("a\tb\nc", "a\tb\nc"),
        ("café 日本 ✓ \U0001f469\u200d\U0001f4bb", "café 日本 ✓ \U0001f469\u200d\U0001f4bb"),
        ("[bold]x[/bold] [link=https://e.example]y[/link]", "[bold]x[/bold] [link=https://e.example]y[/link]"),
    ],
)
def test_sequences_are_shown_inert(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


def test_a_sequence_cut_between_chunks_is_as_inert_as_a_whole_one() -> None:
    chunks = ["output then \x1b", "]52;c;eA==\x07", " and \x1b[3", "1mcolour\x1b[0m\r", "\nend"]
    assert "".join(map(sanitize, chunks)) == "output then ␛]52;c;eA==␇ and ␛[31mcolour␍\nend"


def test_no_control_or_format_character_survives_anywhere_in_unicode() -> None:
    # planes 0, 1 and 14 hold every control, format and surrogate code point there is
    every = "".join(chr(c) for c in [*range(0x20000), *range(0xE0000, 0xE1000)])
    out = sanitize(every)
    left = {
        f"U+{ord(ch):04X}" for ch in set(out)
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch not in "\n\t\u200c\u200d"
    }
    assert left == set()
    out.encode("utf-8")  # no surrogate left to raise


def test_sanitize_line_is_one_line() -> None:
    assert sanitize_line("  a\n\tb   c\x1b[2Jd\r\n") == "a b c␛[2Jd"
    assert sanitize_line("x\x1c\x1dy") == "x␜␝y"  # str.split would take these for spaces
