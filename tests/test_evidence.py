"""Evidence: an exported bundle opens with warcio and its hashes hold; a changed byte breaks the chain."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, SourceFarm
from tests.test_pipeline_e2e import CONFIG, PAGE, check, moved, publish


@pytest.fixture
def config(tmp_path: Path, farm: SourceFarm) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base), encoding="utf-8")
    return path


def test_export_bundle_and_verify_chain(
    config: Path, farm: SourceFarm, receiver: JsonReceiver, tmp_path: Path
) -> None:
    env = {"TEST_NGO_URL": receiver.url}
    publish(farm, PAGE)
    check(config, receiver)
    publish(farm, moved(PAGE))
    check(config, receiver)
    alerts = [
        json.loads(line)
        for line in run_cli("alerts", "-c", str(config), "--json", env=env).stdout.splitlines()
    ]
    changed = next(a for a in alerts if a["event"] == "changed")

    out = tmp_path / "bundle"
    result = run_cli("evidence", "export", str(changed["id"]), "--out", str(out), "-c", str(config), env=env)
    assert result.code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    bodies, requests = [], []
    with (out / "exchanges.warc.gz").open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                bodies.append(record.content_stream().read())
            if record.rec_type == "request":
                requests.append(record.http_headers)
    for sent in requests:  # the headers the request actually carried, as the source saw them
        assert sent.get_header("User-Agent") == farm.user_agents[0] != ""
        assert len([k for k, _ in sent.headers if k.lower() == "host"]) == 1, sent.headers
    assert [hashlib.sha256(b).hexdigest() for b in bodies] == [
        s["body_sha256"] for s in manifest["snapshots"]
    ]
    assert len(bodies) == 2, "the version before the change and the one after"
    assert b"2:15pm" in bodies[1] and b"2:15pm" not in bodies[0]
    assert "What it does not show" in (out / "README.txt").read_text()

    assert run_cli("evidence", "verify", "-c", str(config), env=env).code == 0
    stored = next((config.parent / "data" / "snapshots").rglob(manifest["snapshots"][0]["body_sha256"]))
    data = bytearray(stored.read_bytes())
    data[100] ^= 1
    stored.write_bytes(bytes(data))
    broken = run_cli("evidence", "verify", "-c", str(config), env=env)
    assert broken.code == 1
    assert f"snapshot #{manifest['snapshots'][0]['id']}" in broken.stderr and "was modified" in broken.stderr


def test_changed_entry_breaks_the_chain(config: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    publish(farm, PAGE)
    check(config, receiver)
    publish(farm, moved(PAGE))
    check(config, receiver)
    db = sqlite3.connect(config.parent / "watcher.db")
    db.execute("update snapshot set url = 'https://forged.example/' where id = 1")
    db.commit()
    db.close()
    broken = run_cli("evidence", "verify", "-c", str(config), env={"TEST_NGO_URL": receiver.url})
    assert broken.code == 1 and "snapshot #1" in broken.stderr and "fields were changed" in broken.stderr


def changed_alert(config: Path, farm: SourceFarm, receiver: JsonReceiver) -> dict[str, Any]:
    """Two rounds (a hearing moves); the `changed` alert, whose bundle holds both versions' snapshots."""
    publish(farm, PAGE)
    check(config, receiver)
    publish(farm, moved(PAGE))
    check(config, receiver)
    lines = run_cli("alerts", "-c", str(config), "--json", env={"TEST_NGO_URL": receiver.url}).stdout
    return next(a for a in map(json.loads, lines.splitlines()) if a["event"] == "changed")


def alert_snapshot(config: Path, alert_id: int) -> int:
    with sqlite3.connect(config.parent / "watcher.db") as db:
        return int(db.execute("select snapshot_id from alert where id = ?", (alert_id,)).fetchone()[0])


def stored_body(config: Path, snapshot_id: int) -> Path:
    with sqlite3.connect(config.parent / "watcher.db") as db:
        (sha,) = db.execute("select sha256 from snapshot where id = ?", (snapshot_id,)).fetchone()
    return config.parent / "data" / "snapshots" / sha[:2] / sha


def mark_pruned(config: Path, snapshot_id: int) -> None:
    with sqlite3.connect(config.parent / "watcher.db") as db:
        db.execute("update snapshot set pruned_at = '2020-01-01 00:00:00' where id = ?", (snapshot_id,))


def test_a_pruned_mark_does_not_hide_a_swapped_body(
    config: Path, farm: SourceFarm, receiver: JsonReceiver, tmp_path: Path
) -> None:
    env = {"TEST_NGO_URL": receiver.url}
    alert = changed_alert(config, farm, receiver)
    target = alert_snapshot(config, alert["id"])
    mark_pruned(config, target)  # pruned_at is not chained: setting it must not excuse the next step
    stored_body(config, target).write_bytes(b"<html>a forged page</html>")

    broken = run_cli("evidence", "verify", "-c", str(config), env=env)
    assert broken.code == 1 and f"snapshot #{target}" in broken.stderr and "was modified" in broken.stderr

    out = tmp_path / "bundle"
    export = run_cli("evidence", "export", str(alert["id"]), "--out", str(out), "-c", str(config), env=env)
    assert export.code == 1 and "does not match its recorded SHA-256" in export.stderr
    assert not out.exists(), "nothing written from a forged body"


def test_a_pruned_mark_cannot_excuse_deleting_an_alerts_evidence(
    config: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    alert = changed_alert(config, farm, receiver)
    target = alert_snapshot(config, alert["id"])
    mark_pruned(config, target)
    stored_body(config, target).unlink()
    broken = run_cli("evidence", "verify", "-c", str(config), env={"TEST_NGO_URL": receiver.url})
    assert broken.code == 1 and f"snapshot #{target}" in broken.stderr
    assert f"alert #{alert['id']} refers to it" in broken.stderr, broken.stderr


def test_bundles_are_owner_only(
    config: Path, farm: SourceFarm, receiver: JsonReceiver, tmp_path: Path
) -> None:
    env = {"TEST_NGO_URL": receiver.url}
    alert = changed_alert(config, farm, receiver)
    fresh, reused = tmp_path / "fresh", tmp_path / "reused"
    reused.mkdir()
    (reused / "manifest.json").write_text("an older export, world-readable")
    (reused / "manifest.json").chmod(0o644)
    for out in (fresh, reused):
        result = run_cli(
            "evidence", "export", str(alert["id"]), "--out", str(out), "-c", str(config), env=env
        )
        assert result.code == 0, result.stderr
        for file in out.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, f"{file} is readable by others"
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
