"""Code navigation: outlines, symbol search and ranked repository maps from tree-sitter.

The parts, by concern: ``languages`` (grammars and the tag queries under ``queries/``),
``tags`` (one file's definitions and references), ``files`` and ``index`` (a
repository's tags, through ``cache``), ``rank`` (PageRank over the files that use each
other's names), ``render`` (outlines, and maps fitted to a token budget), ``symbols``
(definitions and uses of a name) and ``api`` (the entry points for tools and the CLI).
"""

from .api import (
    DEFAULT_MAP_TOKENS,
    DEFAULT_MAX_REFERENCES,
    RepoMapResult,
    find_symbol_text,
    outline_file,
    outline_text,
    repo_map,
)
from .cache import default_cache_dir
from .errors import CodeNavError
from .index import RepoIndex, build_index
from .languages import LANGUAGE_NAMES, LANGUAGES, SUPPORTED_SUFFIXES, language_for
from .rank import RankedDefinition, pagerank, rank_definitions
from .render import estimate_tokens
from .tags import Definition, FileTags, extract_tags

__all__ = [
    "DEFAULT_MAP_TOKENS",
    "DEFAULT_MAX_REFERENCES",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "SUPPORTED_SUFFIXES",
    "CodeNavError",
    "Definition",
    "FileTags",
    "RankedDefinition",
    "RepoIndex",
    "RepoMapResult",
    "build_index",
    "default_cache_dir",
    "estimate_tokens",
    "extract_tags",
    "find_symbol_text",
    "language_for",
    "outline_file",
    "outline_text",
    "pagerank",
    "rank_definitions",
    "repo_map",
]
