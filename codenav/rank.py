"""Which definitions matter: PageRank over the files, linked by the names they share.

A file that uses a name points at every file that defines it. PageRank over those links,
personalised to the files in focus, says how central each file is to the focus; a file's
rank then flows along its links to the definitions it uses, so a definition ranks high
when files that matter use it. Each file also keeps a share of its own rank for its own
definitions, most of it for the outermost ones: all of its rank for a focus file (what
the reader works on matters by itself), and what does not flow out for the others.

Names are matched by spelling, across languages, as a reader skimming the code would.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .tags import Definition, FileTags

DAMPING = 0.85
#: Weight of links out of focus files: what the focus uses is what the reader needs next.
FOCUS_LINK_BOOST = 50.0
#: Share of the random jumps that land on focus files (the rest land anywhere).
FOCUS_JUMP_SHARE = 0.9
#: A name defined in more files than this is too generic to say anything (`run`, `get`).
MAX_DEFINERS = 30
#: A nested definition's weight in its file's own share, relative to its parent's.
NESTED_SHARE = 0.25
#: Weight of a link between languages: a TypeScript `Config` and a Python `Config` share
#: a spelling far more often than a meaning.
CROSS_LANGUAGE = 0.1

#: Languages whose files use each other's names.
_FAMILY = {"typescript": "ecmascript", "tsx": "ecmascript", "javascript": "ecmascript"}


def pagerank(
    links: Sequence[Mapping[int, float]],
    personalization: Sequence[float] | None = None,
    *,
    damping: float = DAMPING,
    tolerance: float = 1e-9,
    max_iterations: int = 100,
) -> list[float]:
    """Weighted PageRank by power iteration. ``links[i]`` maps node j to the weight of
    i -> j; ``personalization`` is where random jumps and dead ends lead (uniform if None).
    The ranks sum to 1."""
    n = len(links)
    if n == 0:
        return []
    jump = _normalized(personalization) if personalization is not None else [1.0 / n] * n
    out = [_normalized_links(node_links) for node_links in links]
    dead_ends = [i for i, node_links in enumerate(out) if not node_links]
    rank = list(jump)
    for _ in range(max_iterations):
        stranded = damping * sum(rank[i] for i in dead_ends)
        new = [(1.0 - damping + stranded) * p for p in jump]
        for i, node_links in enumerate(out):
            flow = damping * rank[i]
            for j, weight in node_links:
                new[j] += flow * weight
        change = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if change < n * tolerance:
            break
    return rank


def _normalized(values: Sequence[float]) -> list[float]:
    total = sum(values)
    if total <= 0:
        return [1.0 / len(values)] * len(values)
    return [v / total for v in values]


def _normalized_links(node_links: Mapping[int, float]) -> list[tuple[int, float]]:
    total = sum(node_links.values())
    return [(j, w / total) for j, w in node_links.items()] if total > 0 else []


@dataclass(frozen=True, slots=True)
class RankedDefinition:
    path: str
    index: int  # position in the file's definitions
    definition: Definition
    score: float
    #: The PageRank of the definition's file: how central the file is to the focus.
    file_rank: float
    #: Whether the definition's file is one of the focus files.
    in_focus: bool = False


@dataclass
class _Graph:
    links: list[dict[int, float]]
    #: Per file, the (defining file, name, weight) behind its links.
    uses: list[list[tuple[int, str, float]]]


def rank_definitions(
    files: Mapping[str, FileTags], focus: Collection[str] = (), limit: int | None = None
) -> list[RankedDefinition]:
    """The definitions, most relevant first (ties go by path and line), after the
    top-level definitions of the focus files; only the first ``limit`` when given, which
    spares sorting all of a large repository's."""
    paths = sorted(files)
    focus_ids = {i for i, path in enumerate(paths) if path in focus}
    graph = _build_graph(files, paths, focus_ids)
    ranks = pagerank(graph.links, _jumps(len(paths), focus_ids))
    used = _spread(graph, ranks)
    # Plain tuples sort fast; objects are made for the ones returned. The focus files'
    # top-level definitions lead: they are the outline of what the reader works on.
    keys = [
        (not (j in focus_ids and d.parent < 0), -round(score, 12), path, d.line, k, j)
        for j, path in enumerate(paths)
        for k, (d, score) in enumerate(zip(
            files[path].definitions,
            _scores(files[path], j, ranks[j] * _kept_share(graph, j, focus_ids), used),
            strict=True,
        ))
    ]
    top = sorted(keys) if limit is None or limit >= len(keys) else heapq.nsmallest(limit, keys)
    return [
        RankedDefinition(path, k, files[path].definitions[k], -score, ranks[j], j in focus_ids)
        for _, score, path, _line, k, j in top
    ]


def _build_graph(files: Mapping[str, FileTags], paths: list[str], focus: set[int]) -> _Graph:
    definers: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        for name in {d.name for d in files[path].definitions}:
            definers.setdefault(name, []).append(i)
    weights = {name: name_weight(name, len(targets)) for name, targets in definers.items()
               if len(targets) <= MAX_DEFINERS}
    family = [_FAMILY.get(files[p].language, files[p].language) for p in paths]
    graph = _Graph([{} for _ in paths], [[] for _ in paths])
    for i, path in enumerate(paths):
        boost = FOCUS_LINK_BOOST if i in focus else 1.0
        references = files[path].references
        links, uses = graph.links[i], graph.uses[i]
        # Most names a file uses are its locals; intersecting in C skips them cheaply.
        for name in references.keys() & weights.keys():
            weight = boost * weights[name] * math.sqrt(len(references[name]))
            for j in definers[name]:
                if j == i:  # a file using its own names says nothing about the others
                    continue
                w = weight if family[j] == family[i] else weight * CROSS_LANGUAGE
                links[j] = links.get(j, 0.0) + w
                uses.append((j, name, w))
    return graph


def name_weight(name: str, definers: int) -> float:
    """How much a use of ``name`` says: long specific names much, private or common ones
    little."""
    weight = 1.0
    core = name.strip("_")
    mixed_case = core != core.lower() and core != core.upper()
    if len(name) >= 8 and ("_" in core or mixed_case):
        weight *= 10.0
    if name.startswith("_"):
        weight *= 0.1
    if definers > 5:
        weight *= 0.1
    return weight


def _jumps(n: int, focus: set[int]) -> list[float] | None:
    if not focus:
        return None
    return [(1.0 - FOCUS_JUMP_SHARE) / n + (FOCUS_JUMP_SHARE / len(focus) if i in focus else 0.0)
            for i in range(n)]


def _spread(graph: _Graph, ranks: list[float]) -> dict[tuple[int, str], float]:
    """Each file's rank, split over the names it uses in proportion to their weights."""
    used: dict[tuple[int, str], float] = {}
    for i, uses in enumerate(graph.uses):
        total = sum(graph.links[i].values())
        if total <= 0:
            continue
        share = DAMPING * ranks[i] / total
        for j, name, weight in uses:
            used[(j, name)] = used.get((j, name), 0.0) + share * weight
    return used


def _kept_share(graph: _Graph, file_id: int, focus: set[int]) -> float:
    """The part of a file's rank it keeps for its own definitions."""
    if file_id in focus or not graph.links[file_id]:
        return 1.0
    return 1.0 - DAMPING  # the rest flowed to the names it uses


def _scores(
    tags: FileTags, file_id: int, kept: float, used: Mapping[tuple[int, str], float]
) -> list[float]:
    """The score of each of a file's definitions: the rank flowing to its name, plus its
    part of what the file keeps, most of which goes to the outermost definitions, since
    those say what the file is about."""
    if not tags.definitions:
        return []
    weights: list[float] = []
    for d in tags.definitions:  # a parent always comes before what it encloses
        weights.append(1.0 if d.parent < 0 else weights[d.parent] * NESTED_SHARE)
    own = kept / sum(weights)
    # Definitions sharing a name (overloads, `area` of each shape) share its score.
    same_name = Counter(d.name for d in tags.definitions)
    return [used.get((file_id, d.name), 0.0) / same_name[d.name] + own * w
            for d, w in zip(tags.definitions, weights, strict=True)]
