"""Ranking and the repository map: PageRank itself, the golden map of the fixture, token
budgets, and focus on this project's own repository.

The golden map is what the CLI prints; after a deliberate change to ranking or rendering,
regenerate it from the repository root with

    asyncfc-agent map --repo tests/fixtures/codenav/repo --tokens 256 --focus widget.tsx \\
        > tests/fixtures/codenav/golden_map.txt

and read the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_agent.codenav import (
    build_index,
    estimate_tokens,
    pagerank,
    rank_definitions,
    repo_map,
)
from asyncfc_agent.codenav.rank import name_weight

FIXTURES = Path(__file__).parent / "fixtures" / "codenav"
REPO = FIXTURES / "repo"
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def headers(text: str) -> list[str]:
    """The file paths of a map, in order."""
    return [line[:-1] for line in text.splitlines() if not line.startswith(" ")]


# --- PageRank ----------------------------------------------------------------------------


def test_pagerank_of_a_cycle_is_uniform() -> None:
    ranks = pagerank([{1: 1.0}, {2: 1.0}, {0: 1.0}])
    assert ranks == pytest.approx([1 / 3] * 3)


def test_pagerank_follows_weights_and_sums_to_one() -> None:
    # 0 links to 1 nine times as strongly as to 2; 1 and 2 are dead ends.
    ranks = pagerank([{1: 9.0, 2: 1.0}, {}, {}])
    assert sum(ranks) == pytest.approx(1.0)
    assert ranks[1] > ranks[2] > 0
    assert ranks[1] - ranks[2] == pytest.approx(0.85 * ranks[0] * 0.8)


def test_pagerank_known_values() -> None:
    # Two nodes pointing at each other and a third pointing at the first: solve by hand.
    # r2 = 0.05; r1 = 0.05 + 0.85 r0; r0 = 0.05 + 0.85 (r1 + r2)
    ranks = pagerank([{1: 1.0}, {0: 1.0}, {0: 1.0}], tolerance=1e-12, max_iterations=500)
    r2 = 0.15 / 3
    r0 = (0.05 + 0.85 * (0.05 + r2)) / (1 - 0.85**2)
    assert ranks == pytest.approx([r0, 0.05 + 0.85 * r0, r2])


def test_personalization_pulls_rank_to_the_focus() -> None:
    links: list[dict[int, float]] = [{1: 1.0}, {0: 1.0}, {3: 1.0}, {2: 1.0}]
    uniform = pagerank(links)
    focused = pagerank(links, [1.0, 0.0, 0.0, 0.0])
    assert uniform == pytest.approx([0.25] * 4)
    assert focused[2] == focused[3] == 0.0
    assert focused[0] > focused[1] > 0


def test_pagerank_of_nothing() -> None:
    assert pagerank([]) == []


def test_name_weight_favours_specific_names() -> None:
    assert name_weight("parse_config", 1) == 10.0
    assert name_weight("TotalArea", 1) == 10.0
    assert name_weight("area", 1) == 1.0
    assert name_weight("_helper", 1) == pytest.approx(0.1)
    assert name_weight("render", 9) == pytest.approx(0.1)


# --- ranking and the map of the fixture ---------------------------------------------------


def test_golden_map(cache: Path) -> None:
    result = repo_map(REPO, focus=["widget.tsx"], max_tokens=256, cache_dir=cache)
    golden = (FIXTURES / "golden_map.txt").read_text()
    assert result.text + "\n" == golden
    assert result.tokens <= 256


def test_used_definitions_rank_above_unused_ones(cache: Path) -> None:
    index = build_index(REPO, cache_dir=cache)
    order = [(r.path, r.definition.qualified_name) for r in rank_definitions(index.files)]
    used = order.index(("shapes.ts", "totalArea"))  # used by render.js and widget.tsx
    assert used < order.index(("render.js", "ids"))  # used nowhere
    assert used < order.index(("geometry.py", "largest.key"))


def test_a_limited_ranking_is_the_head_of_the_full_one(cache: Path) -> None:
    index = build_index(REPO, cache_dir=cache)
    full = rank_definitions(index.files, {"render.js"})
    assert rank_definitions(index.files, {"render.js"}, limit=9) == full[:9]
    assert rank_definitions(index.files, limit=1_000) == rank_definitions(index.files)
    assert len(full) == sum(len(t.definitions) for t in index.files.values())


def test_focus_puts_its_file_first(cache: Path) -> None:
    for focus in ["geometry.py", "shapes.go", "render.js"]:
        text = repo_map(REPO, focus=[focus], max_tokens=200, cache_dir=cache).text
        assert headers(text)[0] == focus


def shown_lines(text: str) -> dict[str, set[int]]:
    """Line numbers of the definitions a map shows, by file."""
    shown: dict[str, set[int]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith(" "):
            shown[current].add(int(line.split()[0]))
        else:
            current = line.removesuffix(":")
            shown[current] = set()
    return shown


def test_a_shown_definition_comes_with_the_ones_enclosing_it(cache: Path) -> None:
    index = build_index(REPO, cache_dir=cache)
    ranked = rank_definitions(index.files)
    text = repo_map(REPO, max_tokens=120, cache_dir=cache).text
    nested = 0
    for path, lines in shown_lines(text).items():
        definitions = index.files[path].definitions
        for d in definitions:
            if d.line in lines and d.parent >= 0:
                nested += 1
                assert definitions[d.parent].line in lines
    assert nested > 0
    # Some enclosing definitions are there for context, not for their own rank.
    fitted = repo_map(REPO, max_tokens=120, cache_dir=cache).shown
    assert sum(len(lines) for lines in shown_lines(text).values()) > fitted
    assert len(ranked) > fitted


@pytest.mark.parametrize("budget", [64, 128, 256, 512, 1024, 4096])
def test_the_map_fits_its_token_budget(budget: int, cache: Path) -> None:
    result = repo_map(PROJECT, max_tokens=budget, cache_dir=cache)
    assert 0 < result.tokens <= budget
    assert estimate_tokens(result.text) == result.tokens
    assert 0 < result.shown < result.definitions


def test_a_larger_budget_shows_more(cache: Path) -> None:
    shown = [repo_map(PROJECT, max_tokens=b, cache_dir=cache).shown for b in (128, 512, 2048)]
    assert shown[0] < shown[1] < shown[2]
    small = repo_map(PROJECT, max_tokens=128, cache_dir=cache).text
    large = repo_map(PROJECT, max_tokens=2048, cache_dir=cache).text
    # a prefix of the same ranking; the line-number column is as wide as the map's largest
    assert _lines(small) <= _lines(large)


def _lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines()}


def test_a_budget_too_small_for_one_definition(cache: Path) -> None:
    result = repo_map(REPO, max_tokens=1, cache_dir=cache)
    assert (result.text, result.shown) == ("", 0)


# --- focus on this project ----------------------------------------------------------------


def test_focus_ranks_the_cli_and_the_tool_protocol_at_the_top(cache: Path) -> None:
    focus = ["tools/base.py", "cli/app.py"]
    text = repo_map(PROJECT, focus=focus, max_tokens=400, cache_dir=cache).text
    assert set(headers(text)[:2]) == set(focus)
    unfocused = repo_map(PROJECT, max_tokens=1024, cache_dir=cache).text
    assert "cli/app.py" not in headers(unfocused)[:3]


def test_focus_ranks_the_executor_at_the_top(cache: Path) -> None:
    if not (PROJECT / "agent" / "executor.py").exists():
        pytest.skip("agent/executor.py is not in this checkout")
    focus = ["agent/executor.py", "cli/app.py"]
    text = repo_map(PROJECT, focus=focus, max_tokens=400, cache_dir=cache).text
    assert set(headers(text)[:2]) == set(focus)


def test_focus_brings_in_what_the_focus_uses(cache: Path) -> None:
    # cli/nav.py calls into codenav/api.py, which is nowhere near the top otherwise.
    focused = repo_map(PROJECT, focus=["cli/nav.py"], max_tokens=400, cache_dir=cache).text
    assert headers(focused)[:2] == ["cli/nav.py", "codenav/api.py"]
    unfocused = repo_map(PROJECT, max_tokens=1024, cache_dir=cache).text
    assert "codenav/api.py" not in headers(unfocused)[:10]


def test_the_top_level_of_focus_files_leads_the_ranking(cache: Path) -> None:
    index = build_index(REPO, cache_dir=cache)
    ranked = rank_definitions(index.files, {"shapes.ts"})
    top_level = [d for d in index.files["shapes.ts"].definitions if d.parent < 0]
    head = ranked[: len(top_level)]
    assert sorted(r.definition.line for r in head) == [d.line for d in top_level]
    assert {r.path for r in head} == {"shapes.ts"}
    assert all(r.in_focus for r in head)


def test_unknown_focus_files_are_reported(cache: Path) -> None:
    result = repo_map(REPO, focus=["README.md", "geometry.py"], cache_dir=cache)
    assert result.unknown_focus == ("README.md",)
