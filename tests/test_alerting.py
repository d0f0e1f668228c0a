"""Alerts people can act on, through the real CLI, a local source farm and real Apprise channels: HTTP
JSON receivers and an in-process SMTP server. Routing by person, tag, source, source kind, event and
score; a confidential subscription that leaks no name; a hostile record rendered inert; a dead channel
retried, given up, reported and retried by hand; a dismissed match that stays quiet until its names change.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

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

    def write(
        self,
        channels: str,
        subscriptions: str,
        watcher: str = "",
        people: str = PEOPLE,
        sources: str = SOURCES,
    ) -> Path:
        text = (
            f'[watcher]\ndatabase = "sqlite:///watcher.db"\ntimeout = 3\nretries = 0\nbackoff = 0\n{watcher}\n'
            + people
            + sources.format(base=self.farm.base)
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


COURT = Path(__file__).parent / "fixtures" / "uk_court_lists" / "e2e"  # McCalla's hearing in 2030
EVENT_SOURCES = """
[[source]]
id = "people"
adapter = "json_list"
stale_after = "1s"
[source.options]
url = "{base}/people.json"
key = "id"
fields = {{ id = "id", name = "name" }}

[[source]]
id = "mvd"
adapter = "ru_mvd_wanted"

[[source]]
id = "cacd"
adapter = "uk_court_lists"
expect_min_records = 0
[source.options]
base_url = "{base}"
location_id = "109"
"""


def test_health_task_and_reminder_events_route_through_subscriptions(
    setup: Setup, receivers: list[JsonReceiver]
) -> None:
    health, tasks, reminders, court = receivers
    setup.env = {f"URL_{i}": r.url for i, r in enumerate(receivers)}
    setup.write(
        channel("health", "URL_0")
        + channel("tasks", "URL_1")
        + channel("reminders", "URL_2")
        + channel("court", "URL_3"),
        """
[[subscription]]
channel = "health"
sources = ["people"]
events = ["source_failed", "source_stale"]

[[subscription]]
channel = "tasks"
people = ["tag:client-b"]
events = ["task"]

[[subscription]]
channel = "reminders"
people = ["mccalla"]
events = ["reminder"]
remind_before = [3650]

[[subscription]]
channel = "court"
source_kinds = ["court"]
""",
        watcher="failures_before_alert = 1",
        sources=EVENT_SOURCES,
    )
    setup.farm.set_routes(  # /people.json is not served: that source fails
        [
            Route(
                "/summary-of-publications",
                (COURT / "summary_1.html").read_bytes(),
                query={"locationId": "109"},
            ),
            Route(
                "/court-of-appeal-criminal-daily-cause-list",
                (COURT / "list_1.html").read_bytes(),
                query={"artefactId": "test-id-today"},
            ),
        ]
    )
    assert setup.cli("check").code == 1, "a source failed"
    time.sleep(1.1)  # past the failing source's stale_after
    assert setup.cli("check").code == 1

    assert titles(health) == [
        "[watcher] Source failing: source people",
        "[watcher] Source stale: source people",
    ]
    assert titles(tasks) == ["[watcher] Manual check needed: Botagoz Jardemalie in mvd"], "client-b only"
    [reminder] = titles(reminders)
    assert reminder.startswith("[watcher] Hearing reminder: Robert McCalla in cacd:")
    [new] = titles(court)
    assert new.startswith("[watcher] New: Robert McCalla in cacd:"), (
        "the default events, of court sources only"
    )


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

    # The link works: `watcher serve` shows that one alert, and nothing for anything else.
    other = next(n for n, _ in refs if n != number)
    with serving(setup) as base:
        with urlopen(f"{base}/alerts/{number}?ref={ref}", timeout=10) as page:
            text = page.read().decode()
            assert page.headers["Cache-Control"] == "no-store"
        assert f"watcher alert #{number}" in text and "&quot;id&quot;: " + number in text
        for wrong in (
            f"/alerts/{number}?ref={number}-0000000000",
            f"/alerts/{other}?ref={ref}",
            f"/alerts/{number}",
            "/alerts",
            "/",
        ):
            with pytest.raises(HTTPError) as refused:
                urlopen(base + wrong, timeout=10)
            assert refused.value.code == 404, wrong


@contextmanager
def serving(setup: Setup) -> Iterator[str]:
    """`watcher serve` as a user starts it, on a free port; stopped (this process only) afterwards."""
    args = [sys.executable, "-m", "watcher", "serve", "--port", "0", "-c", str(setup.dir / "watcher.toml")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env={**os.environ, **setup.env})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, line
        yield found.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


CONSENT_PAGE = b"<html><body>Before you continue to Google Search</body></html>"  # what a blocked search gets


def test_health_and_task_texts_to_the_operator_leak_no_confidential_name(
    setup: Setup, receivers: list[JsonReceiver]
) -> None:
    lawyer, ops = receivers[:2]
    setup.env = {"LAWYER": lawyer.url, "OPS": ops.url}
    setup.write(
        channel("lawyer", "LAWYER") + channel("ops", "OPS"),
        '\n[[subscription]]\nchannel = "lawyer"\npeople = ["jardemalie"]\nconfidential = true\n',
        watcher='operator_channel = "ops"\nfailures_before_alert = 1\npublic_url = "https://watcher.ngo.example"',
        people=PEOPLE[PEOPLE.index('[[person]]\nid = "jardemalie"') :],
        sources="""
[[source]]
id = "gnews"
adapter = "google_news"
[source.options]
base_url = "{base}"

[[source]]
id = "mvd"
adapter = "ru_mvd_wanted"
""",
    )
    setup.farm.set_routes([Route("/rss/search", CONSENT_PAGE)])
    assert setup.cli("check").code == 1
    assert sorted(re.sub(r"#\d+", "#N", t) for t in titles(ops)) == [
        "[watcher] Confidential alert #N: task",
        "[watcher] Source failing: source gnews",
    ], "the task is about a confidential person: it goes to the operator as one"

    failed = [json.loads(line) for line in setup.cli("alerts", "--json").stdout.splitlines()]
    [note] = [a["content"]["note"] for a in failed if a["event"] == "source_failed"]
    assert "search?q=%22Botagoz+Jardemalie%22" in note, "the local record keeps the full text"
    received = json.dumps(ops.messages, ensure_ascii=False)
    names = ["Botagoz", "Jardemalie", "Bota ", "Жардемали", "Ботагоз", "%D0%96", "q=", "%22"]
    assert [n for n in names if n.lower() in received.lower()] == [], received
    assert "watcher status" in received, "the operator is told where the full text is"


HOSTILE = '<a href="https://evil.example/x">click</a><script>alert(1)</script>'
HOSTILE_MD = "[click](https://evil.example/md) ![i](https://evil.example/i.png) <https://evil.example/auto>"


def _links(html_text: str) -> list[str]:
    doc = lxml_html.fromstring(f"<div>{html_text}</div>")
    assert not doc.xpath("//script | //img | //iframe"), html_text
    return [a.get("href") for a in doc.xpath("//a")]


def _inert_markdown(body: str) -> None:
    rendered = markdown.markdown(body)  # as Apprise turns Markdown into HTML
    assert _links(rendered) == ["https://register.example.org/r1"], "only the record's own link is a link"
    assert "<script" not in rendered and "<img" not in rendered
    assert "https://evil" not in body and r"https\[:\]//evil.example/md" in body, "there, and inert"


def _inert_html(body: str) -> None:
    assert _links(body) == ["https://register.example.org/r1"], "only the record's own link is a link"
    assert "&lt;script&gt;" in body and "evil[.]example" not in body and "https[:]//evil.example/md" in body


def test_hostile_record_is_inert_in_html_markdown_and_templates(
    setup: Setup, receivers: list[JsonReceiver], smtp: SmtpReceiver
) -> None:
    as_html, as_md, templated, md_templated = receivers
    setup.env = {
        "H": f"{as_html.url}?format=html",
        "M": as_md.url,
        "T": templated.url,
        "MT": md_templated.url,
        "MAIL": smtp.url,
    }
    setup.write(
        channel("h", "H", 'format = "html"')
        + channel("m", "M", 'format = "markdown"')
        + channel("t", "T", 'format = "html"\ntemplate = "alert.html.j2"')
        + channel("mt", "MT", 'format = "markdown"\ntemplate = "alert.md.j2"')
        + channel("mail", "MAIL", 'format = "html"'),
        "".join(
            f'\n[[subscription]]\nchannel = "{c}"\nsources = ["people"]\n'
            for c in ("h", "m", "t", "mt", "mail")
        ),
    )
    (setup.dir / "alert.html.j2").write_text(
        "{{ event_word }}: {{ person }} / {{ record.title }}\n"
        '<p>{{ record.fields.note }}</p><p><a href="{{ link }}">open</a></p>'
        "{% for n in record.names %}<i>{{ n|e }}</i> {{ n|safe }}{% endfor %}\n"
    )
    # `|e` escapes for HTML, not Markdown; `|safe` and `|urlize` would let a source write markup or links.
    (setup.dir / "alert.md.j2").write_text(
        "{{ event_word }}: {{ person }}\n[open]({{ link }}) {{ record.title|e }} {{ record.title|safe }}"
        " {{ record.fields.note|urlize }}\n"
    )
    # The title (shown by every default message) and, in step 2, a changed field carry both attacks.
    setup.publish([entry("r1", "Robert McCalla", alias=f"{HOSTILE} {HOSTILE_MD}", note="plain")])
    setup.check()
    setup.publish([entry("r1", "Robert McCalla", alias=f"{HOSTILE} {HOSTILE_MD}", note=HOSTILE_MD + HOSTILE)])
    setup.check()
    for r in receivers:
        assert [m["title"].split(":")[0] for m in r.messages] in (
            ["[watcher] New", "[watcher] Changed"],
            ["New", "Changed"],
        )
        assert all("<" not in m["title"] and "](" not in m["title"] for m in r.messages)

    for m in as_html.messages:
        _inert_html(m["message"])
    assert "note:" in as_html.messages[1]["message"], "the change is shown"
    for m in as_md.messages + md_templated.messages:
        _inert_markdown(m["message"])
    assert "note:" in as_md.messages[1]["message"]

    for m in templated.messages:
        assert _links(m["message"]) == ["https://register.example.org/r1"]
        assert "<script" not in m["message"] and "https://evil" not in m["message"]
    assert templated.messages[0]["title"].startswith("New: Robert McCalla / r1:")

    assert len(smtp.messages) == 2
    for mail in smtp.messages:  # the e-mail's HTML part, as a mail client shows it
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
