"""The disk guard's rule, on a scripted sequence of free space: it stops a writer below the
reserve, and one that at its last rate would be past the reserve before the next look."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.base import SandboxLimit
from asyncfc_agent.sandboxes.diskguard import DiskGuard

MB = 1024 * 1024


def guard_seeing(tmp_path: Path, frees: list[int]) -> tuple[DiskGuard, list[int]]:
    """A guard whose disk shows these free sizes, one per look (the last one again after)."""
    guard = DiskGuard([tmp_path], reserve_bytes=100 * MB, reserve_inodes=0, reserve_text="100m",
                      interval_s=0.01)
    seen: list[int] = []

    def sample() -> list[tuple[Path, int, int | None]]:
        free = frees[min(len(seen), len(frees) - 1)]
        seen.append(free)
        return [(tmp_path, free, None)]

    guard._sample = sample  # type: ignore[method-assign]
    return guard, seen


async def run_watched(guard: DiskGuard) -> str:
    async def writer() -> None:
        async with guard.watch():
            await asyncio.Event().wait()  # until stopped

    try:
        await asyncio.wait_for(writer(), timeout=30)
    except SandboxLimit as exc:
        return str(exc)
    finally:
        await guard.close()
    raise AssertionError("never stopped")


async def test_a_writer_that_would_cross_the_reserve_before_the_next_look_is_stopped(tmp_path: Path) -> None:
    # 500 MB free, then 290 MB: at 210 MB a look, the next look would find it past 100m
    guard, seen = guard_seeing(tmp_path, [500 * MB, 500 * MB, 500 * MB, 290 * MB])
    reason = await run_watched(guard)
    assert "less than 100m left free on the disk of" in reason
    assert "within 0.01 s at the rate it is being filled" in reason
    assert min(seen) == 290 * MB  # stopped while 190 MB were still above the reserve


async def test_a_slow_writer_goes_on_until_it_reaches_the_reserve(tmp_path: Path) -> None:
    frees = [500 * MB - i * 10 * MB for i in range(60)]  # 10 MB a look
    guard, seen = guard_seeing(tmp_path, frees)
    reason = await run_watched(guard)
    assert "at the rate" in reason or "less than 100m left free" in reason
    # it got to within one look of the reserve: nothing stopped it early
    assert 100 * MB <= min(seen) <= 120 * MB, min(seen) // MB


@pytest.mark.parametrize("frees", [[500 * MB] * 5, [500 * MB, 600 * MB, 700 * MB]])
async def test_steady_or_rising_free_space_stops_nothing(tmp_path: Path, frees: list[int]) -> None:
    guard, seen = guard_seeing(tmp_path, frees)

    looked = asyncio.Event()
    sample: Callable[[], list[tuple[Path, int, int | None]]] = guard._sample

    def counted() -> list[tuple[Path, int, int | None]]:
        if len(seen) >= 20:  # twenty looks at it
            looked.set()
        return sample()

    guard._sample = counted  # type: ignore[method-assign]

    async def writer() -> None:
        async with guard.watch():
            await looked.wait()

    await asyncio.wait_for(writer(), timeout=30)  # a stop would raise SandboxLimit here
    await guard.close()
