"""Coverage: `watcher status` shows, per person, the sources whose rounds look for them (with each
one's state and last success) and the sources that do not, so "no alert" is read correctly; it exits
non-zero while a covering source is stale or failing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.servers import Route, SourceFarm
from tests.test_pipeline_e2e import PAGE
from watcher.config import load_config
from watcher.models import Person
from watcher.registry import load_registry
from watcher.service import Service
from watcher.status import read_status

LATIN = Person(id="mccalla", name="Robert McCalla")
CYRILLIC = Person(id="zh", name="Жардемали Ботагоз")
LIST = {"url": "http://x/roll", "item": "tr", "key": "case", "fields": {"case": "td"}}

CASES = [
    ("a downloaded list covers everyone", "html_list", LIST, CYRILLIC, True),
    ("interpol by name: a Latin name is searched", "interpol_notices", {}, LATIN, True),
    ("interpol by name: the API holds Latin names only", "interpol_notices", {}, CYRILLIC, False),
    ("interpol list by warrant country", "interpol_notices", {"by_name": False, "arrest_warrant_country": "KZ"},
     CYRILLIC, True),
    ("courtlistener searches the watchlist", "courtlistener", {}, LATIN, True),
    ("courtlistener with only fixed queries", "courtlistener",
     {"names_from_watchlist": False, "queries": ['caseName:"extradition"']}, LATIN, False),
    ("hudoc feed, no names", "hudoc", {"respondents": ["RUS"]}, LATIN, True),
    ("hudoc fixed applicants", "hudoc", {"mode": "query", "applicants": ["Ivan Ivanov"]}, LATIN, False),
    ("hudoc applicants from the watchlist", "hudoc", {"mode": "query", "applicants_from_watchlist": True},
     CYRILLIC, True),
    ("find case law latest feed", "uk_find_case_law", {}, LATIN, True),
    ("find case law fixed party", "uk_find_case_law", {"party": "Smith"}, LATIN, False),
    ("find case law party from the watchlist", "uk_find_case_law", {"party_from_watchlist": True}, LATIN, True),
    ("gdelt searches every name form", "gdelt", {}, CYRILLIC, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "adapter", "options", "person", "covered"), CASES, ids=[c[0] for c in CASES]
)
def test_covers(label: str, adapter: str, options: dict[str, Any], person: Person, covered: bool) -> None:
    cls = load_registry().get(adapter)
    assert cls(cls.Options.model_validate(options)).covers(person) is covered, label


CONFIG = """
[watcher]
database = "sqlite:///w.db"
retries = 0
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[person]]
id = "zh"
name = "Жардемали Ботагоз"
[[source]]
id = "roll"
adapter = "html_list"
every = "1h"
stale_after = "2h"
[source.options]
url = "{base}/roll"
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
fields = {{ case_number = "td:nth-child(4)", case_details = "td:nth-child(5)" }}
[[source]]
id = "interpol"
adapter = "interpol_notices"
[source.options]
base_url = "{base}"
[[source]]
id = "off"
adapter = "gdelt"
enabled = false
"""


def test_status_shows_who_each_source_covers(tmp_path: Path, farm: SourceFarm) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.format(base=farm.base))
    farm.set_routes([Route("/roll", PAGE.encode())])
    config = load_config(path, environ={})

    async def roll() -> None:
        async with Service(config) as svc:
            await svc.run_sources(["roll"])

    asyncio.run(roll())
    report = read_status(config)
    by_person = {c.person_id: c for c in report.coverage}
    latin, cyrillic = by_person["mccalla"], by_person["zh"]
    assert [(c.source_id, c.state) for c in latin.by] == [("roll", "ok"), ("interpol", "never run")]
    assert latin.not_searched == [] and latin.ok == ["roll"] and latin.not_ok == ["interpol"]
    assert [c.source_id for c in cyrillic.by] == ["roll"] and cyrillic.not_searched == ["interpol"]
    assert latin.by[0].last_success is not None and latin.oldest_success == latin.by[0].last_success

    status = run_cli("status", "-c", str(path))
    assert status.code == 0, status.stdout  # nothing stale or failing yet ("never run" is neither)
    assert "not searched by: interpol" in status.stdout
    assert "off" not in status.stdout.split("coverage")[1], "a disabled source covers no one"
