"""The pure parts of alerting, table-driven: digest times, escaping per format, templates (no filter
unescapes source text), routing by kind, mode and event, config checks, redaction of health texts,
and the review memory's suppression rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown
import pytest

from watcher.config import EVENTS, Config, load_config
from watcher.db.engine import open_engine
from watcher.db.store import NewAlert, Store
from watcher.digest import next_due
from watcher.errors import ConfigError
from watcher.models import Record
from watcher.redact import Redactor
from watcher.render import AlertFacts, render_alert
from watcher.review import record_decision
from watcher.route import Handling, channels_for, handling, reminder_channels
from watcher.templates import defang, escape_for, safe_link, title_safe

BXL = ZoneInfo("Europe/Brussels")
DAILY = Handling("daily", "08:00", "Europe/Brussels")


@pytest.mark.parametrize(
    ("after", "how", "due"),
    [
        pytest.param(
            datetime(2030, 1, 7, 7, 59, tzinfo=BXL),
            DAILY,
            datetime(2030, 1, 7, 8, 0, tzinfo=BXL),
            id="before",
        ),
        pytest.param(
            datetime(2030, 1, 7, 8, 0, tzinfo=BXL),
            DAILY,
            datetime(2030, 1, 8, 8, 0, tzinfo=BXL),
            id="at-is-next-day",
        ),
        pytest.param(
            datetime(2030, 1, 7, 23, 30, tzinfo=BXL), DAILY, datetime(2030, 1, 8, 8, 0, tzinfo=BXL), id="late"
        ),
        pytest.param(
            datetime(2030, 3, 30, 9, 0, tzinfo=BXL),
            DAILY,
            datetime(2030, 3, 31, 6, 0, tzinfo=UTC),
            id="dst-starts",
        ),
        pytest.param(
            datetime(2030, 10, 26, 9, 0, tzinfo=BXL),
            DAILY,
            datetime(2030, 10, 27, 7, 0, tzinfo=UTC),
            id="dst-ends",
        ),
        pytest.param(
            datetime(2030, 1, 7, 9, 0, tzinfo=BXL),
            Handling("weekly", "18:30", "Europe/Brussels", "friday"),
            datetime(2030, 1, 11, 18, 30, tzinfo=BXL),
            id="weekly",
        ),
        pytest.param(
            datetime(2030, 1, 11, 19, 0, tzinfo=BXL),
            Handling("weekly", "18:30", "Europe/Brussels", "friday"),
            datetime(2030, 1, 18, 18, 30, tzinfo=BXL),
            id="weekly-after",
        ),
        pytest.param(
            datetime(2030, 1, 7, 9, 0, tzinfo=UTC),
            Handling(),
            datetime(2030, 1, 7, 9, 0, tzinfo=UTC),
            id="immediate",
        ),
    ],
)
def test_next_due(after: datetime, how: Handling, due: datetime) -> None:
    assert next_due(after.astimezone(UTC), how) == due


HOSTILE = (
    '<a href="https://evil.example">click</a><script>x</script> [md](https://evil.example/m) www.evil.example'
)


@pytest.mark.parametrize(
    ("fmt", "present", "absent"),
    [
        ("text", ["https[:]//evil.example", "www[.]evil.example"], ["https://", "www.evil"]),
        ("markdown", [r"\[md\]", r"\<script\>"], ["[md](", "https://"]),
        (
            "html",
            ["&lt;script&gt;", "&lt;a href=&quot;https[:]//evil.example&quot;&gt;"],
            ["<script", "<a ", "https://"],
        ),
    ],
)
def test_escaping_makes_source_text_inert(fmt: str, present: list[str], absent: list[str]) -> None:
    out = escape_for(fmt)(HOSTILE)
    assert all(p in out for p in present), out
    assert not any(a in out for a in absent), out


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://register.example.org/r1?a=1&b=2", "https://register.example.org/r1?a=1&b=2"),
        ('https://x.example/"><script>', "https://x.example/%22%3E%3Cscript%3E"),
        ("javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//x.example/no-scheme", None),
    ],
)
def test_only_plain_web_links_are_links(url: str, safe: str | None) -> None:
    assert safe_link(url) == safe


def test_titles_carry_no_markup_and_control_characters_go() -> None:
    assert title_safe("r1: <b>[x](https://e.example)</b>\u202e") == "r1: bx(https[:]//e.example)/b"
    assert defang("a\x00b\u200bc") == "abc"


def test_templates_escape_source_values_but_not_checked_links(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text(
        "{{ person }}: {{ record.title }}\n[open]({{ link }}) {{ record.names }} {{ missing }}\n"
    )
    (tmp_path / "h.j2").write_text('{{ record.title }}\n<a href="{{ link }}">{{ record.title }}</a>\n')
    facts = AlertFacts(
        7,
        "new",
        "src",
        "Robert McCalla",
        {"record": {"key": "k", "title": "[x](https://evil.example)", "url": "https://ok.example/r"}},
    )
    md = render_alert(facts, "markdown", template=tmp_path / "t.j2")
    assert md.title == "Robert McCalla: x(https[:]//evil.example)", "a title is plain text, as everywhere"
    assert md.body.startswith("[open](https://ok.example/r) ")
    html = render_alert(facts, "html", template=tmp_path / "h.j2")
    assert html.body == '<a href="https://ok.example/r">[x](https[:]//evil.example)</a>'


CONFIG = """
[[person]]
id = "p1"
name = "Robert McCalla"
[[source]]
id = "court-roll"
adapter = "html_list"
options = {{ url = "http://127.0.0.1:9/x", item = "tr", key = "k", fields = {{ k = "td" }} }}
[[source]]
id = "feed"
adapter = "rss"
options = {{ url = "http://127.0.0.1:9/f" }}
[[channel]]
id = "a"
url = "json://127.0.0.1:9/a"
[[channel]]
id = "b"
url = "json://127.0.0.1:9/b"
{subs}
"""


def config(tmp_path: Path, subs: str) -> Config:
    path = tmp_path / "w.toml"
    path.write_text(CONFIG.format(subs=subs))
    return load_config(path, environ={})


def test_routing_by_kind_and_the_most_urgent_mode_wins(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        """
[[subscription]]
channel = "a"
sources = ["kind:news"]
mode = "daily"
[[subscription]]
channel = "a"
sources = ["feed"]
confidential = true
[[subscription]]
channel = "b"
sources = ["kind:generic", "feed"]
mode = "weekly"
""",
    )
    assert cfg.subscription[0].sources == () and cfg.subscription[0].source_kinds == ("news",)
    assert channels_for(cfg, event="new", person_id="p1", source_id="court-roll", score=1.0) == ["b"]
    assert channels_for(cfg, event="new", person_id="p1", source_id="feed", score=1.0) == ["a", "b"]
    a = handling(cfg, channel="a", event="new", person_id="p1", source_id="feed", score=1.0)
    assert (a.mode, a.confidential) == ("immediate", True), "immediate beats daily; confidential if any"
    b = handling(cfg, channel="b", event="reminder", person_id="p1", source_id="feed", score=None)
    assert b.mode == "immediate", "a hearing reminder is never held for a digest"


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        ('at = "25:00"', "is not a time of day"),
        ('timezone = "Europe/Brusels"', "is not a time zone"),
        ('mode = "hourly"', "'immediate', 'daily' or 'weekly'"),
        ('sources = ["kind:blog"]', "'register', 'sanctions'"),
    ],
)
def test_subscription_mistakes_are_config_errors(tmp_path: Path, sub: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, f'[[subscription]]\nchannel = "a"\n{sub}\n')


def test_a_dismissal_holds_only_while_the_matched_fields_stay(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'w.db'}")
    store = Store(engine, lambda *_: ["a"])
    now = datetime(2030, 1, 1, tzinfo=UTC)
    record = Record("k1", "t", names=("Robert McCalla",), birth_dates=("1970",), fields={"x": "1"})

    def alert(r: Record, version: int) -> int:
        content = {"record": {"key": r.key, **r.content()}}
        new = NewAlert("changed", "src", "p1", content, f"src|k1|v{version}", record_key="k1")
        from sqlmodel import Session

        with Session(engine) as s:
            n = store.add_alert(s, new, now)
            s.commit()
        return n

    assert alert(record, 1) == 1
    record_decision(engine, 1, "false_positive", note=None, by="tester", now=now)
    assert (
        alert(Record("k1", "t2", names=("Robert McCalla",), birth_dates=("1970",), fields={"x": "2"}), 2) == 0
    )
    assert alert(Record("k1", "t2", names=("McCalla Robert",), birth_dates=("1970",)), 3) == 1
    assert alert(Record("k1", "t2", names=("Robert McCalla",), birth_dates=("1971",)), 4) == 1
    assert json.loads(json.dumps({"ok": True}))["ok"]
    engine.dispose()


def test_source_kinds_alone_route_only_those_kinds(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[[subscription]]\nchannel = "a"\nsource_kinds = ["generic"]\n')
    assert cfg.subscription[0].sources == ()
    assert channels_for(cfg, event="new", person_id="p1", source_id="court-roll", score=1.0) == ["a"]
    assert channels_for(cfg, event="new", person_id="p1", source_id="feed", score=1.0) == []


def test_remind_before_means_reminders_and_events_can_ask_for_them(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        """
[[subscription]]
channel = "a"
remind_before = [7]
[[subscription]]
channel = "b"
events = ["reminder"]
remind_before = [1]
""",
    )
    assert cfg.subscription[0].events == ("new", "changed", "removed", "reminder")
    assert reminder_channels(cfg, person_id="p1", source_id="court-roll", days=7) == ["a"]
    assert reminder_channels(cfg, person_id="p1", source_id="court-roll", days=1) == ["b"]
    assert channels_for(cfg, event="new", person_id="p1", source_id="court-roll", score=1.0) == ["a"]
    assert channels_for(cfg, event="source_stale", person_id=None, source_id="feed", score=None) == []


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        pytest.param('events = ["reminder"]', "remind_before is empty", id="reminder-without-days"),
        pytest.param(
            'sources = ["*"]\nsource_kinds = ["court"]',
            "source_kinds would filter nothing",
            id="all-and-kinds",
        ),
        pytest.param('events = ["sent"]', "'source_stale', 'task' or 'reminder'", id="unknown-event"),
        pytest.param('at = "08:00:60"', "is not a time of day", id="bad-seconds"),
    ],
)
def test_event_and_kind_contradictions_are_config_errors(tmp_path: Path, sub: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, f'[[subscription]]\nchannel = "a"\n{sub}\n')


def test_every_documented_event_is_one_a_subscription_can_ask_for(tmp_path: Path) -> None:
    for event in EVENTS:
        days = "remind_before = [1]\n" if event == "reminder" else ""
        cfg = config(tmp_path, f'[[subscription]]\nchannel = "a"\nevents = ["{event}"]\n{days}')
        assert cfg.subscription[0].events == (event,)


@pytest.mark.parametrize("fmt", ["markdown", "text", "html"])
@pytest.mark.parametrize(
    "expr", ["record.title|e", "record.title|safe", "record.title|urlize", "record.title"]
)
def test_template_filters_cannot_unescape_source_text(tmp_path: Path, fmt: str, expr: str) -> None:
    (tmp_path / "t.j2").write_text(f"title\n{{{{ {expr} }}}}\n")
    hostile = '[x](https://evil.example/m) <a href="https://evil.example/h">h</a> <https://evil.example/a>'
    facts = AlertFacts(1, "new", "src", "Robert McCalla", {"record": {"key": "k", "title": hostile}})
    body = render_alert(facts, fmt, template=tmp_path / "t.j2").body
    assert "https://" not in body, body
    if fmt == "html":
        assert "<a" not in body and "&lt;a href" in body, body
    if fmt == "markdown":
        assert "](" not in body, body
        rendered = markdown.markdown(body)  # as Apprise turns Markdown into HTML
        assert "<a" not in rendered, rendered


PEOPLE_CONFIDENTIAL = """
[[person]]
id = "bota"
name = "Botagoz Jardemalie"
aliases = ["Жардемали Ботагоз", "B. Jardemalie"]
[[person]]
id = "open"
name = "Robert McCalla"
[[channel]]
id = "a"
url = "json://127.0.0.1:9/a"
[[subscription]]
channel = "a"
people = ["bota"]
confidential = true
"""


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        pytest.param(
            "GET https://news.google.com/rss/search?q=%22Botagoz+Jardemalie%22&hl=en-US: HTTP 500",
            ["Botagoz", "q=", "%22"],
            ["https://news.google.com/rss/search?", "HTTP 500"],
            id="query-string",
        ),
        pytest.param(
            "no result for Жардемали Ботагоз at /p/%D0%96%D0%B0%D1%80%D0%B4%D0%B5%D0%BC%D0%B0%D0%BB%D0%B8",
            ["Жардемали", "Ботагоз", "%D0%96"],
            ["no result for", "/p/"],
            id="original-script-and-encoded-path",
        ),
        pytest.param(
            "JARDEMALIE, botagoz and Robert McCalla", ["JARDEMALIE", "botagoz"], ["Robert McCalla"], id="case"
        ),
    ],
)
def test_health_texts_lose_queries_and_confidential_names(
    tmp_path: Path, text: str, gone: list[str], kept: list[str]
) -> None:
    path = tmp_path / "w.toml"
    path.write_text(PEOPLE_CONFIDENTIAL)
    out = Redactor(load_config(path, environ={}))(text)
    assert not [g for g in gone if g in out], out
    assert all(k in out for k in kept), out
    assert "watcher status" in out, "the message says where the full text is"
    assert Redactor(load_config(path, environ={}))("3 failed runs in a row") == "3 failed runs in a row"
