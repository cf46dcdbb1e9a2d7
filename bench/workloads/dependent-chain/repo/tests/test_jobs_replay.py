"""The scheduler's records and the replay, end to end (with the services' latency)."""

from pathlib import Path

from etl import jobs, replay
from etl.log import header


def test_last_failed_run():
    run = jobs.last_failed()
    assert run is not None and run["log"] == "logs/2024-04-12-import.log"


def test_log_header():
    assert header(Path("logs/2024-04-12-import.log"))["batch"] == "data/batches/2024-04-12.csv"


def test_replay_of_a_good_run(capsys):
    assert replay.main(["logs/2024-04-11-import.log"]) == 0
    assert "30 orders loaded" in capsys.readouterr().out


def test_replay_of_the_failed_run(capsys):
    assert replay.main(["logs/2024-04-12-import.log"]) == 0
    assert "34 orders loaded" in capsys.readouterr().out
