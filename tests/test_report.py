"""``asyncfc-agent report`` on a real demo trajectory: the terminal summary, the HTML page
and its SVG time line, and the page as headless Chromium draws it."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from .demo_run import DemoRun, cli, cli_env, demo_json_run
from .png import colours, read_png

pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    run = demo_json_run(tmp_path_factory.getbasetemp())
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(scope="session")
def page(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    html = tmp_path_factory.mktemp("report") / "run.html"
    proc = subprocess.run(cli("report", str(demo.out), "--html", str(html)), capture_output=True,
                          text=True, env=cli_env(demo.out.parent), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return html


def timeline(page: Path) -> ET.Element:
    """The page's time line, parsed as the XML it is."""
    text = page.read_text()
    match = re.search(r'<svg id="timeline".*?</svg>', text, re.S)
    assert match is not None
    return ET.fromstring(match.group(0))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def count(demo: DemoRun, kind: str) -> int:
    return sum(1 for e in demo.events() if e["kind"] == kind)


def test_one_bar_per_future_and_one_segment_per_model_request(demo: DemoRun, page: Path) -> None:
    svg = timeline(page)
    groups = svg.findall(f"{SVG}g")
    futures = [g for g in groups if "future" in classes(g)]
    requests = [g for g in groups if "model-request" in classes(g)]
    # the model's futures, then the runs the executor started ahead of it (marked)
    ids = [g.get("data-future") for g in futures]
    mine = [i for i in ids if i and i.startswith("f")]
    ahead = [g for g in futures if not str(g.get("data-future")).startswith("f")]
    assert mine == [f"f{i}" for i in range(1, 6)] and ids == mine + [g.get("data-future") for g in ahead]
    assert len(futures) == count(demo, "future_created")
    for g in ahead:
        bar = next(r for r in g.iter(f"{SVG}rect") if "bar" in classes(r))
        assert "speculative" in classes(bar) and "(speculative)" in "".join(g.itertext())
    assert len(requests) == count(demo, "request_sent") == 6
    for g in futures:
        bars = [r for r in g.iter(f"{SVG}rect") if "bar" in classes(r)]
        assert len(bars) == 1
        assert classes(bars[0]) & {"ok", "nonzero", "failed", "cancelled", "timed-out"}
    for g in requests:
        assert len([r for r in g.iter(f"{SVG}rect") if "request" in classes(r)]) == 1
    delivered = [p for p in svg.iter(f"{SVG}path") if "delivered" in classes(p)]
    assert len(delivered) == count(demo, "future_delivered") == 5


def test_bars_are_coloured_by_outcome_and_placed_in_time(page: Path) -> None:
    svg = timeline(page)
    bars = {g.get("data-future"): next(r for r in g.iter(f"{SVG}rect") if "bar" in classes(r))
            for g in svg.findall(f"{SVG}g") if "future" in classes(g)}
    assert "nonzero" in classes(bars["f1"])  # the whole suite fails before the fix
    assert "ok" in classes(bars["f5"])  # the parser tests pass after it
    # the first test run is long and overlaps the model: it starts before f2, ends after f3
    x = {k: float(r.get("x", 0)) for k, r in bars.items()}
    end = {k: x[k] + float(r.get("width", 0)) for k, r in bars.items()}
    assert x["f1"] < x["f2"] < x["f3"] < end["f1"] < x["f5"]


def test_the_page_loads_nothing_from_the_network(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<script|<link""", text, re.I)
    assert re.findall(r"https?://[^\s\"']+", text) == ["http://www.w3.org/2000/svg"]  # a namespace


def time_figures(events: list[dict[str, Any]]) -> list[float]:
    """Agent, model, tool and saved seconds, by their definitions, from the raw events: the
    agent's time runs from the start to the last response or result; the model's is the sum
    of its requests; the tools' the sum of the futures that started; saved is the overlap.
    Runs started ahead of the model (speculative) are counted apart, so left out here."""
    ahead = {e["future"] for e in events if e["kind"] == "future_created" and e.get("speculative")}
    at = {kind: [e for e in events if e["kind"] == kind and e.get("future") not in ahead]
          for kind in ("run_started", "request_sent", "response_done", "future_started", "future_resolved")}
    end = max(e["t"] for e in at["response_done"] + at["future_resolved"])
    agent = end - at["run_started"][0]["t"]
    sent = {e["turn"]: e["t"] for e in at["request_sent"]}
    model = sum(e["t"] - sent[e["turn"]] for e in at["response_done"])
    started = {e["future"] for e in at["future_started"]}
    tools = sum(e["duration_s"] for e in at["future_resolved"] if e["future"] in started)
    return [agent, model, tools, max(0.0, model + tools - agent)]


def test_the_terminal_report(demo: DemoRun) -> None:
    proc = subprocess.run(cli("report", str(demo.trajectory)), capture_output=True, text=True,
                          env={**cli_env(demo.out.parent), "COLUMNS": "120"}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("solved (submitted) · run ")
    # a run started ahead of the model after the edit is counted apart from the tools
    shown = re.fullmatch(r"time: agent ([\d.]+) s · model ([\d.]+) s · tools ([\d.]+) s · "
                         r"overlap saved ([\d.]+) s", lines[1])
    assert shown is not None, lines[1]
    expected = time_figures(demo.events())
    assert [float(x) for x in shown.groups()] == pytest.approx(expected, abs=0.051)
    assert expected[3] > 1.0  # the test suite ran while the model worked
    ahead = [e for e in demo.events() if e["kind"] == "future_created" and e.get("speculative")]
    if ahead:  # on a line of its own, so the time line stays whole
        assert re.fullmatch(rf"speculative: {len(ahead)} started ahead of the model, \d+ joined, "
                            r"[\d.]+ s \(apart from tools\)", lines[2]), lines[2]
    else:
        assert lines[2].startswith("critical path: "), lines[2]
    rows = [re.match(r"(f\d+)\s+(\S+)\s.*?(resolved|failed|cancelled|timed out)", line)
            for line in lines if re.match(r"f\d+ ", line)]
    assert [m.groups() if m else None for m in rows] == [
        ("f1", "run_tests", "resolved"), ("f2", "grep", "resolved"),
        ("f3", "read_file", "resolved"), ("f4", "edit_file", "resolved"),
        ("f5", "run_tests", "resolved"),
    ]
    steps = lines[lines.index("critical path:") + 1 :]
    last_turn = max(e["turn"] for e in demo.events() if e["kind"] == "request_sent")
    # from the first request to the last one, through requests and futures of the run
    assert steps[0].split()[:2] == ["turn", "1"] and steps[-1].split()[:2] == ["turn", str(last_turn)]
    assert all(re.match(r"\s*(turn \d+|f\d+ \w+) ", step) for step in steps), steps


def test_report_of_a_missing_trajectory_says_so(tmp_path: Path) -> None:
    proc = subprocess.run(cli("report", str(tmp_path)), capture_output=True, text=True,
                          env=cli_env(tmp_path), timeout=60)
    assert proc.returncode == 2
    assert f"no trajectory at {tmp_path / 'trajectory.jsonl'}" in proc.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package: chromium)")
def test_the_page_renders_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
         "--window-size=1200,800", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.is_file(), proc.stderr[-2000:]
    width, height, _ = read_png(shot)
    assert (width, height) == (1200, 800)
    found = colours(shot, step=1)
    assert len(found) > 50  # text, tables and bars, not a blank page
    # the SVG was drawn: the model lane's purple and the bars' outcome colours are there
    for rgb in ((0x6F, 0x42, 0xC1), (0xD4, 0xA7, 0x2C), (0x2D, 0xA4, 0x4E)):
        assert bytes(rgb) in found
