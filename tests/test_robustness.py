"""Silent failures made loud: a blocked source pauses, a collapsed list is a failure, a record that
blinks out for one round alerts nothing, a source that stops succeeding is stale, and `watcher status`
shows coverage per person and exits non-zero while anything is stale or failing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_pipeline_e2e import PAGE, without_mccalla
from watcher.config import Config, load_config
from watcher.rounds import RunSummary
from watcher.service import Service

CONFIG = """
[watcher]
database = "sqlite:///w.db"
retries = 0
operator_channel = "operator"
failures_before_alert = 2
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[source]]
id = "roll"
adapter = "html_list"
every = "1h"
removal_grace = 1
stale_after = "3h"
[source.options]
url = "{base}/roll"
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
fields = { case_number = "td:nth-child(4)", case_details = "td:nth-child(5)" }
[[channel]]
id = "team"
url_env = "TEAM"
[[channel]]
id = "operator"
url_env = "OPERATOR"
[[subscription]]
channel = "team"
"""
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Config, SourceFarm, JsonReceiver, JsonReceiver]]:
    farm, team, operator = SourceFarm(), JsonReceiver(), JsonReceiver()
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base))
    config = load_config(path, environ={"TEAM": team.url, "OPERATOR": operator.url})
    yield config, farm, team, operator
    for server in (farm, team, operator):
        server.stop()


def scheduled(config: Config, now: datetime) -> RunSummary:
    """What `watcher run` does when the source's trigger fires: a round if due, then the health checks."""

    async def go() -> RunSummary:
        async with Service(config) as svc:
            summary = (await svc.run_sources(force=False, now=now))[0]
            from watcher.health import check_stale

            check_stale(svc.store, config, now)
            await svc.outbox.deliver(now=now, ignore_backoff=True)
            return summary

    return asyncio.run(go())


def publish(farm: SourceFarm, body: str, status: int = 200) -> None:
    farm.set_routes([Route("/roll", body.encode(), status=status)])


def test_blocked_source_pauses(world: tuple[Config, SourceFarm, JsonReceiver, JsonReceiver]) -> None:
    config, farm, _team, operator = world
    publish(farm, "denied", status=403)
    assert scheduled(config, T0).status == "failed"
    assert scheduled(config, T0 + timedelta(hours=1)).status == "failed"
    polls = len(farm.hits)
    for hours in (2, 2.5, 2.9):  # paused for an hour after the second 403
        assert scheduled(config, T0 + timedelta(hours=hours)).status == "skipped"
    assert len(farm.hits) == polls
    assert scheduled(config, T0 + timedelta(hours=3, minutes=1)).status == "failed"
    assert (
        "Source failing" in operator.messages[0]["title"]
        and "paused until" in operator.messages[0]["message"]
    )


def test_collapsed_list_is_a_failure_not_removals(
    world: tuple[Config, SourceFarm, JsonReceiver, JsonReceiver],
) -> None:
    config, farm, team, _operator = world
    rows = PAGE.split('<tr class="govuk-table__row">')
    many = rows[0] + "".join('<tr class="govuk-table__row">' + r for r in rows[1:] * 1)
    filler = "".join(
        f'<tr class="govuk-table__row"><td></td><td></td><td></td><td>2025{n:05d}</td><td>R v Person {n}</td></tr>'
        for n in range(20)
    )
    publish(farm, many.replace("</tbody>", filler + "</tbody>"))
    assert scheduled(config, T0).status == "ok"
    publish(farm, PAGE)  # 3 rows where there were 23
    result = scheduled(config, T0 + timedelta(hours=1))
    assert result.status == "failed" and "where the last good round had 23" in (result.error or "")
    assert [m["title"].split(":")[0] for m in team.messages] == ["[watcher] New"]


def test_one_round_absence_alerts_nothing(
    world: tuple[Config, SourceFarm, JsonReceiver, JsonReceiver],
) -> None:
    config, farm, team, _ = world
    publish(farm, PAGE)
    scheduled(config, T0)
    publish(farm, without_mccalla(PAGE))
    scheduled(config, T0 + timedelta(hours=1))
    publish(farm, PAGE)
    scheduled(config, T0 + timedelta(hours=2))
    assert len(team.messages) == 1, "gone one round, back unchanged: nothing to say"
    publish(farm, without_mccalla(PAGE))
    scheduled(config, T0 + timedelta(hours=3))
    scheduled(config, T0 + timedelta(hours=4))
    assert len(team.messages) == 2 and "Removed: Robert McCalla" in team.messages[1]["title"]


def test_stale_source_alerts_once_and_status_shows_coverage(
    world: tuple[Config, SourceFarm, JsonReceiver, JsonReceiver],
) -> None:
    from watcher.status import read_status

    config, farm, team, operator = world
    start = datetime.now(UTC) - timedelta(hours=5, minutes=30)  # `watcher status` reads the real clock
    publish(farm, PAGE)
    scheduled(config, start)
    report = read_status(config, now=start + timedelta(minutes=1))
    assert not report.failing
    assert [(c.name, c.ok, c.not_ok) for c in report.coverage] == [("Robert McCalla", ["roll"], [])]
    publish(farm, "oops", status=500)
    for hours in range(1, 6):
        scheduled(config, start + timedelta(hours=hours))
    env = {"TEAM": team.url, "OPERATOR": operator.url}
    stale = [m for m in operator.messages if "stale" in m["title"].lower() or "source_stale" in m["title"]]
    assert len(stale) == 1 and "no alert from this source means nothing" in stale[0]["message"]
    status = run_cli("status", "-c", config.path, env=env)
    assert status.code == 1 and "stale" in status.stdout
