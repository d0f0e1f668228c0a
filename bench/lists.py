"""Full-size synthetic lists: parse time, peak memory, and the time the pipeline takes on a 1% change.

    .venv/bin/python bench/lists.py            # all lists
    .venv/bin/python bench/lists.py eu ofac    # some of them

Each list is built in a temporary directory by repeating the structure of the recorded samples
(shared/samples/un_sc, eu_fsf, ofac, opensanctions; the synthetic UK and Ukraine fixtures, as no
recording of those exists) with a realistic spread of names (bench/farm.py `diverse_name`): 10,000 UN
entries, an EU file with 62,000 name aliases (~36 MB: larger than the real 25 MB), 12,000 OFAC entries (XML, and the four-file CSV
set), 5,000 UK designations (XML, and the CSV of one row per name), 50,000 OpenSanctions FtM entities
(JSON lines) and 20,000 Ukrainian wanted persons (one JSON array, names in three scripts). A second copy
changes 1% of the entries. Each list is measured in a child process so ru_maxrss is its own:
  parse      wall time of one round's adapter.parse() calls on the full list (no tracing)
  peak       tracemalloc peak during a second parse (Python allocations, includes the body's copy)
  maxrss     the child's peak resident set size (interpreter + both bodies + both parsed lists)
  match      judging the new list as the round does (watcher.collect.Collector.judge): against a
             watchlist of 200 people (80 of them on the list, 40 of those on changed entries), only the
             records not the same as last round are matched
  diff       watcher.diff.diff_records of the stored (watched) records against the new list
Targets (issue 4): EU parses in < 15 s with peak < 400 MB; a 1% change is found (match + diff) in < 2 s.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.farm import diverse_name  # noqa: E402
from bench.match_speed import cyrillic  # noqa: E402
from sources.eu_fsf import EuFsf  # noqa: E402
from sources.ofac_sdn import CHAIN, OfacSdn  # noqa: E402
from sources.opensanctions import OpenSanctions  # noqa: E402
from sources.ua_wanted_persons import UaWantedPersons  # noqa: E402
from sources.uk_sanctions import UkSanctions  # noqa: E402
from sources.un_consolidated import UnConsolidated  # noqa: E402
from watcher.adapter import SourceAdapter  # noqa: E402
from watcher.collect import Collector, Page  # noqa: E402
from watcher.db.store import CacheEntry, RoundState  # noqa: E402
from watcher.diff import Stored, diff_records  # noqa: E402
from watcher.match import Matcher  # noqa: E402
from watcher.models import Fetched, ParseResult, Person, Query, Record, SourceRequest  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "samples"
FIXTURES = ROOT / "tests" / "fixtures"
UK_FIXTURE = FIXTURES / "uk_sanctions" / "uk_list_synthetic.xml"
UK_CSV_FIXTURE = FIXTURES / "uk_sanctions" / "uk_list_synthetic.csv"
UA_FIXTURES = FIXTURES / "ua_wanted_persons"


def _name(i: int) -> str:
    """Entry i's name: a realistic spread of given names and surnames (duplicates happen, as in life)."""
    return diverse_name(i)


def _block(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i) + len(end)]


# --- Builders: (number of entries, changed entry indexes) -> list of files (name, bytes) -----------


def build_un(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    sample = (SAMPLES / "un_sc" / "consolidated_trimmed_2026-02-27.xml").read_text()
    templates = re.findall(r"<INDIVIDUAL>.*?</INDIVIDUAL>|<ENTITY>.*?</ENTITY>", sample, re.S)
    people: list[str] = []
    entities: list[str] = []
    for i in range(n):
        body = templates[i % len(templates)]
        body = re.sub(r"<REFERENCE_NUMBER>[^<]*", f"<REFERENCE_NUMBER>XXx.{i}", body)
        body = re.sub(r"<DATAID>[^<]*", f"<DATAID>{9000000 + i}", body)
        body = re.sub(r"<FIRST_NAME>[^<]*", f"<FIRST_NAME>{_name(i)}", body)
        if i in changed:  # a committee updates the entry: one more LAST_DAY_UPDATED value
            body = body.replace(
                "</LIST_TYPE>", "</LIST_TYPE><LAST_DAY_UPDATED><VALUE>2026-03-02</VALUE></LAST_DAY_UPDATED>"
            )
        (entities if body.startswith("<ENTITY>") else people).append(body)
    head = sample[: sample.index("<INDIVIDUALS>")]
    lists = f"<INDIVIDUALS>{''.join(people)}</INDIVIDUALS><ENTITIES>{''.join(entities)}</ENTITIES>"
    return [("consolidated.xml", f"{head}{lists}</CONSOLIDATED_LIST>".encode())]


def build_eu(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    sample = (SAMPLES / "eu_fsf" / "xmlFullSanctionsList_1_1_excerpt_2018-12-21.xml").read_text()
    person = _block(
        sample,
        '<sanctionEntity designationDetails="" unitedNationId="" euReferenceNumber="EU.36.64"',
        "</sanctionEntity>",
    )
    enterprise = _block(
        sample,
        '<sanctionEntity designationDetails="" unitedNationId="" euReferenceNumber="EU.3523.13"',
        "</sanctionEntity>",
    )
    alias = _block(
        enterprise, '<nameAlias firstName="" middleName="" lastName="" wholeName="Great', "</nameAlias>"
    )
    out = []
    for i in range(n):
        template = enterprise if i % 3 == 2 else person
        body = template.replace('logicalId="1">', f'logicalId="{i + 1}">', 1).replace(
            'logicalId="207">', f'logicalId="{i + 1}">', 1
        )
        aliases = "".join(
            alias.replace("Great Islamic Eastern Warriors Front", f"{_name(i)} {k}") for k in range(3)
        )
        body = body.replace("</sanctionEntity>", aliases + "</sanctionEntity>")
        if i in changed:
            body = body.replace('numberTitle="2018/223 (OJ L43)"', 'numberTitle="2026/999 (OJ L1)"')
            body = body.replace('numberTitle="2018/468 (OJ L79)"', 'numberTitle="2026/999 (OJ L1)"')
        out.append(body)
    head = sample[: sample.index("<sanctionEntity")]
    return [("fsf.xml", (head + "\n".join(out) + "\n</export>\n").encode())]


def build_ofac_xml(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    sample = (SAMPLES / "ofac" / "sdn_xml_excerpt_2018-12-19.xml").read_text()
    entries = [
        _block(sample, "<sdnEntry>\n    <uid>36</uid>", "</sdnEntry>"),
        _block(sample, "<sdnEntry>\n    <uid>26235</uid>", "</sdnEntry>"),
    ]
    out = []
    for i in range(n):
        body = re.sub(r"<uid>(36|26235)</uid>", f"<uid>{i + 1}</uid>", entries[i % 2], count=1)
        body = re.sub(r"<lastName>[^<]*", f"<lastName>{_name(i)}", body, count=1)
        if i in changed:
            body = body.replace("</programList>", "<program>RUSSIA-EO14024</program></programList>")
        out.append(body)
    head = sample[: sample.index("<sdnEntry>")]
    return [("sdn.xml", (head + "\n".join(out) + "\n</sdnList>\n").encode())]


def build_ofac_csv(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    rows = {f: (SAMPLES / "ofac" / f).read_text().splitlines() for f in CHAIN}
    sdn_rows = rows["sdn.csv"]
    by_ent = {f: {} for f in CHAIN[1:]}  # type: dict[str, dict[str, list[str]]]
    for f in CHAIN[1:]:
        for line in rows[f]:
            by_ent[f].setdefault(line.split(",", 1)[0], []).append(line)
    files: dict[str, list[str]] = {f: [] for f in CHAIN}
    for i in range(n):
        template = sdn_rows[i % len(sdn_rows)]
        old, ent = template.split(",", 1)[0], str(100000 + i)
        cells = next(csv.reader([template]))
        cells[0], cells[1] = ent, _name(i)
        if i in changed:
            cells[3] += "] [BENCH-EO1"
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(cells)
        files["sdn.csv"].append(out.getvalue())
        for f in CHAIN[1:]:
            files[f] += [ent + "," + line.split(",", 1)[1] for line in by_ent[f].get(old, [])]
    return [(f, ("\n".join(lines) + "\n").encode()) for f, lines in files.items()]


def build_uk(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    sample = UK_FIXTURE.read_text()
    templates = [_block(sample, "<Designation>\n    <LastUpdated>04/05/2026", "</Designation>"),
                 _block(sample, "<Designation>\n    <LastUpdated>01/02/2026", "</Designation>")]  # fmt: skip
    out = []
    for i in range(n):
        body = re.sub(r"<UniqueID>[^<]*", f"<UniqueID>RUS{i:05d}", templates[i % 2])
        body = re.sub(r"<Name6>[^<]*", f"<Name6>{_name(i)}", body, count=1)
        if i in changed:
            body = body.replace("<SanctionsImposed>", "<SanctionsImposed>Trust services|")
        out.append(body)
    head = sample[: sample.index("<Designation>")]
    return [("uk.xml", (head + "\n".join(out) + "\n</Designations>\n").encode())]


def build_uk_csv(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    """The UK CSV: a `Last Updated` line, the header, one row per name (the synthetic fixture's groups)."""
    meta, header, *rows = UK_CSV_FIXTURE.read_text().splitlines()
    columns = next(csv.reader([header]))
    col = {c: columns.index(c) for c in ("Unique ID", "Name 1", "Name 6", "Name non-latin script")}
    groups: dict[str, list[list[str]]] = {}
    for row in csv.reader(rows):
        groups.setdefault(row[0], []).append(row)
    templates = list(groups.values())  # an individual with three names, an entity with two
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for i in range(n):
        given, family = _name(i).split(" ", 1)
        for number, template in enumerate(templates[i % 2]):
            row = list(template)
            row[col["Unique ID"]] = f"{'RUS' if i % 2 == 0 else 'AFG'}{i:05d}"
            row[col["Name 1"]], row[col["Name 6"]] = (given, family.upper()) if i % 2 == 0 else ("", _name(i))
            if number == 0 and row[col["Name non-latin script"]]:
                row[col["Name non-latin script"]] = cyrillic(_name(i))
            if i in changed:
                row[columns.index("Sanctions Imposed")] = (
                    "Trust services|" + row[columns.index("Sanctions Imposed")]
                )
            writer.writerow(row)
    return [("uk.csv", f"{meta}\n{header}\n{out.getvalue()}".encode())]


def build_opensanctions(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    """The recorded delta index, then the FtM export: the sample's two persons and one organisation as
    templates, each with its own id and names (Latin and Cyrillic)."""
    index = (SAMPLES / "opensanctions" / "delta_index.json").read_bytes()
    templates = [json.loads(line) for line in (SAMPLES / "opensanctions" / "entities.ftm.json").open()]
    lines = []
    for i in range(n):
        entity = json.loads(json.dumps(templates[i % len(templates)]))
        name = _name(i) if entity["schema"] == "Person" else f"{_name(i)} Trading LLC"
        entity["id"], entity["caption"] = f"NK-bench{i:07d}", name
        props = entity["properties"]
        props["name"] = [name, cyrillic(name)]
        props.pop("firstName", None), props.pop("lastName", None)
        if i in changed:  # a new topic: the entity is now also a politically exposed person
            props["topics"] = [*props.get("topics", []), "role.pep"]
        lines.append(json.dumps(entity, ensure_ascii=False))
    return [("delta.json", index), ("entities.ftm.json", ("\n".join(lines) + "\n").encode())]


def build_ua(n: int, changed: set[int]) -> list[tuple[str, bytes]]:
    """The CKAN chain (package_show, resource_show) and one JSON array, from the synthetic fixtures."""
    chain = [
        (f, (UA_FIXTURES / f"{f.split('.')[0]}_synthetic.json").read_bytes())
        for f in ("package_show.json", "resource_show.json")
    ]
    templates = json.loads((UA_FIXTURES / "wanted_list_synthetic.json").read_text())
    rows = []
    for i in range(n):
        row = dict(templates[i % len(templates)])
        given, family = _name(i).split(" ", 1)
        row["ID"] = 9_100_000_000_000_000 + i
        row["LAST_NAME_E"], row["FIRST_NAME_E"], row["MIDDLE_NAME_E"] = family.upper(), given.upper(), ""
        father = _name(i + 7_000_000).split(" ", 1)[0]  # patronymics as varied as given names
        row["LAST_NAME_U"], row["FIRST_NAME_U"] = cyrillic(family).upper(), cyrillic(given).upper()
        row["MIDDLE_NAME_U"] = cyrillic(father + "ovych").upper()
        row["LAST_NAME_R"], row["FIRST_NAME_R"] = row["LAST_NAME_U"], row["FIRST_NAME_U"]
        row["MIDDLE_NAME_R"] = cyrillic(father + "ovich").upper()
        if i in changed:
            row["RESTRAINT"] = "ЗАСТАВА"
        rows.append(row)
    return [*chain, ("wanted.json", json.dumps(rows, ensure_ascii=False).encode())]


LISTS: dict[str, tuple[Callable[[int, set[int]], list[tuple[str, bytes]]], int, SourceAdapter]] = {  # type: ignore[type-arg]
    "un": (build_un, 10_000, UnConsolidated(UnConsolidated.Options())),
    "eu": (build_eu, 6_200, EuFsf(EuFsf.Options())),
    "ofac": (build_ofac_xml, 12_000, OfacSdn(OfacSdn.Options())),
    "ofac_csv": (build_ofac_csv, 12_000, OfacSdn(OfacSdn.Options(format="csv"))),
    "uk": (build_uk, 5_000, UkSanctions(UkSanctions.Options())),
    "uk_csv": (build_uk_csv, 5_000, UkSanctions(UkSanctions.Options(format="csv"))),
    "opensanctions": (build_opensanctions, 50_000, OpenSanctions(OpenSanctions.Options())),
    "ua": (build_ua, 20_000, UaWantedPersons(UaWantedPersons.Options())),
}
WATCHED_ON_LIST, WATCHED_ELSEWHERE = 40, 120  # x2 on the list: one on a changed entry, one beside it


# --- Measuring (in a child process per list) ------------------------------------------------------


def parse_files(adapter_proto: SourceAdapter, files: list[Path]) -> list[Record]:  # type: ignore[type-arg]
    """One round: a fresh adapter, its requests, follow requests in order (the CSV chain), files by order."""
    adapter = type(adapter_proto)(adapter_proto.options)
    bodies = iter(files)
    pending, records = adapter.requests(Query(people=())), []
    while pending:
        request = pending.pop(0)
        body = next(bodies).read_bytes()
        fetched = Fetched(
            request, request.url, 200, {}, body, hashlib.sha256(body).hexdigest(), datetime.now(UTC)
        )
        result = adapter.parse(fetched)
        records += result.records
        pending += result.follow
    return records


def watchlist(n: int) -> list[Person]:
    """200 watched people: 40 named as changed entries (every 100th is changed), 40 as the unchanged
    entries beside them, 120 not on the list at all (names of entries the list does not have)."""
    changed = [k * (n // WATCHED_ON_LIST) // 100 * 100 for k in range(WATCHED_ON_LIST)]
    on_list = [i for c in changed for i in (c, c + 7)]
    elsewhere = [n + 1000 + k for k in range(WATCHED_ELSEWHERE)]
    return [Person(id=f"w{i}", name=_name(i)) for i in on_list + elsewhere]


def match_and_diff(people: list[Person], old: list[Record], new: list[Record]) -> tuple[float, float, str]:
    """What the round does after parsing the new list (watcher.collect.Collector.judge, then
    watcher.diff): records the same as last round keep last round's decision (stored ones by their
    content hash, the others by the digests the last round kept), the rest are matched; then the diff
    against the stored records (those about watched people). Seconds, and what was found."""
    matcher = Matcher(people)  # built once per process in the service, not per round: not timed
    stored = {
        r.key: Stored(r, r.content_hash(), frozenset(m.person_id for m in found))
        for r in old
        if (found := matcher.match_record(r))
    }
    last = _page(old)
    kept = Collector(None, matcher, None, None, None, _state(stored, {}), reparse=False)  # type: ignore[arg-type]
    meta = kept.meta(last, {r.key for r in old if r.key not in stored})
    collector = Collector(None, matcher, None, None, None, _state(stored, meta), reparse=False)  # type: ignore[arg-type]
    judge, judged = matcher.match_record, []
    matcher.match_record = lambda r: judged.append(r.key) or judge(r)  # type: ignore[method-assign]
    started = time.perf_counter()
    page = _page(new)
    collector.judge(page, remembered=False)
    current = {r.key: (r, collector.decision(r)) for r in new}
    match_s = time.perf_counter() - started
    started = time.perf_counter()
    transitions = diff_records(stored, current, complete=True)
    diff_s = time.perf_counter() - started
    events = Counter(t.change.event for t in transitions)
    found = ", ".join(f"{k} {v}" for k, v in sorted(events.items())) or "none"
    return match_s, diff_s, f"stored {len(stored)}; {found}; {len(judged)} records judged again"


def _page(records: list[Record]) -> Page:
    body = b"(the list)"
    fetched = Fetched(
        SourceRequest("list"), "list", 200, {}, body, hashlib.sha256(body).hexdigest(), datetime.now(UTC)
    )
    return Page("list", fetched, None, ParseResult(records=records))


def _state(stored: dict[str, Stored], meta: dict[str, object]) -> RoundState:
    cache = {"list": CacheEntry(None, None, "", 0, "1", meta)} if meta else {}
    return RoundState(None, None, None, None, cache, stored)


def measure(name: str, folder: Path) -> None:
    adapter, n = LISTS[name][2], LISTS[name][1]
    first, second = sorted((folder / "a").iterdir()), sorted((folder / "b").iterdir())
    size = sum(p.stat().st_size for p in first) / 1e6
    started = time.perf_counter()
    old = parse_files(adapter, first)
    parse_s = time.perf_counter() - started
    tracemalloc.start()
    parse_files(adapter, first)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    new = parse_files(adapter, second)
    match_s, diff_s, found = match_and_diff(watchlist(n), old, new)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    aliases = sum(len(r.names) for r in old)
    print(
        f"{name:13} {size:6.1f} MB {len(old):6} records {aliases:6} names | parse {parse_s:5.2f} s "
        f"| peak {peak_mb:6.1f} MB | maxrss {rss_mb:6.1f} MB | match {match_s:5.2f} s + diff {diff_s:5.3f} s "
        f"({found})",
        flush=True,
    )


def build(name: str, folder: Path) -> None:
    """Write list `name` (folder/a) and its copy with 1% of entries changed (folder/b)."""
    builder, n, _ = LISTS[name]
    for sub, marks in (("a", set()), ("b", set(range(0, n, 100)))):
        (folder / sub).mkdir(parents=True)
        for number, (file, body) in enumerate(builder(n, marks)):  # prefixed in request order
            (folder / sub / f"{number}-{file}").write_bytes(body)


def main(names: list[str]) -> None:
    # Building and measuring run in separate children of this small process: a child's ru_maxrss
    # starts from its parent's resident size at fork, so the parent must never hold a list.
    with tempfile.TemporaryDirectory(prefix="watcher-bench-") as tmp:
        for name in names or list(LISTS):
            folder = str(Path(tmp) / name)
            subprocess.run([sys.executable, __file__, "--build", name, folder], check=True)
            subprocess.run([sys.executable, __file__, "--measure", name, folder], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build(sys.argv[2], Path(sys.argv[3]))
    elif sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], Path(sys.argv[3]))
    else:
        main(sys.argv[1:])
