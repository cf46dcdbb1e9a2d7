"""What ``ci`` reports: the futures ledger, a one-line reason, the JSON report, the Markdown
step summary and the GitHub Actions step outputs.

The issue, errors, file names, the patch and the model's choices are untrusted: in the
summary each is text only (``md_text``, ``md_code``, a fence longer than any backtick run
in the patch), and no value can add a step output of its own.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent.events import CallClosed, Event
from ..tools.text import some_paths
from .sanitize import sanitize, sanitize_line

#: GitHub shows at most 1 MiB of a step summary; a long patch is cut well before that.
PATCH_LIMIT = 60_000

HEADLINES = {0: "solved", 1: "not solved", 2: "usage or configuration error",
             3: "infrastructure error", 4: "limit hit", 130: "interrupted"}


@dataclass
class ModelCalls:
    """Event subscriber: the ids of the model's tool calls. A future whose call is not among
    them was started by the bot itself (the test run on the final revision)."""

    ids: set[str] = field(default_factory=set)

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallClosed):
            self.ids.add(event.call_id)


def ledger(futures: list[dict[str, Any]], bot_futures: set[str]) -> list[dict[str, Any]]:
    """Every future: tool, duration, outcome, and whether the model ever read its result."""
    return [
        {
            "id": f["id"],
            "tool": f["tool"],
            "by": "bot" if f["id"] in bot_futures else "model",
            "duration_s": f.get("duration_s"),
            "outcome": outcome_of(f),
            "workspace_rev": f.get("workspace_rev"),
            "stale": f.get("stale", False),
            "read_by_model": bool(f.get("delivered")),
            "read_via": f.get("delivered_via"),
        }
        for f in futures
    ]


def outcome_of(future: dict[str, Any]) -> str:
    status = future.get("status", "?")
    if status == "resolved":
        code = future.get("exit_code")
        return "ok" if code is None else f"exit {code}"
    error = (future.get("error") or "").strip().splitlines()
    return f"{status}: {error[0]}" if error else status


def reason_line(result: dict[str, Any], code: int) -> str:
    """Why the run ended as it did, in one line."""
    reason = result.get("exit_reason", "error")
    tests = result.get("tests") or {}
    if code == 0:
        return f"solved: the tests pass on the final revision ({tests.get('future')})"
    if code == 4:
        return f"limit hit: {reason} after {result.get('turns', 0)} turns, {result.get('wall_s') or 0:.1f} s"
    if result.get("error"):
        return " ".join(str(result["error"]).split())
    if not tests.get("future"):
        return "not solved: the tests never ran"
    if not tests.get("on_final_revision"):
        return f"not solved: the last test run ({tests['future']}) is not on the final revision"
    return f"not solved: the tests fail on the final revision ({tests['future']})"


def report(result: dict[str, Any], *, code: int, reason: str, task: dict[str, Any],
           push: dict[str, Any] | None, bot_futures: set[str]) -> dict[str, Any]:
    """The JSON report: ``result.json`` plus the exit code, the reason and the ledger."""
    return {
        **result,
        "exit_code": code,
        "exit_reason": result.get("exit_reason", "error"),
        "reason": reason,
        "issue": task,
        "push": push,
        "ledger": ledger(result.get("futures", []), bot_futures),
    }


def markdown(rep: dict[str, Any]) -> str:
    """The step summary: the verdict, the figures, the ledger and the patch."""
    return "\n".join([*_heading(rep), "", *_figures(rep), "", *_ledger_table(rep["ledger"]),
                      "", *_patch_block(rep), ""])


def _heading(rep: dict[str, Any]) -> list[str]:
    issue = rep.get("issue") or {}
    title = issue.get("title") or "task"
    if issue.get("number") is not None:
        title = f"#{issue['number']} {title}"
    title = md_text(title)
    if issue.get("url") and _LINKABLE.fullmatch(str(issue["url"])):
        title = f"[{title}]({issue['url']})"
    verdict = HEADLINES.get(rep["exit_code"], "error")
    return [f"## asyncfc-agent: {verdict}", "", f"**Issue:** {title}", "",
            f"**Reason:** {md_text(rep['reason'])}"]


def _figures(rep: dict[str, Any]) -> list[str]:
    tests = rep.get("tests") or {}
    verdict = ("passed" if tests.get("passed") else "failed") if tests.get("future") else "not run"
    verdict += _counts(rep, tests.get("future"))
    where = "on the final revision" if tests.get("on_final_revision") else "not on the final revision"
    tokens = (rep.get("tokens") or {}).get("total", 0)
    rows = [
        ("Exit", md_text(f"{rep['exit_code']} ({rep['exit_reason']})")),
        ("Tests", md_text(f"{tests.get('future') or '-'}: {verdict}, {where}")),
        ("Branch", _branch_cell(rep)),
        # counted past a few: GitHub drops a step summary over 1 MiB whole
        ("Files changed", some_paths([md_code(f) for f in rep.get("files_changed") or []]) or "none"),
        ("Model", f"{md_code(rep.get('model', '?'))}, "
                  + md_text(f"mode {rep.get('mode', '?')}, sandbox {rep.get('sandbox', '?')}")),
        ("Time", md_text(f"{rep.get('wall_s') or 0:.1f} s wall, {rep.get('model_s') or 0:.1f} s model, "
                         f"{rep.get('tool_s') or 0:.1f} s tools, {rep.get('turns', 0)} turns")),
        ("Cost", md_text(f"{tokens} tokens, ${rep.get('cost_usd') or 0:.4f}")),
    ]
    return ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def _counts(rep: dict[str, Any], future: str | None) -> str:
    """`` (1 failed, 38 passed)``: the outcomes of the test run that decided."""
    record = next((f for f in rep.get("futures") or [] if f.get("id") == future), None)
    tests = (record or {}).get("tests")
    if not isinstance(tests, dict):
        return ""
    parts = [f"{tests.get(k)} {k}" for k in ("failed", "errors", "passed", "skipped")
             if isinstance(tests.get(k), int) and tests.get(k)]
    return f" ({', '.join(parts)})" if parts else ""


def _branch_cell(rep: dict[str, Any]) -> str:
    branch = rep.get("branch")
    if not branch:
        return "none (no changes)"
    text = f"{md_code(branch)} at {md_code((rep.get('commit') or '')[:12])}"
    push = rep.get("push")
    if push:
        text += (f", pushed to {md_text(push['remote'])}" if push["pushed"]
                 else f", not pushed ({md_text(push['detail'])})")
    return text


def _ledger_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"### Futures ({len(rows)})", "",
             "| id | tool | by | duration | outcome | read by the model |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        duration = "-" if r["duration_s"] is None else f"{r['duration_s']:.2f} s"
        outcome = r["outcome"] + (" (stale)" if r["stale"] else "")
        read = f"yes ({r['read_via']})" if r["read_by_model"] else "no"
        cells = (r["id"], r["tool"], r["by"], duration, outcome, read)
        lines.append("| " + " | ".join(md_text(c) for c in cells) + " |")
    return lines


def _patch_block(rep: dict[str, Any]) -> list[str]:
    path = rep.get("patch_file")
    patch = Path(path).read_text(encoding="utf-8", errors="replace") if path and Path(path).is_file() else ""
    if not patch:
        return ["No patch."]
    note = ""
    if len(patch) > PATCH_LIMIT:
        patch, note = patch[:PATCH_LIMIT], f"\n(cut at {PATCH_LIMIT} characters; the whole patch is in the result)"
    # bidi overrides would make the shown code differ from the code (Trojan Source)
    patch = sanitize(patch)
    fence = "`" * max(3, _longest_backtick_run(patch) + 1)  # only a longer run closes it
    return [f"<details><summary>Patch ({rep.get('patch_bytes', 0)} bytes)</summary>", "",
            f"{fence}diff", patch.rstrip("\n"), fence, note, "</details>"]


#: Markdown's backslash-escapable punctuation that could start markup: emphasis, code,
#: links and images, HTML tags and entities, table cells, strike-through.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>&|!~])")
#: An issue URL the summary links to: http(s), nothing that could end the link early.
_LINKABLE = re.compile(r"https?://[^\s()<>\[\]`\\]+")


def md_text(value: Any) -> str:
    """``value`` as Markdown that shows it as plain text, on one line (a table cell)."""
    return _MD_SPECIAL.sub(r"\\\1", sanitize_line(str(value)))


def md_code(value: Any) -> str:
    """``value`` as an inline code span, on one line, fit for a table cell."""
    text = sanitize_line(str(value))
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    # in a table a | ends the cell even inside code; GFM takes \| there as the character
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def write_json(path: Path, rep: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rep, indent=2, default=str) + "\n", encoding="utf-8")


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def step_outputs(rep: dict[str, Any], json_path: Path, summary_path: Path) -> str:
    """The step outputs for ``$GITHUB_OUTPUT``: texts on one line, paths exactly."""
    push = rep.get("push") or {}
    texts = {
        "status": rep.get("status", "error"),
        "exit-code": rep["exit_code"],
        "exit-reason": rep["exit_reason"],
        "reason": rep["reason"],
        "branch": rep.get("branch") or "",
        "commit": rep.get("commit") or "",
        "pushed": "true" if push.get("pushed") else "false",
    }
    paths = {"result": json_path, "summary": summary_path, "patch": rep.get("patch_file") or ""}
    return "".join([*(step_output(k, sanitize_line(str(v))) for k, v in texts.items()),
                    *(step_output(k, str(v)) for k, v in paths.items())])


def step_output(name: str, value: str) -> str:
    """One output in the file format of ``$GITHUB_OUTPUT``: ``name=value``, or a heredoc for
    a value with a line break, ended by a delimiter drawn at random and absent from it (a
    value holding its delimiter could end it early and set outputs of its own)."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    while (delimiter := f"ghadelimiter_{secrets.token_hex(16)}") in value:
        pass  # 128 random bits: in practice never taken
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
