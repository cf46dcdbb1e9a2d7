"""Reordering: which items to order, and a simulation of a year of demand to tune the
reorder points (the planners run it before each season)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..models import Item
from ..storage.memory import MemoryStore


@dataclass(frozen=True)
class Suggestion:
    item: Item
    on_hand: int
    quantity: int


def suggestions(store: MemoryStore) -> list[Suggestion]:
    out = []
    for item in store.items.values():
        stock = store.on_hand(item.sku)
        if item.order_quantity and stock <= item.reorder_point:
            out.append(Suggestion(item, stock, item.order_quantity))
    return sorted(out, key=lambda s: (s.on_hand - s.item.reorder_point, str(s.item.sku)))


def simulate_year(reorder_point: int, order_quantity: int, *, mean_demand: float,
                  lead_time_days: int, days: int = 365, seed: int = 0) -> dict[str, float]:
    """Daily demand (Poisson), orders arriving after the lead time: stock-out days and
    the average stock, for one reorder policy."""
    rng = random.Random(seed)
    stock, pipeline = reorder_point + order_quantity, []  # (arrival day, quantity)
    stockout_days, total_stock = 0, 0
    for day in range(days):
        arrived = sum(q for d, q in pipeline if d == day)
        pipeline = [(d, q) for d, q in pipeline if d != day]
        stock += arrived
        demand = _poisson(rng, mean_demand)
        if demand > stock:
            stockout_days += 1
        stock = max(0, stock - demand)
        on_order = sum(q for _, q in pipeline)
        if stock + on_order <= reorder_point:
            pipeline.append((day + lead_time_days, order_quantity))
        total_stock += stock
    return {"stockout_days": stockout_days, "average_stock": total_stock / days}


def best_policy(mean_demand: float, lead_time_days: int, *, max_stockout_days: int = 3,
                runs: int = 5) -> tuple[int, int]:
    """The reorder point and quantity with the least average stock that keeps stock-outs
    rare, over a grid of policies and several simulated years each."""
    best: tuple[float, int, int] | None = None
    for point in range(0, int(mean_demand * lead_time_days * 3) + 1, max(1, int(mean_demand))):
        for quantity in range(int(mean_demand * 5), int(mean_demand * 40) + 1, max(1, int(mean_demand * 5))):
            results = [simulate_year(point, quantity, mean_demand=mean_demand,
                                     lead_time_days=lead_time_days, seed=s) for s in range(runs)]
            if max(r["stockout_days"] for r in results) > max_stockout_days:
                continue
            average = sum(r["average_stock"] for r in results) / runs
            if best is None or average < best[0]:
                best = (average, point, quantity)
    if best is None:
        raise ValueError("no policy keeps stock-outs that rare")
    return best[1], best[2]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small daily means of a warehouse
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
