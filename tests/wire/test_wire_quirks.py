"""Every provider's format with every quirk of real servers: the run goes on past it and
ends with exit 0 or 1 (or the quirk's own exit reason), no traceback, and the server saw
no request its provider would reject."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import make_repo
from wire.quirks import QUIRKS, cases, expected_end, first_replies
from wire.runs import quick_script, solve_here
from wire.server import WireServer


@pytest.mark.parametrize(("quirk", "provider"), cases(QUIRKS))
def test_the_run_goes_past_the_quirk_with_valid_requests(quirk: str, provider: str, tmp_path: Path) -> None:
    first = first_replies(quirk, provider)
    assert first is not None
    repo = make_repo(tmp_path)
    with WireServer(provider, first + quick_script()) as server:
        run = solve_here(server, repo, tmp_path / "out")
    assert "Traceback" not in run.output, run.output
    assert run.code in (0, 1), run.output
    assert server.violations == []
    assert run.reason == expected_end(quirk, provider), run.output
    if run.reason == "submitted":
        # it went on past the quirk: the edit of the script's second half was made
        assert "edit_file" in [f["tool"] for f in run.result["futures"]], run.output
