"""Crash safety: SIGKILL `watcher run` at 50 random moments of rounds and deliveries; no record change
and no alert is lost, and nothing reaches the receiver twice without saying it may be a repeat."""

from __future__ import annotations

from pathlib import Path

from tests.support.chaos import run_chaos


def test_kill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    report = run_chaos(tmp_path, kills=50)
    assert report.kills == 50
    assert report.lost == []
    assert report.duplicates == []
    assert report.delivered == report.expected
