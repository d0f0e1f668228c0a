"""The pure parts of alerting, table-driven: digest times, escaping per format, templates, routing by
kind and mode, config checks, and the review memory's suppression rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from watcher.config import Config, load_config
from watcher.db.engine import open_engine
from watcher.db.store import NewAlert, Store
from watcher.digest import next_due
from watcher.errors import ConfigError
from watcher.models import Record
from watcher.render import AlertFacts, render_alert
from watcher.review import record_decision
from watcher.route import Handling, channels_for, handling
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
    assert md.title == r"Robert McCalla: \[x\]\(https\[:\]//evil.example\)"
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
