"""The reservation a batch task makes, fitted to ``--workers`` and the cluster's nodes."""

from __future__ import annotations

import pytest
from asyncfc_agent.batch.reserve import FULL_MEMORY, Node, Resources, fits, plan

GIB = 1024**3


def test_without_workers_a_task_reserves_a_cpu_and_two_gib() -> None:
    chosen, note = plan(Resources(), None, [Node(2, 16 * GIB)])
    assert chosen == Resources(cpus=1.0, memory_bytes=FULL_MEMORY) and note is None


@pytest.mark.parametrize(("workers", "cpus"), [(1, 1.0), (2, 1.0), (3, 2 / 3), (4, 0.5), (8, 0.25)])
def test_workers_past_the_cpus_of_a_two_core_machine_share_them(workers: int, cpus: float) -> None:
    chosen, note = plan(Resources(), workers, [Node(2, 16 * GIB)])
    assert chosen.cpus == pytest.approx(cpus, abs=1e-4)
    assert chosen.memory_bytes == 2 * GIB  # 16 GiB holds 8 tasks of 2 GiB
    assert note is None
    assert fits(chosen.cpus or 0, [2]) >= workers


def test_the_share_fits_whole_tasks_on_each_node_of_a_cluster() -> None:
    # 5 tasks on two 2-CPU nodes: 4/5 of a CPU each would fit only 2 per node
    nodes = [Node(2, 8 * GIB), Node(2, 8 * GIB)]
    chosen, note = plan(Resources(), 5, nodes)
    assert chosen.cpus == pytest.approx(2 / 3, abs=1e-4)  # 3 on each node
    assert fits(chosen.cpus or 0, [2, 2]) >= 5 and note is None
    # a bigger node takes more of them
    chosen, _ = plan(Resources(), 5, [Node(4, 8 * GIB), Node(1, 8 * GIB)])
    assert chosen.cpus == 1.0  # 4 + 1


def test_memory_shrinks_too_when_the_workers_do_not_fit_in_it() -> None:
    chosen, note = plan(Resources(), 10, [Node(16, 4 * GIB)])
    assert chosen.memory_bytes is not None and chosen.memory_bytes * 10 <= 4 * GIB
    assert chosen.memory_bytes > GIB / 4 and note is None


def test_a_reservation_the_user_gives_is_kept_and_its_cap_is_said() -> None:
    chosen, note = plan(Resources(cpus=1.0, memory_bytes=0), 4, [Node(2, 16 * GIB)])
    assert chosen == Resources(cpus=1.0, memory_bytes=0)
    assert note is not None and "runs 2 at once, not the 4 workers" in note


def test_a_cluster_too_small_for_any_sensible_share_says_so() -> None:
    chosen, note = plan(Resources(), 1000, [Node(2, 16 * GIB)])
    assert chosen.cpus == 0.01
    assert note is not None and "runs 200 at once, not the 1000 workers" in note
