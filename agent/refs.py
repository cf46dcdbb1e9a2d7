"""``${fN}`` references in a call's arguments: which futures a call waits for, and the
arguments with their results put in."""

from __future__ import annotations

import re
from typing import Any

REF = re.compile(r"\$\{(f\d+)\}")


def references(args: dict[str, Any]) -> list[str]:
    """The future ids referred to anywhere in ``args``, in order, once each."""
    return list(dict.fromkeys(REF.findall(_strings(args))))


def _strings(value: Any) -> str:
    """All string leaves of a JSON value, joined (to find references)."""
    if isinstance(value, str):
        return value + "\n"
    if isinstance(value, dict):
        return "".join(_strings(v) for v in value.values())
    if isinstance(value, list):
        return "".join(_strings(v) for v in value)
    return ""


def substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return REF.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value
