"""Full-size synthetic sanctions lists: parse time, peak memory, and time to find a 1% change.

    .venv/bin/python bench/lists.py            # all lists
    .venv/bin/python bench/lists.py eu ofac    # some of them

Each list is built in a temporary directory by repeating the structure of the recorded samples
(shared/samples/un_sc, eu_fsf, ofac; the synthetic UK fixture) with varied names: 10,000 UN entries,
an EU file with 60,000 name aliases (~25 MB), 12,000 OFAC entries (XML, and the four-file CSV set),
5,000 UK designations. A second copy changes 1% of the entries. Each list is measured in a child
process so ru_maxrss is its own:
  parse      wall time of adapter.parse() on the full body (no tracing)
  peak       tracemalloc peak during a second parse (Python allocations, includes the body's copy)
  maxrss     the child's peak resident set size (interpreter + both bodies + both parsed lists)
  diff       time to find the changed keys between the two parsed lists the way the pipeline does:
             {key: record.content_hash()} for both, then new / removed / changed keys
Targets (issue 4): EU parses in < 15 s with peak < 400 MB; a 1% change is found in < 2 s.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sources.eu_fsf import EuFsf  # noqa: E402
from sources.ofac_sdn import CHAIN, OfacSdn  # noqa: E402
from sources.uk_sanctions import UkSanctions  # noqa: E402
from sources.un_consolidated import UnConsolidated  # noqa: E402
from watcher.adapter import SourceAdapter  # noqa: E402
from watcher.models import Fetched, Query, Record  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "samples"
UK_FIXTURE = ROOT / "tests" / "fixtures" / "uk_sanctions" / "uk_list_synthetic.xml"
SYLLABLES = ["ka", "ro", "mi", "sa", "le", "vo", "na", "ti", "bek", "dor", "zan", "gul", "pet", "ash", "yev"]


def _name(i: int) -> str:
    """A distinct, pronounceable two-word name for entry i."""
    parts = [SYLLABLES[(i // len(SYLLABLES) ** k) % len(SYLLABLES)] for k in range(4)]
    return f"{''.join(parts[:2]).capitalize()} {''.join(parts[2:]).upper()}OV{i}"


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


LISTS: dict[str, tuple[Callable[[int, set[int]], list[tuple[str, bytes]]], int, SourceAdapter]] = {  # type: ignore[type-arg]
    "un": (build_un, 10_000, UnConsolidated(UnConsolidated.Options())),
    "eu": (build_eu, 6_200, EuFsf(EuFsf.Options())),
    "ofac": (build_ofac_xml, 12_000, OfacSdn(OfacSdn.Options())),
    "ofac_csv": (build_ofac_csv, 12_000, OfacSdn(OfacSdn.Options(format="csv"))),
    "uk": (build_uk, 5_000, UkSanctions(UkSanctions.Options())),
}


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


def diff(old: list[Record], new: list[Record]) -> tuple[int, int, int]:
    """(new, removed, changed) keys, by key and content hash as the pipeline diffs."""
    before = {r.key: r.content_hash() for r in old}
    after = {r.key: r.content_hash() for r in new}
    changed = sum(1 for k, h in after.items() if k in before and before[k] != h)
    return len(after.keys() - before.keys()), len(before.keys() - after.keys()), changed


def measure(name: str, folder: Path) -> None:
    adapter = LISTS[name][2]
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
    started = time.perf_counter()
    added, removed, changed = diff(old, new)
    diff_s = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    aliases = sum(len(r.names) for r in old)
    print(
        f"{name:9} {size:6.1f} MB {len(old):6} records {aliases:6} names | parse {parse_s:5.2f} s "
        f"| peak {peak_mb:6.1f} MB | maxrss {rss_mb:6.1f} MB | diff {diff_s:5.2f} s "
        f"(new {added}, removed {removed}, changed {changed})",
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
