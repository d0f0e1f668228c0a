"""Precision, recall and F1 of the matcher on labelled pairs, overall and per kind.

Usage: python bench/match_quality.py ../shared/names/dev.jsonl [--errors KIND ...] [--show N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher.match import match_pairs


def scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--errors", nargs="*", default=None, help="print wrong decisions (of these kinds)")
    parser.add_argument("--show", type=int, default=20, help="how many wrong decisions per kind")
    args = parser.parse_args()
    lines = args.file.read_text(encoding="utf-8").splitlines()
    pairs = {p["id"]: p for p in map(json.loads, filter(str.strip, lines))}
    start = time.perf_counter()
    results = list(match_pairs(lines))
    elapsed = time.perf_counter() - start
    counts: dict[str, Counter[str]] = {}
    wrong: dict[str, list[tuple[dict[str, object], dict[str, object]]]] = {}
    for res in results:
        pair = pairs[res["id"]]
        kind = str(pair.get("kind", "all"))
        said, truth = bool(res.get("match")), bool(pair["match"])
        outcome = ("tp" if said else "fn") if truth else ("fp" if said else "tn")
        for key in ("ALL", kind):
            counts.setdefault(key, Counter())[outcome] += 1
        if said != truth:
            wrong.setdefault(kind, []).append((pair, res))
    print(f"{'kind':34s} {'n':>5s} {'prec':>6s} {'recall':>6s} {'F1':>6s}   tp   fp   fn   tn")
    for kind in ["ALL", *sorted(k for k in counts if k != "ALL")]:
        c = counts[kind]
        p, r, f = scores(c["tp"], c["fp"], c["fn"])
        n = sum(c.values())
        print(
            f"{kind:34s} {n:5d} {p:6.3f} {r:6.3f} {f:6.3f} {c['tp']:4d} {c['fp']:4d} {c['fn']:4d} {c['tn']:4d}"
        )
    print(f"\n{len(results)} pairs in {elapsed:.2f} s ({len(results) / elapsed:,.0f} pairs/s)")
    if args.errors is not None:
        for kind, items in sorted(wrong.items()):
            if args.errors and kind not in args.errors:
                continue
            for pair, res in items[: args.show]:
                q, c = pair["query"], pair["candidate"]
                cand = c.get("name") or c.get("text")
                print(f"\n[{kind}] {pair['id']} expected {pair['match']}")
                print(f"  query: {q['name']} {q.get('aliases')} {q.get('birth_date')} {q.get('nationality')}")
                print(f"  candidate: {cand} {c.get('birth_date')}")
                print(f"  -> {res.get('explanation') or res.get('error')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
