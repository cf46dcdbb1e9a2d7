"""Parsing a year of records from the archive service (slow: it waits for the service)."""

import datetime as dt
import time

import pytest

from dates import parse_date


@pytest.fixture(scope="module")
def archive():
    time.sleep(4.0)  # the archive service takes a while to answer
    return [f"{d:02d}.{m:02d}.2023" for m in range(1, 13) for d in range(1, 29)]


def test_archive_records(archive):
    parsed = [parse_date(r) for r in archive]
    assert all(isinstance(p, dt.date) for p in parsed)
    assert len(parsed) == 12 * 28
