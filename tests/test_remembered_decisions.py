"""A record that is the same as last round keeps last round's decision, so a full list in which a few
entries changed costs the matching of those entries only; a change of the watchlist judges everything
again. Real rounds against a local server, a real SQLite file and a real Apprise channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.config import load_config
from watcher.models import Match, Record
from watcher.service import Service

ROW = "<tr><td>{key}</td><td>{name}</td></tr>"
OTHERS = [f"Person{n:03d} Surname{n:03d}" for n in range(300)]

CONFIG = """
[watcher]
database = "sqlite:///{db}"
retries = 0
{people}
[[source]]
id = "roll"
adapter = "html_list"
[source.options]
url = "{base}/roll"
item = "tbody tr"
key = "case"
fields = {{ case = "td:nth-child(1)", name = "td:nth-child(2)" }}
name_fields = ["name"]
[[channel]]
id = "team"
url = "{receiver}"
[[subscription]]
channel = "team"
"""
MCCALLA = '[[person]]\nid = "mccalla"\nname = "Robert McCalla"\n'
PETROV = '[[person]]\nid = "petrov"\nname = "Ivan Petrov"\n'


def page(names: list[str] | dict[str, str]) -> bytes:
    keyed = names if isinstance(names, dict) else {f"C{i:04d}": n for i, n in enumerate(names)}
    rows = "".join(ROW.format(key=k, name=n) for k, n in keyed.items())
    return f"<table><tbody>{rows}</tbody></table>".encode()


def round_(tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, people: str) -> tuple[int, list[str]]:
    """One round; the number of records the matcher judged, and the alert titles delivered."""
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.format(db=tmp_path / "w.db", base=farm.base, receiver=receiver.url, people=people))
    judged: list[str] = []

    async def go() -> None:
        async with Service(load_config(path, environ={})) as svc:
            judge: Callable[[Record], list[Match]] = svc.matcher.match_record

            def counting(record: Record) -> list[Match]:
                judged.append(record.key)
                return judge(record)

            svc.matcher.match_record = counting  # type: ignore[method-assign]
            await svc.check()

    before = len(receiver.messages)
    asyncio.run(go())
    return len(judged), [m["title"] for m in receiver.messages[before:]]


def test_a_changed_list_judges_only_its_changed_records(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    names = [*OTHERS, "Robert McCalla"]
    farm.set_routes([Route("/roll", page(names))])
    judged, titles = round_(tmp_path, farm, receiver, MCCALLA)
    assert judged == 301 and len(titles) == 1 and "New: Robert McCalla" in titles[0]

    names[7] = "Ivan Petrov"  # one entry changed...
    names.append("Robert  McCalla")  # ...and one added: a second case of the watched person
    farm.set_routes([Route("/roll", page(names))])
    judged, titles = round_(tmp_path, farm, receiver, MCCALLA)
    assert judged == 2, "only the changed and the added entry are judged"
    assert len(titles) == 1 and "C0301" in titles[0]

    names[7] = OTHERS[7]  # and back: the watched person's entry is untouched, so it stays quiet
    farm.set_routes([Route("/roll", page(names))])
    judged, titles = round_(tmp_path, farm, receiver, MCCALLA)
    assert judged == 1 and titles == []

    keyed = {f"C{i:04d}": n for i, n in enumerate(names) if i != 300}  # the first case leaves the roll
    farm.set_routes([Route("/roll", page(keyed))])
    _, titles = round_(tmp_path, farm, receiver, MCCALLA)
    assert len(titles) == 1 and "Removed" in titles[0] and "C0300" in titles[0]


def test_a_watchlist_change_judges_every_record_again(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """Ivan Petrov was on the roll, matching nobody; once he is watched, the same unchanged page
    alerts him (a remembered 'matches nobody' must not outlive the watchlist it was made with)."""
    farm.set_routes([Route("/roll", page([*OTHERS[:50], "Ivan Petrov", "Robert McCalla"]))])
    assert len(round_(tmp_path, farm, receiver, MCCALLA)[1]) == 1
    judged, titles = round_(tmp_path, farm, receiver, MCCALLA + PETROV)
    assert judged == 52 and len(titles) == 1 and "Ivan Petrov" in titles[0]


def test_the_digest_changes_with_every_field_of_a_record() -> None:
    """A remembered "matches nobody" is keyed by the digest: a field the digest left out would let a
    change in it (a name, a birth date) pass as "the same record" and never be judged."""
    from dataclasses import fields, replace

    from watcher.collect import digest

    base = Record(key="k", title="t", url="u", names=("n",), text="x", birth_dates=("1970",),
                  nationalities=("KZ",), fields={"a": "1"}, kind="person", hearing_at="2026-01-01")  # fmt: skip
    other = {"names": ("m",), "birth_dates": ("1971",), "nationalities": ("RU",), "fields": {"a": "2"}}
    for f in fields(Record):
        value = other.get(
            f.name, getattr(base, f.name) + "2" if isinstance(getattr(base, f.name), str) else None
        )
        assert digest(replace(base, **{f.name: value})) != digest(base), f.name
