"""A database watcher cannot use is one plain line and exit 3 in every command, never a traceback: a
read-only database file, a database in a read-only folder, a database whose schema the code does not
find (an OperationalError past the open)."""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_store import CONFIG, PAGE

ROOT = Path(__file__).parent.parent
STORE_EXIT = 3
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1
COMMANDS = [
    ["check"],
    ["status"],
    ["alerts"],
    ["alerts", "--json"],
    ["alerts", "show", "1"],
    ["alerts", "retry", "1"],
    ["review", "1", "--confirmed"],
    ["evidence", "verify"],
    ["evidence", "export", "1", "--out", "bundle"],
    ["calendar", "--ics", "hearings.ics"],
    ["tasks"],
    ["tasks", "done", "1", "--found"],
]
# Runs every command in one process (one interpreter start-up, not twelve), each as the CLI would.
DRIVER = """
import json, sys, traceback
from tests.support.cli import run_cli
results = []
for args in json.loads(sys.argv[1]):
    try:
        r = run_cli(*args, "-c", sys.argv[2])
        results.append({"args": args, "code": r.code, "out": r.stdout + r.stderr})
    except BaseException:
        results.append({"args": args, "code": None, "out": traceback.format_exc()})
print(json.dumps(results))
"""


def _without_root_override() -> None:
    """Root writes to read-only files; without CAP_DAC_OVERRIDE it obeys permissions like anyone."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot drop CAP_DAC_OVERRIDE")


def run_every_command(config: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(COMMANDS), str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=_without_root_override if os.geteuid() == 0 else None,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, object]] = json.loads(proc.stdout)
    return results


@pytest.fixture
def populated(tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver) -> Path:
    """A database with a round, an alert and a delivery in it, in tmp_path/db/."""
    (tmp_path / "db").mkdir()
    farm.set_routes([Route("/roll", PAGE.encode())])
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.format(db="sqlite:///db/w.db", base=farm.base, receiver=receiver.url))
    assert run_cli("check", "-c", str(config)).code == 0
    assert len(receiver.messages) == 1
    return config


def assert_plain_exit_3(results: list[dict[str, object]], words: str) -> None:
    for r in results:
        out = str(r["out"])
        assert r["code"] == STORE_EXIT, f"{r['args']}: exit {r['code']}\n{out}"
        assert "Traceback" not in out and words in out, f"{r['args']}: {out}"


def test_read_only_database_file(populated: Path) -> None:
    db = populated.parent / "db" / "w.db"
    db.chmod(0o444)
    try:
        assert_plain_exit_3(run_every_command(populated), "is read-only")
    finally:
        db.chmod(0o600)


def test_database_in_read_only_folder(populated: Path) -> None:
    folder = populated.parent / "db"
    folder.chmod(0o555)  # SQLite cannot make its -wal and -shm files beside the database
    try:
        assert_plain_exit_3(run_every_command(populated), "database")
    finally:
        folder.chmod(0o755)


def test_new_database_in_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir(mode=0o555)
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.format(db="sqlite:///db/w.db", base="http://127.0.0.1:9", receiver="json://x"))
    try:
        assert_plain_exit_3(run_every_command(config), "cannot create database")
    finally:
        folder.chmod(0o755)


def test_refusal_after_the_open_is_exit_3(populated: Path) -> None:
    """A schema the code does not expect: the open succeeds, a query fails (OperationalError)."""
    with sqlite3.connect(populated.parent / "db" / "w.db") as conn:
        conn.execute("ALTER TABLE sourcestate DROP COLUMN last_record_count")
    result = run_cli("status", "-c", str(populated))
    assert result.code == STORE_EXIT
    assert "the database refused" in result.stderr and "no such column" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
