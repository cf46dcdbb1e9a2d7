"""How much of a node one batch task reserves.

An agent task spends most of its time waiting on the model: what it needs of its node is a
little CPU and memory for the agent, and room for its sandbox's commands now and then. A
whole CPU per task would cap a 2-core machine at two tasks, whatever ``--workers`` says. So
a task's reservation is made to fit: when ``--workers N`` is given, the largest share (at
most one CPU and 2 GiB) with which N tasks fit on the cluster's nodes as they are; without
it, one CPU and 2 GiB, so the cluster's size sets how many run. A reservation the user gives
is kept as given, and when it keeps the workers from all running at once, that is said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: A task's reservation when nothing asks for less: one CPU, 2 GiB.
FULL_CPUS = 1.0
FULL_MEMORY = 2 * 1024**3
#: Below these a reservation stops meaning anything; N tasks then share what there is.
MIN_CPUS = 0.01
MIN_MEMORY = 64 * 1024**2


@dataclass(frozen=True)
class Resources:
    """What one task asks of its node; ``None``: made to fit (see the module's text)."""

    cpus: float | None = None
    memory_bytes: int | None = None  # 0: no memory reservation


@dataclass(frozen=True)
class Node:
    """What one live node offers to tasks."""

    cpus: float
    memory_bytes: float


def fits(share: float, capacities: list[float]) -> int:
    """How many tasks of this share the nodes hold together (each node whole tasks only)."""
    return sum(math.floor(c / share + 1e-9) for c in capacities)


def largest_share(wanted: int, capacities: list[float], most: float, least: float) -> float:
    """The largest share, at most ``most``, of which ``wanted`` tasks fit on the nodes."""
    if fits(most, capacities) >= wanted:
        return most
    # a task's share is some node's capacity split k ways: try those, largest first
    candidates = sorted(
        {c / k for c in capacities if c > 0 for k in range(1, wanted + 1) if c / k <= most},
        reverse=True,
    )
    for share in candidates:
        if share < least:
            break
        if fits(share, capacities) >= wanted:
            return share
    return least


def plan(requested: Resources, workers: int | None, nodes: list[Node]) -> tuple[Resources, str | None]:
    """The reservation each task makes, and a note when the workers cannot all run at once."""
    cpus = requested.cpus
    memory = requested.memory_bytes
    if cpus is None:
        cpus = FULL_CPUS
        if workers and nodes:
            # Ray counts CPUs in ten-thousandths: rounded down, the share still fits
            cpus = math.floor(largest_share(workers, [n.cpus for n in nodes], FULL_CPUS, MIN_CPUS) * 1e4) / 1e4
    if memory is None:
        memory = FULL_MEMORY
        if workers and nodes:
            memory = int(largest_share(workers, [n.memory_bytes for n in nodes], FULL_MEMORY, MIN_MEMORY))
    chosen = Resources(cpus=cpus, memory_bytes=memory)
    note = None
    if workers and nodes:
        room = fits(cpus, [n.cpus for n in nodes])
        if memory:
            room = min(room, fits(memory, [n.memory_bytes for n in nodes]))
        if room < workers:
            note = (f"each task reserves {cpus:g} CPU and {memory / 1024**3:.2g} GiB: the cluster "
                    f"runs {room} at once, not the {workers} workers asked for")
    return chosen, note
