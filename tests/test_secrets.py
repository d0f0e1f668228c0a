"""Secrets (channel URLs carry tokens) never appear in logs, errors, `watcher status`, or the database;
a database that cannot be used is a clear error."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_pipeline_e2e import CONFIG, PAGE

TOKEN = "s3cr3tT0k3nDoNotLeak42"


def test_channel_token_never_leaks(tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base))
    farm.set_routes([Route("/cause-list", PAGE.encode()), Route("/other", b"<html></html>", status=500)])
    receiver.down = True  # the failure's error text is where a URL would slip out
    url = receiver.url.replace("/notify", f"/notify?token={TOKEN}")
    env = {"TEST_NGO_URL": url, "WATCHER_LOG_LEVEL": "DEBUG"}
    outputs = [run_cli("check", "-c", str(path), env=env, subprocess_=True)]
    outputs.append(run_cli("status", "-c", str(path), env=env, subprocess_=True))
    outputs.append(run_cli("alerts", "-c", str(path), "--json", env=env, subprocess_=True))
    for result in outputs:
        assert TOKEN not in result.stdout + result.stderr
    assert "***" in outputs[1].stdout or "json://" in outputs[1].stdout
    for stored in [tmp_path / "watcher.db", *tmp_path.glob("watcher.db-*"), *(tmp_path / "data").rglob("*")]:
        if stored.is_file():
            assert TOKEN.encode() not in stored.read_bytes(), stored


def test_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        CONFIG.replace("{base}", "http://127.0.0.1:9").replace(
            "sqlite:///watcher.db", "sqlite:///missing/dir/w.db"
        )
    )
    result = run_cli("check", "-c", str(path), env={"TEST_NGO_URL": "json://127.0.0.1:9/x"})
    assert result.code == 3, "exit 3: the database cannot be used"
    assert "database folder" in result.stderr and "does not exist" in result.stderr
