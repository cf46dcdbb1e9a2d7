"""Untrusted text made safe to show in a terminal.

Command output, file contents and names, the model's text and error messages can hold
terminal control sequences: OSC 52 sets the clipboard, OSC 0/2 the window title, OSC 8
plants links, CSI moves the cursor or clears the screen, CR and BS overwrite what was
printed, and bidi overrides reorder a line so that it reads as something else. Every
view passes such text through ``sanitize`` (or ``sanitize_line`` for a one-line cell)
before it is printed.

Nothing is hidden: each control character is replaced by a visible stand-in, so the rest
of a sequence shows as the inert text it is (``ESC ] 52 ; c ; ... BEL`` reads
``␛]52;c;...␇``). Colour codes (SGR) alone are dropped, as they carry no text. The
replacement is per character, so a sequence cut between two chunks of output is as
harmless as a whole one.
"""

from __future__ import annotations

import json
import re

#: Invisible format characters (Unicode category Cf) bar the zero-width (non-)joiners that
#: emoji and several scripts need: bidi embeddings, overrides and isolates, zero-width
#: space, word joiner, BOM, soft hyphen, tag characters...
_FORMAT = (
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
#: C0 bar tab and newline, DEL, C1, line and paragraph separators, the format characters,
#: lone surrogates (left by a lenient decoding; printing one raises) and the two
#: non-characters XML forbids.
_UNSAFE_CHAR = f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\u2028\u2029{_FORMAT}\\ud800-\\udfff\ufffe\uffff]"
#: A colour or attribute sequence: style only, dropped whole.
_SGR = r"\x1b\[[0-9;:]*m"
_UNSAFE = re.compile(f"{_SGR}|\r\n|{_UNSAFE_CHAR}")

#: The symbol for DEL; C0 characters map to U+2400 + their code (␀ ... ␟).
_DEL = "\u2421"
_ESC = "\u241b"


def _visible(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) > 1:
        return "\n" if found == "\r\n" else ""  # a line end from a pty, or a colour
    code = ord(found)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return _DEL
    if code <= 0x9F:
        # a C1 control is the 8-bit form of ESC + one character (0x9b is ESC [)
        return _ESC + chr(code - 0x40)
    return f"<U+{code:04X}>"


def sanitize(text: str) -> str:
    """``text`` with every control sequence and invisible format character made visible.

    Newlines and tabs stay; CR LF becomes a newline; colour codes are dropped.
    """
    # every unsafe character is one str.isprintable refuses (it refuses more: no-break
    # spaces, private use), and that test is several times quicker than any regex scan
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return _UNSAFE.sub(_visible, text)


def sanitize_line(text: str) -> str:
    """``sanitize``, then every run of white space (line breaks included) one space."""
    return " ".join(sanitize(text).split())



_UNSAFE_IN_JSON = re.compile(_UNSAFE_CHAR)


def json_safe(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters ``sanitize``
    would replace written as ``\\u`` escapes: the same values, nothing raw on a terminal.

    JSON escapes C0 itself, but not DEL, C1 or the format characters.
    """
    if text.isascii() and "\x7f" not in text:
        return text
    return _UNSAFE_IN_JSON.sub(lambda m: json.dumps(m.group())[1:-1], text)
