"""Daily digests: one message per period and channel, grouped by person, sent at the local time; a pass
that runs late (the process was down at 08:00) sends it then, once. With a set clock through Service
(weeks of periods, daylight saving), and through the real CLI on the real clock."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.support.smtp import SmtpReceiver
from watcher.config import Config, load_config
from watcher.service import Service

BRUSSELS = ZoneInfo("Europe/Brussels")
CONFIG = """
[watcher]
database = "sqlite:///watcher.db"
retries = 0
timeout = 3

[[person]]
id = "mccalla"
name = "Robert McCalla"

[[person]]
id = "jardemalie"
name = "Botagoz Jardemalie"

[[source]]
id = "people"
adapter = "json_list"
expect_min_records = 0
[source.options]
url = "{base}/people.json"
key = "id"
fields = {{ id = "id", name = "name", note = "note" }}
name_fields = ["name"]

[[channel]]
id = "team"
url = "{team}"

[[channel]]
id = "mail"
url = "{mail}"

[[channel]]
id = "now"
url = "{now}"

[[subscription]]
channel = "team"
mode = "daily"
at = "08:00"
timezone = "Europe/Brussels"

[[subscription]]
channel = "mail"
people = ["jardemalie"]
mode = "weekly"
weekday = "friday"
at = "18:30"
timezone = "Europe/Brussels"

[[subscription]]
channel = "now"
"""


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """January 2030 in Brussels (the 7th is a Monday)."""
    return datetime(2030, 1, day, hour, minute, tzinfo=BRUSSELS)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Config, SourceFarm, JsonReceiver, SmtpReceiver, JsonReceiver]]:
    farm, team, mail, now = SourceFarm(), JsonReceiver(), SmtpReceiver(), JsonReceiver()
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.format(base=farm.base, team=team.url, mail=mail.url, now=now.url))
    yield load_config(path, environ={}), farm, team, mail, now
    for server in (farm, team, mail, now):
        server.stop()


def publish(farm: SourceFarm, *entries: tuple[str, str, str]) -> None:
    body = json.dumps([{"id": k, "name": n, "note": note} for k, n, note in entries])
    farm.set_routes([Route("/people.json", body.encode(), content_type="application/json")])


def check(config: Config, at: datetime) -> None:
    """One `watcher check` pass with the clock at `at`; a new Service each time, like a new process."""

    async def go() -> None:
        async with Service(config) as svc:
            await svc.check(now=at.astimezone(UTC))

    asyncio.run(go())


def test_daily_digest_once_at_the_set_time_and_after_a_restart_that_skipped_it(
    world: tuple[Config, SourceFarm, JsonReceiver, SmtpReceiver, JsonReceiver],
) -> None:
    config, farm, team, mail, now = world
    publish(farm, ("r1", "Robert McCalla", "a"), ("r2", "Botagoz Jardemalie", "a"))
    check(config, local(7, 10))  # Monday 10:00: two new records
    publish(farm, ("r1", "Robert McCalla", "b"), ("r2", "Botagoz Jardemalie", "a"))
    check(config, local(7, 20))  # Monday 20:00: one change
    check(config, local(8, 7, 59))
    assert team.messages == [], "nothing before Tuesday 08:00"
    assert len(now.messages) == 3, "an immediate subscription is not held"

    check(config, local(8, 8, 0))
    check(config, local(8, 9, 0))
    assert len(team.messages) == 1, "one digest message per period and channel"
    digest = team.messages[0]
    assert digest["title"] == "[watcher] Digest (daily) 2030-01-08 08:00 Europe/Brussels: 3 alerts"
    body = digest["message"]
    assert body.index("== Robert McCalla ==") < body.index("== Botagoz Jardemalie ==")
    mccalla = body[: body.index("== Botagoz Jardemalie ==")]
    assert "New: people, record r1" in mccalla and "Changed: people, record r1" in mccalla
    assert "note: a -> b" in mccalla

    # Tuesday noon a change; the process is down from Tuesday afternoon to Thursday noon.
    publish(farm, ("r1", "Robert McCalla", "b"), ("r2", "Botagoz Jardemalie", "c"))
    check(config, local(8, 12))
    check(config, local(10, 12))  # Wednesday 08:00 was missed: sent now
    check(config, local(10, 13))
    check(config, local(11, 9))  # Friday: nothing new for Thursday's period
    assert len(team.messages) == 2
    assert team.messages[1]["title"] == "[watcher] Digest (daily) 2030-01-09 08:00 Europe/Brussels: 1 alert"
    assert "Changed: people, record r2" in team.messages[1]["message"]

    # The weekly e-mail digest (Fridays 18:30) holds Jardemalie's two alerts of the week.
    assert mail.messages == []
    check(config, local(11, 18, 31))
    check(config, local(11, 19))
    assert len(mail.messages) == 1
    assert mail.messages[0].subject == "[watcher] Digest (weekly) 2030-01-11 18:30 Europe/Brussels: 2 alerts"
    assert "McCalla" not in mail.messages[0].text


CLI_CONFIG = """
[watcher]
database = "sqlite:///watcher.db"
retries = 0
timeout = 3

[[person]]
id = "mccalla"
name = "Robert McCalla"
aliases = ["Bob McCalla"]

[[source]]
id = "people"
adapter = "json_list"
expect_min_records = 0
[source.options]
url = "{base}/people.json"
key = "id"
fields = {{ id = "id", name = "name", note = "note" }}
name_fields = ["name"]

[[channel]]
id = "team"
url = "{team}"

[[subscription]]
channel = "team"
mode = "daily"
at = "{at:%H:%M:%S}"
timezone = "UTC"
"""


def test_daily_digest_through_the_cli_once_at_its_time_when_no_process_ran_then(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """The real clock, no hook: the digest time is set a few seconds ahead, and no `watcher check`
    runs at that moment (the process is down); the first one after it sends the digest, once."""
    at = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    config = tmp_path / "watcher.toml"
    config.write_text(CLI_CONFIG.format(base=farm.base, team=receiver.url, at=at))
    publish(farm, ("r1", "Robert McCalla", "a"), ("r2", "Bob McCalla", "a"))

    def cli(*args: str) -> str:
        result = run_cli(*args, "-c", str(config))
        assert result.code == 0, result.stdout + result.stderr
        return result.stdout

    cli("check")
    assert datetime.now(UTC) < at, "this machine took too long for the test's first step"
    assert receiver.messages == [], "held for the digest"
    assert len(cli("alerts", "--pending", "--json").splitlines()) == 2

    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.3)  # down at `at`
    publish(farm, ("r1", "Robert McCalla", "b"), ("r2", "Bob McCalla", "a"))
    cli("check")  # the first pass after the time: the digest goes; r1's change waits for the next one
    cli("check")
    assert [m["title"] for m in receiver.messages] == [
        f"[watcher] Digest (daily) {at:%Y-%m-%d %H:%M:%S} UTC: 2 alerts"
    ], "one message for the period, once"
    assert "New: people, record r1" in receiver.messages[0]["message"]
    assert len(cli("alerts", "--pending", "--json").splitlines()) == 1, "the change is for tomorrow's"
