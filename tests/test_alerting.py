"""Alerts people can act on, through the real CLI, a local source farm and real Apprise channels: HTTP
JSON receivers and an in-process SMTP server. Routing by person, tag, source, source kind, event and
score; a confidential subscription that leaks no name; a hostile record rendered inert; a dead channel
retried, given up, reported and retried by hand; a dismissed match that stays quiet until its names change.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import markdown
import pytest
from lxml import html as lxml_html

from tests.support.cli import CliResult, run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.support.smtp import SmtpReceiver

PEOPLE = """
[[person]]
id = "mccalla"
name = "Robert McCalla"
aliases = ["Bob McCalla"]
tags = ["client-a"]

[[person]]
id = "jardemalie"
name = "Botagoz Jardemalie"
aliases = ["Bota Jardemalie", "Жардемали Ботагоз"]
tags = ["client-b"]
"""

SOURCES = """
[[source]]
id = "people"
adapter = "json_list"
expect_min_records = 0
[source.options]
url = "{base}/people.json"
key = "id"
link = "link"
name_fields = ["alias", "name"]
fields = {{ id = "id", name = "name", alias = "alias", note = "note", link = "link" }}

[[source]]
id = "news"
adapter = "rss"
expect_min_records = 0
[source.options]
url = "{base}/news.rss"
"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Local news</title><link>https://news.example.org/</link>
<description>synthetic</description>
<item><title>Court hears extradition request</title><link>https://news.example.org/a1</link>
<guid>a1</guid><description>Police said Robert McCalla was detained on Monday.</description></item>
</channel></rss>"""


def entry(key: str, name: str, **extra: str) -> dict[str, str]:
    return {"id": key, "name": name, "link": f"https://register.example.org/{key}", **extra}


BASE_ENTRIES = [
    entry("r1", "Robert McCalla"),
    entry("r2", "Botagoz Jardemalie"),
    entry("r3", "B. Jardemalie"),  # a weaker match: score 0.90
    entry("r4", "Someone Else"),
]


class Setup:
    def __init__(self, tmp_path: Path, farm: SourceFarm) -> None:
        self.dir = tmp_path
        self.farm = farm
        self.env: dict[str, str] = {}

    def write(self, channels: str, subscriptions: str, watcher: str = "") -> Path:
        text = (
            f'[watcher]\ndatabase = "sqlite:///watcher.db"\ntimeout = 3\nretries = 0\nbackoff = 0\n{watcher}\n'
            + PEOPLE
            + SOURCES.format(base=self.farm.base)
            + channels
            + subscriptions
        )
        path = self.dir / "watcher.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def publish(self, entries: list[dict[str, str]], news: str = NEWS) -> None:
        self.farm.set_routes(
            [
                Route("/people.json", json.dumps(entries).encode(), content_type="application/json"),
                Route("/news.rss", news.encode(), content_type="application/rss+xml"),
            ]
        )

    def cli(self, *args: str) -> CliResult:
        return run_cli(*args, "--config", str(self.dir / "watcher.toml"), env=self.env)

    def check(self) -> None:
        result = self.cli("check")
        assert result.code == 0, result.stdout + result.stderr


@pytest.fixture
def receivers() -> Iterator[list[JsonReceiver]]:
    made = [JsonReceiver() for _ in range(4)]
    yield made
    for r in made:
        r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    s = SmtpReceiver()
    yield s
    s.stop()


@pytest.fixture
def setup(tmp_path: Path, farm: SourceFarm) -> Setup:
    return Setup(tmp_path, farm)


def channel(cid: str, env: str, extra: str = "") -> str:
    return f'\n[[channel]]\nid = "{cid}"\nurl_env = "{env}"\n{extra}\n'


def titles(r: JsonReceiver) -> list[str]:
    return [m["title"] for m in r.messages]


def test_routing_by_person_tag_source_kind_event_and_score(
    setup: Setup, receivers: list[JsonReceiver]
) -> None:
    client_a, b_removals, news_desk, sure_only = receivers
    setup.env = {f"URL_{i}": r.url for i, r in enumerate(receivers)}
    setup.write(
        channel("client-a", "URL_0")
        + channel("b-removals", "URL_1")
        + channel("news-desk", "URL_2")
        + channel("sure-only", "URL_3"),
        """
[[subscription]]
channel = "client-a"
people = ["tag:client-a"]

[[subscription]]
channel = "b-removals"
people = ["jardemalie"]
events = ["removed"]

[[subscription]]
channel = "news-desk"
sources = ["kind:news"]

[[subscription]]
channel = "sure-only"
sources = ["people"]
min_score = 0.95
""",
    )
    setup.publish(BASE_ENTRIES)
    setup.check()
    assert sorted(titles(client_a)) == [
        "[watcher] New: Robert McCalla in news: Court hears extradition request",
        "[watcher] New: Robert McCalla in people: r1: Robert McCalla",
    ]
    assert b_removals.messages == [], "b-removals wants removals only"
    assert titles(news_desk) == ["[watcher] New: Robert McCalla in news: Court hears extradition request"]
    assert sorted(titles(sure_only)) == [
        "[watcher] New: Botagoz Jardemalie in people: r2: Botagoz Jardemalie",
        "[watcher] New: Robert McCalla in people: r1: Robert McCalla",
    ], "the 0.90 match (r3) stays below min_score 0.95"

    setup.publish([e for e in BASE_ENTRIES if e["id"] != "r2"])
    setup.check()
    assert titles(b_removals) == ["[watcher] Removed: Botagoz Jardemalie in people: r2: Botagoz Jardemalie"]
    assert len(client_a.messages) == 2 and len(news_desk.messages) == 1


def test_kind_in_sources_is_checked(setup: Setup) -> None:
    setup.env = {"URL_0": "json://127.0.0.1:9/x"}
    path = setup.write(
        channel("c", "URL_0"), '\n[[subscription]]\nchannel = "c"\nsources = ["kind:courts"]\n'
    )
    result = run_cli("check", "--config", str(path), env=setup.env)
    assert result.code == 2 and "source_kinds" in result.stderr and "'court'" in result.stderr


def test_confidential_subscription_leaks_no_name(
    setup: Setup, receivers: list[JsonReceiver], smtp: SmtpReceiver
) -> None:
    chat = receivers[0]
    setup.env = {"CHAT": chat.url, "MAIL": smtp.url}
    setup.write(
        channel("chat", "CHAT", 'format = "markdown"\ntemplate = "leaky.j2"')
        + channel("mail", "MAIL", 'format = "html"'),
        """
[[subscription]]
channel = "chat"
confidential = true

[[subscription]]
channel = "mail"
people = ["tag:client-b"]
confidential = true
mode = "immediate"
""",
        watcher='public_url = "https://watcher.ngo.example/"',
    )
    # A template that would print everything: confidential alerts never use it.
    (setup.dir / "leaky.j2").write_text(
        "{{ person }} {{ record.title }}\n{{ record.url }} {{ record.names }}\n"
    )
    setup.publish(BASE_ENTRIES)
    setup.check()
    assert len(chat.messages) == 4  # r1, r2, r3 and the news item
    assert len(smtp.messages) == 2  # r2 and r3: client-b only
    received = json.dumps(chat.messages, ensure_ascii=False) + smtp.everything()
    secrets = [
        "McCalla",
        "Jardemalie",
        "Botagoz",
        "Жардемали",
        "mccalla",
        "jardemalie",
        "register.example.org",
        "news.example.org",
        "extradition",
        "detained",
        "r1:",
        "people",
        "news",
    ]
    leaked = [s for s in secrets if s.lower() in received.lower()]
    assert leaked == [], f"confidential messages leaked {leaked}"
    refs = re.findall(r"watcher\.ngo\.example/alerts/(\d+)\?ref=(\d+-[0-9a-f]{10})", received)
    assert len({r for _, r in refs}) == 4
    number, ref = refs[0]
    shown = setup.cli("alerts", "show", ref)
    assert shown.code == 0 and json.loads(shown.stdout)["id"] == int(number)
    assert setup.cli("alerts", "show", f"{number}-0000000000").code == 1, "a forged reference is refused"


HOSTILE = '<a href="https://evil.example/x">click</a><script>alert(1)</script>'
HOSTILE_MD = "[click](https://evil.example/md) ![i](https://evil.example/i.png) <https://evil.example/auto>"


def _links(html_text: str) -> list[str]:
    doc = lxml_html.fromstring(f"<div>{html_text}</div>")
    assert not doc.xpath("//script | //img | //iframe"), html_text
    return [a.get("href") for a in doc.xpath("//a")]


def test_hostile_record_is_inert_in_html_markdown_and_templates(
    setup: Setup, receivers: list[JsonReceiver], smtp: SmtpReceiver
) -> None:
    as_html, as_md, templated = receivers[:3]
    setup.env = {"H": f"{as_html.url}?format=html", "M": as_md.url, "T": templated.url, "MAIL": smtp.url}
    setup.write(
        channel("h", "H", 'format = "html"')
        + channel("m", "M", 'format = "markdown"')
        + channel("t", "T", 'format = "html"\ntemplate = "alert.html.j2"')
        + channel("mail", "MAIL", 'format = "html"'),
        "".join(
            f'\n[[subscription]]\nchannel = "{c}"\nsources = ["people"]\n' for c in ("h", "m", "t", "mail")
        ),
    )
    (setup.dir / "alert.html.j2").write_text(
        "{{ event_word }}: {{ person }} / {{ record.title }}\n"
        '<p>{{ record.fields.note }}</p><p><a href="{{ link }}">open</a></p>'
        "{% for n in record.names %}<i>{{ n }}</i>{% endfor %}\n"
    )
    hostile = entry("r1", "Robert McCalla", alias=HOSTILE, note=HOSTILE_MD)
    setup.publish([hostile])
    setup.check()
    for r in (as_html, as_md, templated):
        assert len(r.messages) == 1
        assert "<" not in r.messages[0]["title"] and "](" not in r.messages[0]["title"]

    body = as_html.messages[0]["message"]
    assert _links(body) == ["https://register.example.org/r1"], "only the record's own link is a link"
    assert "&lt;script&gt;" in body and "evil[.]example" not in body and "https[:]//evil.example" in body

    rendered = markdown.markdown(as_md.messages[0]["message"])  # as Apprise turns Markdown into HTML
    assert _links(rendered) == ["https://register.example.org/r1"]
    assert "<script" not in rendered

    body = templated.messages[0]["message"]
    assert _links(body) == ["https://register.example.org/r1"]
    assert templated.messages[0]["title"].startswith("New: Robert McCalla / r1:")

    mail = smtp.messages[0]  # the e-mail's HTML part, as a mail client shows it
    assert mail.html and _links(mail.html) == ["https://register.example.org/r1"]
    assert "<" not in mail.subject


def test_notify_test_dead_channel_retry_and_operator_report(
    setup: Setup, receivers: list[JsonReceiver]
) -> None:
    team, operator = receivers[:2]
    setup.env = {"TEAM": team.url, "OPS": operator.url, "NOWHERE": "json://127.0.0.1:9/closed"}
    setup.write(
        channel("team", "TEAM") + channel("ops", "OPS") + channel("nowhere", "NOWHERE"),
        '\n[[subscription]]\nchannel = "team"\nsources = ["people"]\npeople = ["mccalla"]\n',
        watcher='operator_channel = "ops"\ndelivery_max_age = "2s"',
    )
    ok = setup.cli("notify-test", "team")
    assert ok.code == 0 and "sent" in ok.stdout
    assert "Test message" in team.messages[0]["title"]
    bad = setup.cli("notify-test", "nowhere")
    assert bad.code == 1 and "not sent" in bad.stderr
    assert setup.cli("notify-test", "nope").code == 2
    team.messages.clear()

    team.down = True
    setup.publish(BASE_ENTRIES)
    setup.check()  # first attempt fails: kept pending
    assert team.messages == [] and operator.messages == []
    time.sleep(2.1)
    setup.check()  # older than delivery_max_age: dead, and the operator is told
    dead = [json.loads(line) for line in setup.cli("alerts", "--dead", "--json").stdout.splitlines()]
    assert [d["deliveries"] for d in dead] == [[{"channel": "team", "status": "dead"}]]
    alert_id = dead[0]["id"]
    assert len(operator.messages) == 1
    report = operator.messages[0]["message"]
    assert f"Alert #{alert_id} could not be delivered to channel 'team'" in report
    assert f"watcher alerts retry {alert_id}" in report

    team.down = False
    retried = setup.cli("alerts", "retry", str(alert_id))
    assert retried.code == 0 and "team" in retried.stdout
    setup.check()
    setup.check()
    assert titles(team) == ["[watcher] New: Robert McCalla in people: r1: Robert McCalla"]
    assert setup.cli("alerts", "retry", str(alert_id)).code == 1, "nothing left to retry"
    assert len(operator.messages) == 1


def _alert_ids(setup: Setup) -> dict[tuple[str, str], int]:
    rows = [json.loads(line) for line in setup.cli("alerts", "--json").stdout.splitlines()]
    return {(r["person"], r["event"]): r["id"] for r in rows}


def test_review_dismissal_holds_until_matched_fields_change(
    setup: Setup, receivers: list[JsonReceiver]
) -> None:
    team = receivers[0]
    setup.env = {"TEAM": team.url}
    setup.write(
        channel("team", "TEAM"),
        '\n[[subscription]]\nchannel = "team"\npeople = ["jardemalie"]\nsources = ["people"]\n',
    )
    entries = [entry("r2", "Botagoz Jardemalie", note="first")]
    setup.publish(entries)
    setup.check()
    assert len(team.messages) == 1
    alert_id = _alert_ids(setup)[("jardemalie", "new")]

    assert setup.cli("review", str(alert_id)).code == 2, "a decision must be given"
    done = setup.cli("review", str(alert_id), "--false-positive", "--note", "a namesake, born 1990")
    assert done.code == 0 and "false positive" in done.stdout

    entries = [entry("r2", "Botagoz Jardemalie", note="second")]  # an unmatched field changes
    setup.publish(entries)
    setup.check()
    assert len(team.messages) == 1, "a dismissed pair stays quiet"

    entries = [entry("r2", "Botagoz Jardemalie", note="second", alias="Bota Jardemalie")]  # names change
    setup.publish(entries)
    setup.check()
    assert len(team.messages) == 2 and "Changed: Botagoz Jardemalie" in team.messages[1]["title"]
    changed_id = max(i for (p, e), i in _alert_ids(setup).items() if e == "changed")

    assert setup.cli("review", str(changed_id), "--confirmed").code == 0
    setup.publish([entry("r2", "Botagoz Jardemalie", note="third", alias="Bota Jardemalie")])
    setup.check()
    assert len(team.messages) == 3
    assert "Changed (confirmed): Botagoz Jardemalie" in team.messages[2]["title"]
    assert "Review: confirmed by" in team.messages[2]["message"]

    shown: dict[str, Any] = json.loads(setup.cli("alerts", "show", str(alert_id)).stdout)
    decisions = [(r["decision"], r["note"]) for r in shown["reviews"]]
    assert decisions == [("false_positive", "a namesake, born 1990"), ("confirmed", None)]
    assert all(r["by"] and r["at"] for r in shown["reviews"])
