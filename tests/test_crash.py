"""Crash safety: SIGKILL `watcher run` 50 times, inside rounds and inside sends, while the sources keep
changing; no record change and no alert is lost, and nothing reaches the receiver twice without saying
it may be a repeat. The kills are shown to have landed where they hurt (tests/support/chaos.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.chaos import run_chaos


def test_kill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    report = run_chaos(tmp_path, kills=50)
    assert report.kills == 50
    assert report.lost == [] and report.unexpected == []
    assert report.duplicates == []
    assert report.delivered == report.expected
    assert report.versions >= 5, f"the sources changed only {report.versions} times: kills without work"
    assert report.mid_round >= 5, f"only {report.mid_round} kills landed between a fetch and its commit"
    assert report.mid_send >= 5, f"only {report.mid_send} kills landed between a send and its record"
    assert report.marked_repeats >= report.mid_send, "every send cut short is resent, marked as a repeat"
