"""Tags of single files: every definition of each language's fixture, signatures, nesting,
references, and what a file with syntax errors still yields."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_agent.codenav import FileTags, extract_tags, language_for, outline_text
from asyncfc_agent.codenav.errors import CodeNavError
from asyncfc_agent.codenav.index import parse_file
from asyncfc_agent.safefs import Root

REPO = Path(__file__).parent / "fixtures" / "codenav" / "repo"

# (line, kind, qualified name) of every definition in each fixture file, in source order.
EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "geometry.py": [
        (6, "variable", "UNIT"),
        (9, "class", "Shape"),
        (12, "method", "Shape.area"),
        (15, "method", "Shape.describe"),
        (20, "class", "Circle"),
        (23, "method", "Circle.area"),
        (27, "method", "Circle.diameter"),
        (31, "class", "Square"),
        (32, "method", "Square.__init__"),
        (35, "method", "Square.area"),
        (39, "function", "total_area"),
        (43, "function", "largest"),
        (44, "function", "largest.key"),
    ],
    "shapes.go": [
        (7, "constant", "Unit"),
        (9, "variable", "registry"),
        (12, "interface", "Shape"),
        (13, "method", "Shape.Area"),
        (17, "struct", "Circle"),
        (22, "type", "Meters"),
        (25, "function", "NewCircle"),
        (32, "method", "Circle.Area"),
        (37, "function", "TotalArea"),
    ],
    "shapes.rs": [
        (3, "constant", "UNIT"),
        (5, "type", "Area"),
        (8, "trait", "Shape"),
        (9, "method", "Shape.area"),
        (11, "method", "Shape.describe"),
        (17, "struct", "Circle"),
        (21, "enum", "Kind"),
        (26, "impl", "Circle"),
        (27, "method", "Circle.new"),
        (32, "impl", "Circle"),
        (33, "method", "Circle.area"),
        (38, "function", "total_area"),
        (42, "macro", "square"),
        (48, "module", "units"),
        (49, "function", "units.to_meters"),
    ],
    "Shapes.java": [
        (6, "class", "Shapes"),
        (7, "constant", "Shapes.UNIT"),
        (9, "interface", "Shapes.Shape"),
        (10, "method", "Shapes.Shape.area"),
        (13, "enum", "Shapes.Kind"),
        (18, "record", "Shapes.Point"),
        (20, "class", "Shapes.Circle"),
        (23, "constructor", "Shapes.Circle.Circle"),
        (27, "method", "Shapes.Circle.area"),
        (33, "method", "Shapes.totalArea"),
    ],
    "shapes.ts": [
        (1, "variable", "UNIT"),
        (3, "interface", "Shape"),
        (4, "method", "Shape.area"),
        (8, "type", "Kind"),
        (10, "enum", "Color"),
        (15, "class", "Base"),
        (16, "method", "Base.area"),
        (19, "method", "Base.describe"),
        (24, "class", "Circle"),
        (27, "method", "Circle.constructor"),
        (31, "method", "Circle.area"),
        (36, "function", "totalArea"),
        (40, "function", "largest"),
        (43, "module", "Geometry"),
        (44, "function", "Geometry.unitCircle"),
    ],
    "render.js": [
        (3, "variable", "PRECISION"),
        (5, "class", "SvgRenderer"),
        (6, "method", "SvgRenderer.constructor"),
        (10, "method", "SvgRenderer.render"),
        (14, "method", "SvgRenderer.renderOne"),
        (19, "function", "formatArea"),
        (23, "function", "demo"),
        (25, "function", "ids"),
    ],
    "widget.tsx": [
        (3, "interface", "Props"),
        (7, "function", "ShapeList"),
        (11, "function", "TotalBadge"),
        (13, "class", "Legend"),
        (14, "method", "Legend.label"),
    ],
}


def tags_of(name: str) -> FileTags:
    tags = parse_file(Root(REPO), name)
    assert tags is not None
    return tags


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_definition_of_each_language(name: str) -> None:
    tags = tags_of(name)
    found = [(d.line, d.kind, d.qualified_name) for d in tags.definitions]
    assert found == EXPECTED[name]
    assert not tags.has_errors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outline_shows_every_definition_with_its_range(name: str) -> None:
    tags = tags_of(name)
    text = outline_text(REPO / name, name)
    lines = text.splitlines()
    assert lines[0].startswith(f"{name} ({tags.language}, {len(EXPECTED[name])} definitions)")
    assert len(lines) == 1 + len(tags.definitions)
    for line, d in zip(lines[1:], tags.definitions, strict=True):
        assert line.split()[0] == f"{d.line}-{d.end_line}"
        assert line.endswith(d.signature)


@pytest.mark.parametrize(
    ("name", "qualified", "signature"),
    [
        ("geometry.py", "largest", "async def largest(shapes: list[Shape]) -> Shape"),
        ("geometry.py", "Circle", "class Circle(Shape)"),
        ("shapes.go", "Circle.Area", "func (c *Circle) Area() float64"),
        ("shapes.go", "Circle", "type Circle struct"),
        ("shapes.go", "Unit", 'const Unit = "cm"'),
        ("shapes.rs", "Circle.area", "fn area(&self) -> Area"),
        ("Shapes.java", "Shapes.Circle.area", "public double area()"),  # no @Override
        ("Shapes.java", "Shapes.totalArea", "public static double totalArea(List<Shape> shapes)"),
        ("shapes.ts", "largest", "const largest = (shapes: Shape[]): Shape | undefined =>"),
        ("shapes.ts", "Base", "abstract class Base implements Shape"),
        ("render.js", "ids", "function* ids()"),
        ("widget.tsx", "TotalBadge", "const TotalBadge = ({ shapes }: Props) =>"),
    ],
)
def test_signatures_are_the_head_on_one_line(name: str, qualified: str, signature: str) -> None:
    found = [d.signature for d in tags_of(name).definitions if d.qualified_name == qualified]
    assert found[0] == signature


def test_multiline_heads_are_joined() -> None:
    source = b"def f(\n    a: int,\n    b: str,\n) -> None:\n    pass\n"
    (d,) = extract_tags(source, "python").definitions
    assert (d.signature, d.line, d.end_line) == ("def f(a: int, b: str) -> None", 1, 5)


def test_references_skip_the_definitions_own_names() -> None:
    tags = tags_of("render.js")
    assert tags.references["totalArea"] == [1, 20]
    assert tags.references["formatArea"] == [23]  # used by demo, not counted where defined
    assert "SvgRenderer" not in tags.references


def test_references_skip_comments_and_strings() -> None:
    tags = extract_tags(b'# Circle here\nx = "Circle"\ny = Circle()\n', "python")
    assert tags.references["Circle"] == [3]


BROKEN = {
    "python": (
        b"def first():\n    return [1, 2,\n\n@decorated\ndef second():\n    return 2\n\n"
        b"class Third:\n    def method(self):\n        pass\n",
        [(1, "first"), (5, "second"), (8, "Third"), (9, "Third.method")],
    ),
    "go": (
        b"package p\n\nfunc First() int {\n\tx := []int{1, 2\n\treturn x[0]\n}\n\n"
        b"func Second() int { return 2 }\n\ntype Third struct{}\n",
        [(3, "First"), (8, "Second"), (10, "Third")],
    ),
    "typescript": (
        b"export function first(): number {\n  return 1;\n}\n\n"
        b"export function second(a: number, {\n  return a +;\n}\n\n"
        b"export class Third {\n  run(): void {}\n}\n",
        [(1, "first"), (9, "Third"), (10, "Third.run")],
    ),
    "java": (
        b"class A {\n    int first() { int[] x = {1, 2; return 1; }\n"
        b"    int second() { return 2; }\n}\nclass Third {}\n",
        [(1, "A"), (2, "A.first"), (3, "A.second"), (5, "Third")],
    ),
    "rust": (
        b"fn first() -> i32 {\n    let x = (1, 2;\n    x\n}\n\nfn second() -> i32 { 2 }\n\n"
        b"struct Third { a: i32 }\n",
        [(1, "first"), (6, "second"), (8, "Third")],
    ),
}


@pytest.mark.parametrize("language", sorted(BROKEN))
def test_a_file_with_syntax_errors_gives_what_can_be_read(language: str) -> None:
    source, expected = BROKEN[language]
    tags = extract_tags(source, language)
    assert tags.has_errors
    assert [(d.line, d.qualified_name) for d in tags.definitions] == expected


def test_a_definition_cut_by_an_error_ends_where_its_piece_ends() -> None:
    source, _ = BROKEN["python"]
    first = extract_tags(source, "python").definitions[0]
    assert (first.line, first.end_line) == (1, 2)  # not the whole file, as the error spans


def test_outline_says_when_a_file_had_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_bytes(BROKEN["python"][0])
    header = outline_text(tmp_path / "broken.py", "broken.py").splitlines()[0]
    assert header == "broken.py (python, 4 definitions) [syntax errors: showing what could be read]"


def test_languages_by_suffix() -> None:
    found = {p: (s.name if (s := language_for(p)) else None) for p in
             ["a.py", "b.pyi", "c.JS", "d.jsx", "e.mjs", "f.ts", "g.tsx", "h.go", "i.rs",
              "j.java", "k.rb", "l.min.js", "Makefile"]}
    assert found == {
        "a.py": "python", "b.pyi": "python", "c.JS": "javascript", "d.jsx": "javascript",
        "e.mjs": "javascript", "f.ts": "typescript", "g.tsx": "tsx", "h.go": "go",
        "i.rs": "rust", "j.java": "java", "k.rb": None, "l.min.js": None, "Makefile": None,
    }


def test_outline_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "blob.py").write_bytes(b"\0\1\2")
    with pytest.raises(CodeNavError, match="no such file"):
        outline_text(tmp_path / "missing.py", "missing.py")
    with pytest.raises(CodeNavError, match=r"unsupported language \(supported: .*\.py"):
        outline_text(tmp_path / "notes.txt", "notes.txt")
    with pytest.raises(CodeNavError, match="is a directory"):
        outline_text(tmp_path, "here")
    with pytest.raises(CodeNavError, match="not a readable text file"):
        outline_text(tmp_path / "blob.py", "blob.py")


def test_serial_form_round_trips() -> None:
    tags = tags_of("shapes.rs")
    assert FileTags.from_data(tags.to_data()) == tags
