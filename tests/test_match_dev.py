"""The acceptance thresholds of issue 3 on the shared development set (tests/data/names_dev.jsonl, a copy
of ../shared/names/dev.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from watcher.match import match_pairs

DEV = Path(__file__).parent / "data" / "names_dev.jsonl"  # a copy of shared/names/dev.jsonl


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Counter[str]]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    pairs = {p["id"]: p for p in map(json.loads, filter(str.strip, lines))}
    counts: dict[str, Counter[str]] = {"ALL": Counter()}
    for res in match_pairs(lines):
        pair = pairs[str(res["id"])]
        truth, said = bool(pair["match"]), bool(res["match"])
        outcome = ("tp" if said else "fn") if truth else ("fp" if said else "tn")
        counts["ALL"][outcome] += 1
        counts.setdefault(pair["kind"], Counter())[outcome] += 1
    return counts


def test_precision_and_recall_overall(outcomes: dict[str, Counter[str]]) -> None:
    c = outcomes["ALL"]
    precision = c["tp"] / (c["tp"] + c["fp"])
    recall = c["tp"] / (c["tp"] + c["fn"])
    assert precision >= 0.99, f"precision {precision:.3f}"
    assert recall >= 0.97, f"recall {recall:.3f}"


def test_recall_per_positive_kind(outcomes: dict[str, Counter[str]]) -> None:
    low = {
        kind: round(c["tp"] / (c["tp"] + c["fn"]), 3)
        for kind, c in outcomes.items()
        if kind != "ALL" and c["tp"] + c["fn"] and c["tp"] / (c["tp"] + c["fn"]) < 0.9
    }
    assert not low, f"kinds under 0.9 recall: {low}"
