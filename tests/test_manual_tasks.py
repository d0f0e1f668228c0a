"""ru_mvd_wanted round trip: a round creates one task per person and period, it is delivered; the
operator records `--found` and the person is alerted once; `--not-found` later alerts `removed`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver

CONFIG = """
[watcher]
database = "sqlite:///w.db"
operator_channel = "operator"

[[person]]
id = "bota"
name = "Bota Jardemalie"
aliases = ["Жардемали Ботагоз"]
birth_date = "1974-05-21"

[[source]]
id = "mvd"
adapter = "ru_mvd_wanted"
every = "7d"

[[channel]]
id = "team"
url_env = "TEAM"

[[channel]]
id = "operator"
url_env = "OPERATOR"

[[subscription]]
channel = "team"
"""


@pytest.fixture
def receivers() -> Iterator[tuple[JsonReceiver, JsonReceiver]]:
    team, operator = JsonReceiver(), JsonReceiver()
    yield team, operator
    team.stop()
    operator.stop()


def test_task_round_trip(tmp_path: Path, receivers: tuple[JsonReceiver, JsonReceiver]) -> None:
    team, operator = receivers
    env = {"TEAM": team.url, "OPERATOR": operator.url}
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG)
    assert run_cli("check", "-c", str(config), env=env).code == 0
    assert run_cli("check", "-c", str(config), env=env).code == 0, "the same period makes no second task"
    assert len(operator.messages) == 1 and team.messages == []
    task = operator.messages[0]
    assert "Manual check needed: Bota Jardemalie" in task["title"]
    assert "Жардемали Ботагоз" in task["message"] and "watcher tasks done bota:" in task["message"]
    key = task["message"].split("Task: ")[1].split("\n")[0]

    listed = run_cli("tasks", "-c", str(config), env=env)
    assert key in listed.stdout and "(open)" in listed.stdout

    done = run_cli(
        "tasks",
        "done",
        key,
        "--found",
        "--note",
        "listed since 2019, article 159",
        "-c",
        str(config),
        env=env,
    )
    assert done.code == 0, done.stderr
    assert len(team.messages) == 1
    assert "New: Bota Jardemalie in mvd" in team.messages[0]["title"]
    assert "article 159" in team.messages[0]["message"]
    again = run_cli("tasks", "done", key, "--found", "-c", str(config), env=env)
    assert again.code == 1 and "already closed" in again.stderr
    assert run_cli("tasks", "-c", str(config), env=env).stdout.strip() == "no open tasks"
    assert len(team.messages) == 1, "alerted once"


def test_not_found_after_found_alerts_removed(
    tmp_path: Path, receivers: tuple[JsonReceiver, JsonReceiver]
) -> None:
    from datetime import UTC, datetime

    from watcher.config import load_config
    from watcher.models import ManualTask
    from watcher.service import Service
    from watcher.tasks import record_outcome, save_tasks

    team, operator = receivers
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG)
    cfg = load_config(config, environ={"TEAM": team.url, "OPERATOR": operator.url})
    svc = Service(cfg)
    now = datetime.now(UTC)
    tasks = [
        ManualTask(f"bota:{week}", "bota", "check", "search", "https://мвд.рф/wanted")
        for week in ("w1", "w2", "w3")
    ]
    save_tasks(svc.store, "mvd", tasks, now)
    people = cfg.person_by_id()
    assert record_outcome(svc.store, "bota:w1", found=True, note="", people=people, now=now) == 1
    assert record_outcome(svc.store, "bota:w2", found=True, note="still there", people=people, now=now) == 0
    assert record_outcome(svc.store, "bota:w3", found=False, note="", people=people, now=now) == 1
    svc.engine.dispose()
    alerts = run_cli("alerts", "-c", str(config), "--json", env={"TEAM": team.url, "OPERATOR": operator.url})
    events = [line.split('"event": "')[1].split('"')[0] for line in alerts.stdout.splitlines()]
    assert sorted(events) == ["new", "removed", "task", "task", "task"]
