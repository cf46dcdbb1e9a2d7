"""Hostile output: what a command prints, or the model streams, cannot drive the terminal
it is shown on (clipboard, title, screen), nor become markup in the HTML report or the CI
summary, nor set a CI step output.

A scripted run whose ``run`` command prints the sequences, and whose model streams them,
is watched through each view; every view must show them as inert text."""

from __future__ import annotations

import html.parser
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.cli import ci_report
from asyncfc_agent.cli.batch_progress import BatchState, PlainProgress, finished_text
from asyncfc_agent.cli.batch_progress import render as batch_render
from asyncfc_agent.cli.repl_screen import Screen
from asyncfc_agent.cli.sanitize import json_safe
from asyncfc_agent.cli.tui import LiveView
from markdown_it import MarkdownIt
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.output.vt100 import Vt100_Output
from rich.console import Console
from rich.text import Text
from support import make_repo, write_script
from terminal import Terminal, leave, start_repl
from test_tui_terminal import (
    PROMPT,
    Pane,
    pane,  # noqa: F401 (the live view's tmux pane, 110 x 35, as a fixture)
)

#: HTML that would run a script or break out of the SVG or the title; then the sequences:
#: clipboard (OSC 52, BEL- and ST-ended), title (OSC 0 and 2), a link (OSC 8), a screen
#: clear and cursor home, 8-bit CSI, a CR overwrite, a bidi override, Rich markup.
HTML = ("<script>document.title='PWNED'</script>\"><img src=x onerror=\"document.title='PWNED'\">"
        "</svg></title>")
HOSTILE = (f"{HTML}|\x1b]52;c;cm0gLXJmIH4=\x07|\x1b]52;c;eA==\x1b\\|\x1b]0;OWNED\x07|\x1b]2;OWNED\x1b\\|"
           "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\|\x1b[2J\x1b[H|\x9b2J|"
           "rm -rf ~\rsafe|\u202eabc|[bold]markup[/bold] [link=https://evil.example]x[/link]")
#: Sequences of HOSTILE that must not reach a terminal raw (a lone CR is checked apart).
RAW = ("\x1b]", "\x1b[2J", "\x1b[H", "\x9b", "\x07", "\u202e")
#: How each view shows the clipboard sequence.
SHOWN_OSC52 = "␛]52;c;cm0gLXJmIH4=␇"


def raw_sequences(written: str) -> list[str]:
    """The sequences of ``HOSTILE`` found in what was written (a CR not ending a line too)."""
    return [seq for seq in RAW if seq in written] + re.findall(r"\r(?!\n)", written)


def printf_command(text: str) -> str:
    """A shell command printing ``text`` (UTF-8) byte for byte."""
    return "printf '%b' " + shlex.quote("".join(
        f"\\0{b:03o}" if b < 0x20 or b >= 0x7F or chr(b) in "\\'%" else chr(b)
        for b in text.encode("utf-8")))


def hostile_script(tmp_path: Path) -> Path:
    return Path(write_script(tmp_path, {"turns": [
        {"text": f"Checking. {HOSTILE} (model)",
         "tool_calls": [{"name": "run", "args": {"command": printf_command(HOSTILE + "\n") + "; exit 3"}},
                        {"name": "read_file", "args": {"path": f"no-such-{HOSTILE}.py"}}]},
        {"tool_calls": [{"name": "await_futures", "args": {}}]},
        {"text": f"Done. {HOSTILE}"},
    ]}, "hostile.yaml"))


def cli(*args: str | Path, home: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "COLUMNS": "400"}  # room for the whole of the output's last line
    return subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def solve_args(tmp: Path, sandbox: str, *extra: str) -> list[str | Path]:
    return ["solve", f"Fix add(). {HOSTILE}", "--repo", make_repo(tmp),
            "--model", f"scripted/{hostile_script(tmp)}", "--sandbox", sandbox,
            "--out", tmp / "run", *extra]


def assert_inert(text: str) -> None:
    assert raw_sequences(text) == [], repr(text)
    assert SHOWN_OSC52 in text, text


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp = tmp_path_factory.mktemp("hostile")
    proc = cli(*solve_args(tmp, "local", "--plain"), home=tmp / "home")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # unsolved, and no traceback
    return proc, tmp / "run"


# -- the terminal ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_plain_log_shows_output_errors_and_model_text_inert(
    local_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, _ = local_run
    assert_inert(proc.stdout + proc.stderr)
    assert "Traceback" not in proc.stderr
    # the model's text and the failed read (its path holds the sequences) are in the log
    assert re.search(r"\[turn 1\] Checking\. <script>.*\|␛\]52;c;cm0gLXJmIH4=␇", proc.stdout), proc.stdout
    assert re.search(r"f2 failed .*: no-such-<script>document.title='PWNED'</script>", proc.stdout), proc.stdout


@pytest.mark.slow
def test_report_in_the_terminal_shows_them_inert(
    local_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path,
) -> None:
    _, out = local_run
    proc = cli("report", out, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert raw_sequences(proc.stdout + proc.stderr) == [], repr(proc.stdout)
    # the last line of f1's output is what follows its CR; f2's error quotes its path
    assert re.search(r"^f1\s+run\s+command=.*exit 3 · safe\|<U\+202E>abc\|\[bold\]markup\[/bold\] "
                     r"\[link=https://evil.example\]x\[/link\]$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^f2\s+read_file\s+path=.*failed .*no-such-<script>.*␛\]52;c;cm0gLXJmIH4=␇",
                     proc.stdout, re.M), proc.stdout


@pytest.mark.slow
def test_the_json_events_carry_the_text_escaped(tmp_path: Path) -> None:
    proc = cli(*solve_args(tmp_path, "local", "--json"), home=tmp_path / "home")
    assert proc.returncode == 1, proc.stderr
    assert raw_sequences(proc.stdout + proc.stderr) == [], repr(proc.stdout)
    assert "\\u001b]52;c;cm0gLXJmIH4=\\u0007" in proc.stdout  # JSON's own escapes
    assert "\\u009b2J" in proc.stdout and "\\u202eabc" in proc.stdout
    assert json_safe('"\x9b\u202e\U000e0041"') == '"\\u009b\\u202e\\udb40\\udc41"'


@pytest.mark.slow
@pytest.mark.docker
def test_the_docker_sandbox_output_is_as_inert(tmp_path: Path, docker_image: str) -> None:
    proc = cli(*solve_args(tmp_path, "docker", "--plain"), home=tmp_path / "home", timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_inert(proc.stdout + proc.stderr)
    report = cli("report", tmp_path / "run", home=tmp_path / "home")
    assert raw_sequences(report.stdout) == [] and SHOWN_OSC52 in report.stdout, repr(report.stdout)


def test_the_repl_prints_output_and_model_text_inert() -> None:
    out = io.StringIO()
    with create_app_session(output=Vt100_Output(out, lambda: Size(rows=24, columns=80), term="xterm")):  # type: ignore[arg-type]
        screen = Screen()
        screen.say(f"  f1 | {HOSTILE}")
        screen.stream(f"the model says {HOSTILE}\n")
    written = out.getvalue()
    assert raw_sequences(written) == [], repr(written)
    assert SHOWN_OSC52 in written and "rm -rf ~␍safe" in written
    assert "[bold]markup[/bold]" in written


# -- the live view in a real terminal -----------------------------------------------------


def typed(term: Pane, tmp_path: Path, name: str, script: str, marker: str,
          seen: list[list[str]] | None = None) -> str:
    """Runs ``script`` from a file in ``term`` (its control characters typed at the prompt
    would be keys) and waits for ``marker`` at the start of a line; the screen."""
    (tmp_path / name).write_text(script)
    term.tmux("send-keys", "-t", term.name, f"bash {tmp_path / name}", "Enter")
    test = lambda s: any(line.startswith(marker) for line in s)  # noqa: E731
    return "\n".join(term.wait_for(test, 180, [] if seen is None else seen))


def pane_state(term: Pane) -> tuple[str, str]:
    """The pane's title, and tmux's paste buffers (an OSC 52 that reached tmux is one)."""
    title = term.tmux("display-message", "-p", "-t", term.name, "#{pane_title}").strip()
    return title, term.tmux("list-buffers")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_live_view_leaves_the_clipboard_title_and_screen_alone(pane: Pane, tmp_path: Path) -> None:  # noqa: F811
    pane.tmux("set-option", "-g", "set-clipboard", "on")
    pane.wait_for(lambda s: any(line.startswith(PROMPT) for line in s), 10, [])
    typed(pane, tmp_path, "marker.sh", "clear\necho MARKER-BEFORE\n", "MARKER-BEFORE")
    before = pane_state(pane)
    # what reaches the terminal, byte for byte, to show if a check below fails
    written = tmp_path / "written.bin"
    pane.tmux("pipe-pane", "-o", "-t", pane.name, f"cat >> {shlex.quote(str(written))}")
    args = [sys.executable, "-m", "asyncfc_agent.cli", *map(str, solve_args(tmp_path, "local"))]
    seen: list[list[str]] = []
    screen = typed(pane, tmp_path, "solve.sh", f"unset COLUMNS LINES\n{shlex.join(args)}\necho EXIT=$?\n",
                   "EXIT=", seen)
    assert "EXIT=1" in screen, screen
    state = pane_state(pane)
    last_bytes = written.read_bytes()[-6000:] if written.exists() else b""
    tail = f"the pane's title and buffers: {state!r}; the last bytes written: {last_bytes!r}"
    lost = next((s for s in seen if "MARKER-BEFORE" not in s), None)
    assert lost is None, "\n".join([*(lost or []), tail])  # never cleared
    assert state == (before[0], ""), tail  # not retitled, nothing on the clipboard
    assert "Done. <script>" in screen and SHOWN_OSC52 in screen, screen  # the model's final text
    assert re.search(r"^f1\s+run .*exit 3 · safe\|<U\+202E>abc", screen, re.M), screen
    # and the same sequences printed raw do all three: the checks above can fail
    screen = typed(pane, tmp_path, "raw.sh", f"{printf_command(HOSTILE)}\necho\necho RAW-DONE\n", "RAW-DONE")
    title, buffers = pane_state(pane)
    assert title == "OWNED" and buffers != ""
    assert "MARKER-BEFORE" not in screen


# -- the HTML report -------------------------------------------------------------------


class Markup(html.parser.HTMLParser):
    """The elements and attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def markup_of(page: str) -> Markup:
    parser = Markup()
    parser.feed(page)
    parser.close()
    return parser


@pytest.mark.slow
def test_the_html_report_shows_them_as_text(
    local_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path,
) -> None:
    _, out = local_run
    page_path = tmp_path / "timeline.html"
    proc = cli("report", out, "--html", page_path, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    page = page_path.read_text(encoding="utf-8")
    found = markup_of(page)
    assert "script" not in found.tags and "img" not in found.tags
    assert not [a for a in found.attrs if a.startswith("on")]
    # the SVG stays one well-formed element holding every future's row
    svg = re.search(r"<svg id=\"timeline\".*?</svg>", page, re.S)
    assert svg is not None
    root = ET.fromstring(svg.group())
    assert len(root.findall("{http://www.w3.org/2000/svg}g[@class='future']")) == 2
    # and the text is there, shown: the task, the arguments, the error
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in page
    assert "␛]52;c;cm0gLXJmIH4=␇" in page


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_no_script_runs_in_the_html_report(
    local_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path,
) -> None:
    _, out = local_run
    page_path = tmp_path / "timeline.html"
    assert cli("report", out, "--html", page_path, home=tmp_path / "home").returncode == 0
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'chromium'}",
         "--virtual-time-budget=2000", "--dump-dom", page_path.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.S)  # the page's: the first
    assert title is not None and title.group(1).startswith("run "), dom[:500]
    assert "PWNED" not in title.group(1)
    found = markup_of(dom)
    assert "script" not in found.tags and "img" not in found.tags


# -- the CI summary and step outputs ------------------------------------------------------


def hostile_report(tmp_path: Path) -> dict[str, Any]:
    patch = tmp_path / "patch.diff"
    patch.write_text("+x = '```'\n+y = '````'\n+</details><script>alert(1)</script>\n+z = '\u202e'\n")
    result = {"status": "unsolved", "exit_reason": "submitted", "error": f"boom\nstatus=solved\n{HOSTILE}",
              "branch": "asyncfc/x", "commit": "0123456789abcdef", "patch_file": str(patch),
              "patch_bytes": 99, "files_changed": ["a`b|c.py", f"{HOSTILE}.py"], "model": "m|`x`",
              "futures": [{"id": "f1", "tool": "run", "status": "failed", "error": f"{HOSTILE}\nmore",
                           "duration_s": 1.0}]}
    task = {"title": f"[click](https://evil.example) {HOSTILE}", "number": 7,
            "url": "https://evil.example/x) [y](https://evil.example", "source": "event"}
    rep: dict[str, Any] = ci_report.report(result, code=1, reason=ci_report.reason_line(result, 1), task=task,
                                           push=None, bot_futures=set())
    return rep


def test_the_ci_summary_is_text_only(tmp_path: Path) -> None:
    summary = ci_report.markdown(hostile_report(tmp_path))
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    rendered = md.render(summary)
    found = markup_of(rendered)
    # the only markup is the summary's own: headings, a table, code, details
    assert set(found.tags) <= {"h2", "h3", "p", "strong", "table", "thead", "tbody", "tr", "th",
                               "td", "code", "pre", "details", "summary"}, set(found.tags)
    assert not [a for a in found.attrs if a != "class"], found.attrs  # no link, no handler
    # the patch is one code block holding every line of it, fences and HTML included
    block = re.search(r"<pre><code class=\"language-diff\">(.*?)</code></pre>", rendered, re.S)
    assert block is not None and "&lt;/details&gt;&lt;script&gt;" in block.group(1)
    assert "````'" in block.group(1) and "&lt;U+202E&gt;" in block.group(1)
    # a file name with a backtick and a bar stays one code span in its cell
    assert "<code>a`b|c.py</code>" in rendered
    assert raw_sequences(summary) == []


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` read as the Actions runner reads it (any line break ends a line)."""
    lines, outputs, i = re.split(r"\r\n|\r|\n", text), {}, 0
    while i < len(lines):
        line, i = lines[i], i + 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            outputs[line[:equals]] = line[equals + 1:]
            continue
        name, delimiter, body = line[:heredoc], line[heredoc + 2:], []
        while lines[i] != delimiter:
            body.append(lines[i])
            i += 1
        outputs[name], i = "\n".join(body), i + 1
    return outputs


def test_step_outputs_cannot_be_added_or_changed_by_a_value(tmp_path: Path) -> None:
    rep = hostile_report(tmp_path)
    rep["reason"] = "no\nstatus=solved\rpushed=true"
    odd = tmp_path / "out\nstatus=solved\nghadelimiter_0\n"
    rep["patch_file"] = str(odd / "patch.diff")
    outputs = parse_outputs(ci_report.step_outputs(rep, odd / "report.json", odd / "summary.md"))
    assert outputs == {
        "status": "unsolved", "exit-code": "1", "exit-reason": "submitted",
        "reason": "no status=solved␍pushed=true", "branch": "asyncfc/x",
        "commit": "0123456789abcdef", "pushed": "false", "result": str(odd / "report.json"),
        "summary": str(odd / "summary.md"), "patch": str(odd / "patch.diff"),
    }


def test_the_batch_views_show_a_task_error_inert() -> None:
    out = io.StringIO()
    view = PlainProgress(BatchState(total=1), out=out, clock=lambda: 0.0)
    with view:
        view.task_started(f"t1{HOSTILE}", {"node_id": "n", "ip": "1.2.3.4"})
        view.task_finished({"id": "t1", "status": "failed", "exit_reason": "error",
                            "error": f"{HOSTILE}\nmore", "node": None})
    assert_inert(out.getvalue())
    console = Console(file=io.StringIO(), force_terminal=True, width=400, color_system=None)
    console.print(Text(finished_text({"id": "t1", "status": "failed", "error": HOSTILE})))
    console.print(batch_render(BatchState(total=2, running={HOSTILE: (0.0, HOSTILE)}), 1.0))
    assert_inert(console.file.getvalue())  # type: ignore[attr-defined]


def test_what_the_process_prints_while_the_live_view_is_up_is_inert() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=400, height=40, color_system=None)
    with LiveView(console=console):
        print(f"a warning quoting {HOSTILE}")
        print(f"and on stderr {HOSTILE}", file=sys.stderr)
    written = out.getvalue()
    assert [seq for seq in RAW if seq in written] == [], repr(written)  # Live itself moves with CR
    assert "a warning quoting <script>" in written and written.count(SHOWN_OSC52) == 2


def test_the_repository_map_and_outline_show_hostile_names_inert(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    name = "evil\x1b]0;OWNED\x07\x9b2J.py"
    (repo / name).write_text("def handler\u202e():\n    pass\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    shown = cli("map", "--repo", repo, home=tmp_path / "home")
    outline = cli("outline", repo / name, home=tmp_path / "home")
    for proc in (shown, outline):
        assert proc.returncode == 0, proc.stderr
        assert raw_sequences(proc.stdout + proc.stderr) == [], repr(proc.stdout)
    assert "evil␛]0;OWNED␇␛[2J.py" in shown.stdout, shown.stdout


@pytest.mark.slow
def test_the_ci_bot_logs_summary_and_outputs_of_a_hostile_run(tmp_path: Path) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    args = ["ci", "--issue", f"Fix add(). {HOSTILE}", "--repo", make_repo(tmp_path),
            "--model", f"scripted/{hostile_script(tmp_path)}", "--sandbox", "local",
            "--out", tmp_path / "run"]
    env = {**os.environ, "ASYNCFC_HOME": str(tmp_path / "home"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    for name in ("GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "GITHUB_TOKEN"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "asyncfc_agent.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_inert(proc.stdout)  # the plain log
    assert raw_sequences(proc.stderr) == [] and proc.stderr.startswith("error: "), proc.stderr
    rendered = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(
        summary.read_text(encoding="utf-8"))
    found = markup_of(rendered)
    assert not {"a", "img", "script", "svg", "title"} & set(found.tags), set(found.tags)
    assert "&lt;script&gt;document.title=" in rendered  # the title, as text
    assert set(parse_outputs(outputs.read_text(encoding="utf-8"))) == {
        "status", "exit-code", "exit-reason", "reason", "branch", "commit", "pushed", "result",
        "summary", "patch"}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_repl_in_a_terminal_leaves_the_clipboard_title_and_screen_alone(
    term: Terminal, repo: Path, home: Path, tmp_path: Path,
) -> None:
    start_repl(term, repo, home, "--model", f"scripted/{hostile_script(tmp_path)}")
    term.tmux("set-option", "-g", "set-clipboard", "on")
    title = term.tmux("display-message", "-p", "-t", "repl", "#{pane_title}").strip()
    term.type("go")
    term.wait_for(r"Done\. <script>")
    term.wait_for(r"-- turn 1 done")
    term.type("/output f1")  # the command's output, whole
    term.wait_for(re.escape(SHOWN_OSC52), count=3)  # the model's two texts, the output
    visible = term.tmux("capture-pane", "-p", "-J", "-t", "repl").splitlines()  # no history
    assert any("Type a message, or /help" in line for line in visible), "\n".join(visible)
    assert term.tmux("display-message", "-p", "-t", "repl", "#{pane_title}").strip() == title
    assert term.tmux("list-buffers") == ""
    assert sum(SHOWN_OSC52 in line for line in visible) == 3, "\n".join(visible)
    leave(term)
