"""Tags of one source file: its definitions (nested, with signatures) and the names it uses.

Tree-sitter recovers from syntax errors by wrapping what it cannot read in error nodes;
where an error swallows more than its own lines, the file is read again a top-level piece
at a time (see ``_recover``). Either way the result says that the file had errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import tree_sitter as ts

from .languages import load_grammar

#: Kinds whose nested functions are methods.
CLASS_LIKE = frozenset({"class", "interface", "struct", "trait", "impl", "enum", "record"})

_MAX_SIGNATURE = 160
_DEFINITION = "definition."

# Go declares types, constants and variables in groups; the keyword sits on the group,
# not on the spec the query captures, and a signature without it reads oddly.
_GROUP_KEYWORD = {"type_spec": "type ", "type_alias": "type ", "const_spec": "const ",
                  "var_spec": "var "}


class Definition(NamedTuple):
    """A named definition. Lines are 1-based and inclusive.

    A named tuple rather than a dataclass: a warm map builds one per definition of the
    repository from the cache, and tuples are made several times faster.
    """

    name: str
    kind: str
    line: int
    end_line: int
    signature: str
    #: Index, in the file's definitions, of the definition this one is nested in; -1 if none.
    parent: int = -1
    #: Dotted name of what this belongs to ("Shape", "Outer.Inner"; a Go method's receiver).
    scope: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(frozen=True, slots=True)
class FileTags:
    """What one file defines and which names it uses (name -> lines, sorted)."""

    language: str
    definitions: tuple[Definition, ...]
    references: Mapping[str, Sequence[int]]
    has_errors: bool = False

    def to_data(self) -> list[Any]:
        """A JSON-ready form: the tag cache stores it and parse workers send it."""
        definitions = [list(d) for d in self.definitions]
        references = {name: list(lines) for name, lines in self.references.items()}
        return [self.language, self.has_errors, definitions, references]

    @classmethod
    def from_data(cls, data: list[Any]) -> FileTags:
        """The inverse of ``to_data``; raises TypeError or ValueError on a damaged form."""
        language, has_errors, definitions, references = data
        return cls(
            language=language,
            definitions=tuple(map(Definition._make, definitions)),
            references=references,  # lists as they are: copying them is most of the cost
            has_errors=has_errors,
        )

    def depth(self, index: int) -> int:
        """How many definitions enclose definition ``index``."""
        depth = 0
        parent = self.definitions[index].parent
        while parent >= 0:
            depth += 1
            parent = self.definitions[parent].parent
        return depth


@dataclass(frozen=True, slots=True)
class _Capture:
    pattern: int
    node: ts.Node
    name: ts.Node
    kind: str
    scope: str
    #: Byte span and last row; narrower than the node's when recovery clips it.
    start: int
    end: int
    end_row: int


def extract_tags(source: bytes, language: str) -> FileTags:
    """Parse ``source`` as ``language`` (a name from ``languages.LANGUAGES``)."""
    grammar = load_grammar(language)
    parser = ts.Parser(grammar.language)
    root = parser.parse(source).root_node
    captures = _definition_captures(grammar.definitions, root, source)
    if root.has_error:
        captures = _recover(parser, grammar.definitions, source, captures)
    definitions = _nest(captures, source)
    own_names = {c.name.start_byte for c in captures}
    references = _references(grammar.references, root, source, own_names)
    return FileTags(language, definitions, references, root.has_error)


def _definition_captures(query: ts.Query, root: ts.Node, source: bytes) -> list[_Capture]:
    """One capture per (node, name); the earliest pattern wins a node several match."""
    best: dict[tuple[int, int, int], _Capture] = {}
    for pattern, groups in ts.QueryCursor(query).matches(root):
        kinds = [key for key in groups if key.startswith(_DEFINITION)]
        if not kinds or "name" not in groups:
            continue
        node, name = groups[kinds[0]][0], groups["name"][0]
        scope = groups["scope"][0] if "scope" in groups else None
        key = (node.start_byte, node.end_byte, name.start_byte)
        if key in best and best[key].pattern <= pattern:
            continue
        best[key] = _Capture(
            pattern, node, name, kinds[0].removeprefix(_DEFINITION),
            _text(source, scope) if scope is not None else "",
            node.start_byte, node.end_byte, node.end_point.row,
        )
    return sorted(best.values(), key=lambda c: (c.start, -c.end))


# A syntax error can swallow the rest of a file: an unclosed bracket in Python turns every
# later definition into part of one error node. Top-level definitions start at column 0
# in every language read here, so the file is parsed again a top-level piece at a time:
# a piece that parses cleanly gives its own definitions, and a broken one keeps those of
# the whole parse that start in it, cut off at its end.
_PIECE_START = re.compile(rb"^[A-Za-z_$@#]", re.MULTILINE)
_ATTACHED = (b"@", b"#[")  # decorators and attributes belong to the line after them


def _recover(
    parser: ts.Parser, query: ts.Query, source: bytes, whole: list[_Capture]
) -> list[_Capture]:
    recovered: list[_Capture] = []
    for start, end in _pieces(source):
        parser.included_ranges = [_byte_range(source, start, end)]
        root = parser.parse(source).root_node
        if not root.has_error:
            recovered += _definition_captures(query, root, source)
            continue
        last = start + len(source[start:end].rstrip())
        last_row = source.count(b"\n", 0, last)
        recovered += [
            replace(c, end=min(c.end, last), end_row=min(c.end_row, last_row))
            for c in whole if start <= c.start < end
        ]
    return sorted(recovered, key=lambda c: (c.start, -c.end))


def _pieces(source: bytes) -> list[tuple[int, int]]:
    starts = [0]
    for match in _PIECE_START.finditer(source):
        at = match.start()
        previous = source[source.rfind(b"\n", 0, max(at - 1, 0)) + 1 : at]
        if at > 0 and not previous.startswith(_ATTACHED):
            starts.append(at)
    return list(zip(starts, [*starts[1:], len(source)], strict=True))


def _byte_range(source: bytes, start: int, end: int) -> ts.Range:
    def point(at: int) -> ts.Point:
        line_start = source.rfind(b"\n", 0, at) + 1
        return ts.Point(source.count(b"\n", 0, at), at - line_start)

    return ts.Range(point(start), point(end), start, end)


def _nest(captures: list[_Capture], source: bytes) -> tuple[Definition, ...]:
    """Definitions in source order, each linked to the innermost one enclosing it."""
    result: list[Definition] = []
    spans: list[tuple[int, int]] = []
    open_: list[int] = []  # indices of definitions that may still enclose the next one
    for capture in captures:
        span = (capture.start, capture.end)
        while open_ and not _encloses(spans[open_[-1]], span):
            open_.pop()
        parent = open_[-1] if open_ else -1
        kind = capture.kind
        if kind == "function" and parent >= 0 and result[parent].kind in CLASS_LIKE:
            kind = "method"
        scope = capture.scope or (result[parent].qualified_name if parent >= 0 else "")
        result.append(Definition(
            name=_text(source, capture.name),
            kind=kind,
            line=capture.node.start_point.row + 1,
            end_line=capture.end_row + 1,
            signature=signature(capture.node, source),
            parent=parent,
            scope=scope,
        ))
        spans.append(span)
        open_.append(len(result) - 1)
    return tuple(result)


def _encloses(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    # Equal spans are siblings: Java's `int a, b;` defines two names with one node.
    return outer != inner and outer[0] <= inner[0] and inner[1] <= outer[1]


def _references(
    query: ts.Query, root: ts.Node, source: bytes, skip: set[int]
) -> dict[str, list[int]]:
    lines: dict[str, set[int]] = {}
    for nodes in ts.QueryCursor(query).captures(root).values():
        for node in nodes:
            start = node.start_byte
            if start in skip:
                continue
            name = source[start:node.end_byte].decode("utf-8", "replace")
            lines.setdefault(name, set()).add(node.start_point.row + 1)
    return {name: sorted(found) for name, found in lines.items()}


def _text(source: bytes, node: ts.Node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


_SPACE = re.compile(r"\s+")
_ANNOTATIONS = re.compile(r"^(?:@[\w.]+(?:\([^)]*\))?\s+)+")
_OPEN = re.compile(r"([(\[<])\s+")
_CLOSE = re.compile(r",?\s+([)\]>])")


def signature(node: ts.Node, source: bytes) -> str:
    """The head of a definition on one line: everything before its body, else its first
    line, with whitespace collapsed and the body's opening `{` or `:` dropped."""
    body = _body(node)
    if body is not None:
        text = source[node.start_byte:body.start_byte].decode("utf-8", "replace")
    else:
        text = _text(source, node).split("\n", 1)[0]
    if "\n" in text or "  " in text or "\t" in text:  # most heads are one tidy line
        text = _CLOSE.sub(r"\1", _OPEN.sub(r"\1", _SPACE.sub(" ", text)))
    if text.startswith("@"):  # Java and TypeScript keep annotations inside the node
        text = _ANNOTATIONS.sub("", text)
    text = _GROUP_KEYWORD.get(node.type, "") + text.strip().rstrip("{:;=").rstrip()
    if len(text) > _MAX_SIGNATURE:
        text = text[: _MAX_SIGNATURE - 1] + "…"
    return text


def _body(node: ts.Node) -> ts.Node | None:
    """The body of a definition, looking one level down for `const f = () => {...}`."""
    for candidate in (node, *node.named_children):
        body = candidate.child_by_field_name("body")
        if body is not None:
            return body
        value = candidate.child_by_field_name("value")
        if value is not None and (body := value.child_by_field_name("body")) is not None:
            return body
    return None
