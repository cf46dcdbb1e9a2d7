import pytest

from stockroom.models import Movement, MovementKind, Location
from stockroom.services.reorder import best_policy, simulate_year, suggestions

from .conftest import BOLTS, NUTS, SCALE


def test_suggestions(store, clock):
    assert [s.item.sku for s in suggestions(store)] == [NUTS]
    store.record(Movement(MovementKind.PICK, BOLTS, -30, Location.parse("A01-1"), clock(), "x"))
    assert [s.item.sku for s in suggestions(store)] == [NUTS, BOLTS]


def test_simulation_is_reproducible():
    a = simulate_year(20, 60, mean_demand=4, lead_time_days=5, seed=3)
    assert a == simulate_year(20, 60, mean_demand=4, lead_time_days=5, seed=3)


def test_a_higher_reorder_point_means_fewer_stockouts():
    low = simulate_year(5, 60, mean_demand=4, lead_time_days=5, seed=1)
    high = simulate_year(40, 60, mean_demand=4, lead_time_days=5, seed=1)
    assert high["stockout_days"] <= low["stockout_days"]
    assert high["average_stock"] > low["average_stock"]


@pytest.mark.parametrize("demand, lead", [(2, 3), (4, 5), (6, 7)][: max(1, round(3 * SCALE))])
def test_best_policy_keeps_stockouts_rare(demand, lead):
    point, quantity = best_policy(demand, lead, runs=max(1, round(2 * SCALE)))
    worst = max(simulate_year(point, quantity, mean_demand=demand, lead_time_days=lead,
                              seed=s)["stockout_days"] for s in range(max(1, round(2 * SCALE))))
    assert worst <= 3
