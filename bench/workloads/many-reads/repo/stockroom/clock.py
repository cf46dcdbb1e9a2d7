"""Time, injected: services take a clock so that tests can drive days forward."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.date]


def today() -> dt.date:
    return dt.date.today()


class FixedClock:
    def __init__(self, start: dt.date) -> None:
        self.date = start

    def __call__(self) -> dt.date:
        return self.date

    def advance(self, days: int = 1) -> None:
        self.date += dt.timedelta(days=days)
