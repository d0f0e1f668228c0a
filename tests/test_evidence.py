"""Evidence: an exported bundle opens with warcio and its hashes hold; a changed byte breaks the chain."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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
    bodies = []
    with (out / "exchanges.warc.gz").open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                bodies.append(record.content_stream().read())
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
    import sqlite3

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
