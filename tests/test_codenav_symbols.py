"""find_symbol: definitions and references across the fixture's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_agent.codenav import RepoIndex, build_index, find_symbol_text
from asyncfc_agent.codenav.errors import CodeNavError
from asyncfc_agent.codenav.symbols import find_symbol, similar_names

REPO = Path(__file__).parent / "fixtures" / "codenav" / "repo"


@pytest.fixture
def index(tmp_path: Path) -> RepoIndex:
    return build_index(REPO, cache_dir=tmp_path / "cache")


def where(index: RepoIndex, query: str, within: str = "") -> tuple[list[str], list[str]]:
    matches = find_symbol(index, query, within)
    definitions = [f"{path}:{d.line}" for path, d in matches.definitions]
    references = [f"{path}:{line}" for path, line in matches.references]
    return definitions, references


def test_a_function_defined_in_one_language_and_used_from_others(index: RepoIndex) -> None:
    definitions, references = where(index, "totalArea")
    assert definitions == ["Shapes.java:33", "shapes.ts:36"]
    assert references == ["render.js:1", "render.js:20", "widget.tsx:1", "widget.tsx:11"]


def test_a_name_defined_in_every_language(index: RepoIndex) -> None:
    definitions, references = where(index, "Circle")
    assert definitions == ["Shapes.java:20", "Shapes.java:23", "geometry.py:20", "shapes.go:17",
                           "shapes.rs:17", "shapes.rs:26", "shapes.rs:32", "shapes.ts:24"]
    assert references == [
        "geometry.py:51", "render.js:1", "render.js:23", "shapes.go:25", "shapes.go:26",
        "shapes.go:32", "shapes.rs:28", "shapes.ts:44", "shapes.ts:45", "widget.tsx:1",
        "widget.tsx:13",
    ]


def test_a_scope_narrows_the_definitions(index: RepoIndex) -> None:
    definitions, references = where(index, "Shape.area")
    assert definitions == ["Shapes.java:10", "geometry.py:12", "shapes.rs:9", "shapes.ts:4"]
    assert "geometry.py:40" in references  # uses are matched by name alone
    assert where(index, "Circle.Area")[0] == ["shapes.go:32"]  # a Go method's receiver
    assert where(index, "Shapes.Circle.area")[0] == ["Shapes.java:27"]


def test_within_a_path(index: RepoIndex) -> None:
    assert where(index, "Circle", "shapes.go") == (
        ["shapes.go:17"], ["shapes.go:25", "shapes.go:26", "shapes.go:32"]
    )


def test_text_lists_definitions_first_with_each_line(tmp_path: Path) -> None:
    text = find_symbol_text(REPO, "totalArea", cache_dir=tmp_path)
    assert text.splitlines() == [
        "definitions of totalArea (2):",
        "  Shapes.java:33-39  public static double totalArea(List<Shape> shapes)",
        "  shapes.ts:36-38  function totalArea(shapes: Shape[]): number",
        "references to totalArea (4 in 2 files):",
        '  render.js:1  import { Circle, totalArea } from "./shapes";',
        "  render.js:20  return totalArea(shapes).toFixed(PRECISION);",
        '  widget.tsx:1  import { Circle, totalArea, Shape } from "./shapes";',
        "  widget.tsx:11  export const TotalBadge = ({ shapes }: Props) => <b>{totalArea(shapes)}</b>;",
    ]


def test_references_beyond_the_limit_are_counted(tmp_path: Path) -> None:
    text = find_symbol_text(REPO, "Circle", max_references=3, cache_dir=tmp_path)
    assert text.splitlines()[-1] == "  [... 8 more; narrow the search with `path`]"
    assert text.count("\n  geometry.py:51") == 1


def test_nothing_found_suggests_close_names(index: RepoIndex, tmp_path: Path) -> None:
    assert similar_names(index, "circl") == ["Circle", "NewCircle", "unitCircle"]
    text = find_symbol_text(REPO, "total_areas", cache_dir=tmp_path)
    assert text == ("no definition or reference of total_areas; "
                    "similar names: total_area, totalArea, TotalArea")


def test_an_empty_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CodeNavError, match="give a name"):
        find_symbol_text(REPO, "Shape.", cache_dir=tmp_path)
