"""The languages code navigation reads: file suffixes, grammars and tag queries.

Grammars come from the per-language wheels, which carry compiled parsers, so nothing is
downloaded at run time. Grammars and queries load on first use: a run that only touches
Python files never loads the Rust parser.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import PurePosixPath

import tree_sitter as ts


@dataclass(frozen=True)
class LanguageSpec:
    """A language: its name, its file suffixes, and where its grammar lives."""

    name: str
    suffixes: tuple[str, ...]
    module: str  # the grammar wheel's module
    function: str  # the function of that module that returns the grammar
    queries: tuple[str, ...]  # folders under queries/, read in this order


_ECMA = ("ecmascript",)

LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec("python", (".py", ".pyi"), "tree_sitter_python", "language", ("python",)),
    LanguageSpec(
        "javascript", (".js", ".jsx", ".mjs", ".cjs"), "tree_sitter_javascript", "language",
        (*_ECMA, "javascript"),
    ),
    LanguageSpec(
        "typescript", (".ts", ".mts", ".cts"), "tree_sitter_typescript", "language_typescript",
        (*_ECMA, "typescript"),
    ),
    LanguageSpec(
        "tsx", (".tsx",), "tree_sitter_typescript", "language_tsx", (*_ECMA, "typescript")
    ),
    LanguageSpec("go", (".go",), "tree_sitter_go", "language", ("go",)),
    LanguageSpec("rust", (".rs",), "tree_sitter_rust", "language", ("rust",)),
    LanguageSpec("java", (".java",), "tree_sitter_java", "language", ("java",)),
)

_BY_SUFFIX = {suffix: spec for spec in LANGUAGES for suffix in spec.suffixes}
_BY_NAME = {spec.name: spec for spec in LANGUAGES}

#: The languages in words, for descriptions and messages.
LANGUAGE_NAMES = "Python, JavaScript, TypeScript, Go, Rust and Java"

#: Every suffix with a grammar, for messages about unsupported files.
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted(_BY_SUFFIX))


def language_for(path: str) -> LanguageSpec | None:
    """The language of a file by its suffix; None when no grammar reads it."""
    name = PurePosixPath(path).name
    if name.endswith(".min.js"):  # minified bundles: one huge line, no useful names
        return None
    return _BY_SUFFIX.get(PurePosixPath(name).suffix.lower())


@dataclass(frozen=True)
class Grammar:
    """A loaded language: the parser's language and its two compiled tag queries."""

    language: ts.Language
    definitions: ts.Query
    references: ts.Query


@functools.cache
def load_grammar(name: str) -> Grammar:
    spec = _BY_NAME[name]
    capsule = getattr(importlib.import_module(spec.module), spec.function)()
    language = ts.Language(capsule)
    return Grammar(
        language=language,
        definitions=ts.Query(language, _query_text(spec.queries, "definitions")),
        references=ts.Query(language, _query_text(spec.queries, "references")),
    )


def _query_text(folders: tuple[str, ...], kind: str) -> str:
    """The query of ``kind`` for a language: its folders' files, joined in order."""
    root = files(__package__) / "queries"
    texts = [(root / folder / f"{kind}.scm") for folder in folders]
    return "\n".join(t.read_text(encoding="utf-8") for t in texts if t.is_file())


@functools.cache
def tags_version() -> str:
    """Changes whenever the tags of an unchanged file could: new queries or grammars."""
    digest = hashlib.sha256()
    for spec in LANGUAGES:
        for kind in ("definitions", "references"):
            digest.update(_query_text(spec.queries, kind).encode())
    for module in ["tree_sitter", *sorted({spec.module for spec in LANGUAGES})]:
        digest.update(f"{module}={_installed(module)};".encode())
    return digest.hexdigest()[:16]


def _installed(module: str) -> str:
    """Where a module is installed and when: an upgrade changes it. (Package metadata
    would say the version too, but reading it costs more than the whole warm map's
    start.)"""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return "?"
    try:
        st = os.stat(spec.origin)
    except OSError:
        return spec.origin
    return f"{spec.origin}:{st.st_size}:{st.st_mtime_ns}"
