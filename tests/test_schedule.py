"""Each source is polled once per period of its `every` or `cron`, never once per two periods."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.servers import Route, SourceFarm
from watcher.config import SourceConfig
from watcher.health import stale_after
from watcher.schedule_math import next_due, period

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a firing of every cron below


def _source(**schedule: str) -> SourceConfig:
    return SourceConfig(id="s", adapter="rss", **schedule)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schedule", "late_ms", "jitter_s"),
    [
        ({"every": "6h"}, 5, 0),
        ({"every": "10m"}, 400, 0),
        ({"every": "1h", "jitter": "5m"}, 5, 300),
        ({"cron": "0 */6 * * *"}, 5, 0),
        ({"cron": "*/15 * * * *", "jitter": "2m"}, 50, 120),
    ],
    ids=["every-6h", "every-10m-slow-start", "every-1h-jitter", "cron-6h", "cron-15m-jitter"],
)
def test_every_firing_of_the_scheduler_finds_its_source_due(
    schedule: dict[str, str], late_ms: int, jitter_s: int
) -> None:
    """The scheduler fires at its own times (plus a few ms, plus up to the jitter); each round sets
    when the next is due. Before the fix, next due = round start + interval, so the next firing (a few
    ms earlier than that) found the source not due and it was polled every other period."""
    source, rng = _source(**schedule), random.Random(3)
    step = period(source)
    due: datetime | None = None
    for k in range(50):
        fired = (
            T0 + k * step + timedelta(milliseconds=rng.uniform(0, late_ms), seconds=rng.uniform(0, jitter_s))
        )
        assert due is None or fired >= due, f"firing {k} at {fired} skipped: not due until {due}"
        due = next_due(source, fired)
        assert due > fired + step / 2, "and never due twice in one period"


def test_stale_after_is_three_periods() -> None:
    assert stale_after(_source(every="2h")) == timedelta(hours=6)
    assert stale_after(_source(cron="0 */6 * * *")) == timedelta(hours=18)
    assert stale_after(_source(cron="30 8 * * 1")) == timedelta(weeks=3)


CONFIG = """
[watcher]
database = "sqlite:///{db}"
retries = 0
[[person]]
id = "p"
name = "Robert McCalla"
[[source]]
id = "feed"
adapter = "rss"
every = "2s"
[source.options]
url = "{base}/feed"
"""

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Nothing here</title><link>http://example.org/1</link><guid>1</guid></item></channel></rss>"""


def test_watcher_run_polls_once_each_period(tmp_path: Path, farm: SourceFarm) -> None:
    farm.set_routes([Route("/feed", FEED, content_type="application/rss+xml")])
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.format(db=tmp_path / "w.db", base=farm.base))
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "-c", str(config)],
        env={**os.environ, "WATCHER_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not farm.hits and time.monotonic() < deadline:
            time.sleep(0.05)
        first = time.monotonic()
        time.sleep(6.5)  # firings at 0, 2, 4 and 6 s after the first
        polls = len(farm.hits)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert polls >= 3, f"{polls} polls in {time.monotonic() - first:.1f} s of a 2 s schedule"


def test_sigterm_lets_the_round_in_flight_finish(tmp_path: Path, farm: SourceFarm) -> None:
    """SIGTERM in the middle of a slow round: the round still commits, and the process ends cleanly
    (shutting the scheduler down first cancelled rounds in flight, with a traceback)."""
    body = FEED.replace(b"Nothing here", b"Robert McCalla appears")
    farm.set_routes([Route("/feed", body, content_type="application/rss+xml", delay=1.5)])
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.format(db=tmp_path / "w.db", base=farm.base))
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "-c", str(config)],
        env={**os.environ, "WATCHER_LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not farm.hits and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # the source is still answering
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert "watcher stopped cleanly" in err
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("select count(*) from record").fetchone() == (1,), "the round committed"
