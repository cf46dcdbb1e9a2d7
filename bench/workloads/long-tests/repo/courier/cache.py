"""A small cache whose entries expire: the rate service changes its figures a few
times a day, and every quote would otherwise ask it again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = self._clock()
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and entry[0] > now:
                self.hits += 1
                return entry[1]
        value = load()  # outside the lock: a slow load must not stall other keys
        with self._lock:
            self.misses += 1
            self._items[key] = (self._clock() + self.ttl_s, value)
        return value

    def invalidate(self, key: Hashable | None = None) -> None:
        with self._lock:
            if key is None:
                self._items.clear()
            else:
                self._items.pop(key, None)

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for expiry, _ in self._items.values() if expiry > now)
