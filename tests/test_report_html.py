"""The HTML time line of runs with known events: outcome colours, markers, positions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from asyncfc_agent.agent.timeline import RunTracker
from asyncfc_agent.cli.report_html import LABEL_W, PLOT_W, page, tick_step

from .tui_events import every_state, finished_run

SVG = "{http://www.w3.org/2000/svg}"


def timeline(html: str) -> ET.Element:
    match = re.search(r'<svg id="timeline".*?</svg>', html, re.S)
    assert match is not None
    return ET.fromstring(match.group(0))


def bars(svg: ET.Element) -> dict[str, ET.Element]:
    return {
        str(g.get("data-future")): next(r for r in g.iter(f"{SVG}rect")
                                        if "bar" in r.get("class", "").split())
        for g in svg.iter(f"{SVG}g") if g.get("class") == "future"
    }


def test_each_outcome_has_its_colour() -> None:
    svg = timeline(page(RunTracker.from_events(every_state())))
    assert {k: r.get("class") for k, r in bars(svg).items()} == {
        "f1": "bar running", "f2": "bar ok", "f3": "bar ok", "f4": "bar cancelled",
        "f5": "bar waiting", "f6": "bar failed",
        "f7": "bar timed-out critical",  # the run is cut short: f7 is the last to end
    }


def test_bars_and_segments_sit_at_their_times() -> None:
    # the run starts at t = 1 and its activity ends at 8: 7 s over the plot's width
    tracker = RunTracker.from_events(finished_run())
    svg = timeline(page(tracker))
    px = PLOT_W / 7.0
    f1 = bars(svg)["f1"]
    assert float(f1.get("x", 0)) == pytest.approx(LABEL_W + 1.0 * px, abs=0.1)
    assert float(f1.get("width", 0)) == pytest.approx(5.0 * px, abs=0.1)
    requests = [r for r in svg.iter(f"{SVG}rect") if r.get("class", "").startswith("request")]
    assert [(round(float(r.get("x", 0)) - LABEL_W), round(float(r.get("width", 0))))
            for r in requests] == [(0, round(2 * px)), (round(2.1 * px), round(0.9 * px)),
                                   (round(6 * px), round(1 * px))]
    # turns 1 and 3 and f1 are on the critical path, turn 2 is not
    assert [r.get("class") for r in requests] == ["request critical", "request", "request critical"]
    assert "critical" in f1.get("class", "")
    delivered = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "delivered"]
    assert len(delivered) == 2
    handles = [c for c in svg.iter(f"{SVG}circle") if c.get("class") == "handle"]
    assert len(handles) == 1


def test_stale_futures_are_labelled_and_everything_is_escaped() -> None:
    html = page(RunTracker.from_events(every_state()))
    svg = timeline(html)
    stale = [t.get("class") for t in svg.iter(f"{SVG}text") if t.text == "stale"]
    assert stale == ["stale", "stale"]  # f1 and f2
    assert 'command=&quot;cat ${f1}&quot;' in html


@pytest.mark.parametrize(("span", "step"), [(0.5, 0.1), (7.0, 1.0), (13.8, 2.0), (95.0, 20.0)])
def test_axis_ticks_are_round(span: float, step: float) -> None:
    assert tick_step(span) == pytest.approx(step)
