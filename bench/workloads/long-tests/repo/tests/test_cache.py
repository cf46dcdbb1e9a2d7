import threading
import time

import pytest

from courier.cache import TTLCache

from .conftest import scaled


def test_second_get_is_a_hit():
    cache: TTLCache[int] = TTLCache(60)
    calls = []
    assert cache.get("k", lambda: calls.append(1) or 7) == 7
    assert cache.get("k", lambda: calls.append(1) or 8) == 7
    assert (cache.hits, cache.misses, len(calls)) == (1, 1, 1)


def test_entries_expire_in_real_time():
    ttl = scaled(1.0)
    cache: TTLCache[str] = TTLCache(ttl)
    cache.get("k", lambda: "old")
    time.sleep(ttl / 2)
    assert cache.get("k", lambda: "new") == "old"
    time.sleep(ttl * 0.6)
    assert cache.get("k", lambda: "new") == "new"


def test_len_counts_live_entries_only():
    ttl = scaled(0.8)
    cache: TTLCache[int] = TTLCache(ttl)
    cache.get("a", lambda: 1)
    time.sleep(ttl * 0.6)
    cache.get("b", lambda: 2)
    assert len(cache) == 2
    time.sleep(ttl * 0.6)
    assert len(cache) == 1


def test_invalidate():
    cache: TTLCache[int] = TTLCache(60)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    cache.invalidate("a")
    assert len(cache) == 1
    cache.invalidate()
    assert len(cache) == 0


def test_a_slow_load_does_not_block_other_keys():
    cache: TTLCache[int] = TTLCache(60)
    slow = scaled(1.0)
    started = threading.Event()

    def load_slowly() -> int:
        started.set()
        time.sleep(slow)
        return 1

    worker = threading.Thread(target=cache.get, args=("slow", load_slowly))
    worker.start()
    started.wait()
    t0 = time.monotonic()
    assert cache.get("fast", lambda: 2) == 2
    assert time.monotonic() - t0 < slow / 2
    worker.join()


def test_ttl_must_be_positive():
    with pytest.raises(ValueError):
        TTLCache(0)
