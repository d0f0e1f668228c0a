"""The whole path through the real CLI: a local source farm, real Apprise to a local JSON receiver,
a real SQLite file. Round 1 alerts once per matching record; a change alerts only the change; an
unchanged round alerts nothing; a removal alerts once; failures never read as removals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm

PAGE = (Path(__file__).parent / "fixtures" / "pipeline" / "cath_daily-cause-list.html").read_text()
MCCALLA_ROW_TIME = (
    '<td class="govuk-table__cell">10:30am</td>\n            <td class="govuk-table__cell">202503277 A5'
)


def moved(page: str) -> str:
    """McCalla's hearing moves from 10:30am to 2:15pm."""
    return page.replace(MCCALLA_ROW_TIME, MCCALLA_ROW_TIME.replace("10:30am", "2:15pm"))


def without_mccalla(page: str) -> str:
    start = page.index('<tr class="govuk-table__row">', page.index("R v ZDX"))
    end = page.index("</tr>", start) + len("</tr>")
    return page[:start] + page[end:]


def smith_retyped(page: str) -> str:
    return page.replace("Appeal against Conviction", "Appeal against Sentence")


CONFIG = """
[watcher]
database = "sqlite:///watcher.db"
data_dir = "data"
timeout = 3
retries = 0
backoff = 0

[[person]]
id = "mccalla"
name = "Robert McCalla"

[[person]]
id = "someone-else"
name = "Botagoz Jardemalie"

[[source]]
id = "cacd-list"
adapter = "html_list"
every = "2h"
[source.options]
url = "{base}/cause-list"
item = "table.govuk-table tbody tr"
key = "case_number"
fill_down = ["venue", "judge"]
name_fields = ["case_details"]
[source.options.fields]
venue = "td:nth-child(1)"
judge = "td:nth-child(2)"
time = "td:nth-child(3)"
case_number = "td:nth-child(4)"
case_details = "td:nth-child(5)"
hearing_type = "td:nth-child(6)"

[[source]]
id = "other-list"
adapter = "html_list"
[source.options]
url = "{base}/other"
item = "table.govuk-table tbody tr"
key = "case_number"
[source.options.fields]
case_number = "td:nth-child(4)"
case_details = "td:nth-child(5)"

[[channel]]
id = "ngo-team"
url_env = "TEST_NGO_URL"

[[subscription]]
channel = "ngo-team"
"""


@pytest.fixture
def config(tmp_path: Path, farm: SourceFarm) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base), encoding="utf-8")
    return path


def publish(farm: SourceFarm, page: str, other: str | None = None, *, status: int = 200) -> None:
    farm.set_routes(
        [
            Route("/cause-list", page.encode(), status=status),
            Route("/other", (other or without_mccalla(PAGE)).encode()),
        ]
    )


def check(config: Path, receiver: JsonReceiver, *extra: str) -> int:
    result = run_cli("check", "--config", str(config), *extra, env={"TEST_NGO_URL": receiver.url})
    return result.code


def test_rounds_alert_new_changed_nothing_removed(
    config: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    publish(farm, PAGE)
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 1
    first = receiver.messages[0]
    assert "New: Robert McCalla in cacd-list" in first["title"]
    assert "Record: 202503277 A5" in first["message"] and "score 1.00" in first["message"]

    publish(farm, moved(PAGE))
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 2
    changed = receiver.messages[1]
    assert "Changed: Robert McCalla" in changed["title"]
    assert "fields.time: 10:30am -> 2:15pm" in changed["message"]

    publish(farm, smith_retyped(moved(PAGE)))  # only an unrelated row changed
    assert check(config, receiver) == 0
    publish(farm, smith_retyped(moved(PAGE)))  # nothing changed at all
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 2

    publish(farm, without_mccalla(moved(PAGE)))
    assert check(config, receiver) == 0
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 3
    assert "Removed: Robert McCalla" in receiver.messages[2]["title"]


@pytest.mark.parametrize(
    ("label", "status", "body"),
    [
        ("http 500", 500, PAGE),
        ("not html at all", 200, ""),
        ("layout changed: no rows", 200, "<html><body><p>Service moved</p></body></html>"),
    ],
)
def test_failed_source_is_recorded_others_run_nothing_removed(
    config: Path, farm: SourceFarm, receiver: JsonReceiver, label: str, status: int, body: str
) -> None:
    publish(farm, PAGE)
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 1

    publish(farm, body, other=smith_retyped(without_mccalla(PAGE)), status=status)
    result = run_cli("check", "--config", str(config), env={"TEST_NGO_URL": receiver.url})
    assert result.code == 1, label
    assert "failed" in result.stdout and "cacd-list" in result.stdout
    assert len(receiver.messages) == 1, "a failed source must never produce removals"
    status_out = run_cli("status", "--config", str(config), env={"TEST_NGO_URL": receiver.url})
    assert status_out.code == 1 and "cacd-list" in status_out.stdout

    publish(farm, PAGE)  # the source recovers unchanged: still nothing to say
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 1


def test_timeout_fails_only_that_source(config: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    farm.set_routes([Route("/cause-list", PAGE.encode(), delay=5), Route("/other", PAGE.encode())])
    result = run_cli("check", "--config", str(config), env={"TEST_NGO_URL": receiver.url})
    assert result.code == 1
    assert "timed out" in result.stdout
    assert "other-list" in result.stdout and "ok" in result.stdout


def test_channel_down_keeps_alerts_pending_then_delivers_once(
    config: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    publish(farm, PAGE)
    receiver.down = True
    assert check(config, receiver) == 0
    assert receiver.messages == []
    pending = run_cli(
        "alerts", "--config", str(config), "--pending", "--json", env={"TEST_NGO_URL": receiver.url}
    )
    assert '"status": "pending"' in pending.stdout

    receiver.down = False
    assert check(config, receiver) == 0
    assert check(config, receiver) == 0
    assert len(receiver.messages) == 1


def test_real_subprocess_cli(config: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    publish(farm, PAGE)
    result = run_cli("check", "-c", str(config), env={"TEST_NGO_URL": receiver.url}, subprocess_=True)
    assert result.code == 0, result.stderr
    assert len(receiver.messages) == 1
    assert receiver.url.split("//")[1] not in result.stdout + result.stderr
