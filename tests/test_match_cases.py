"""Table-driven matcher rules: tests/data/match_cases.jsonl, one case a line in the dev-set format.

Each case names the rule it tests in `kind` (transliteration systems, token order, initials,
patronymics, hyphens, short forms, typos, mentions in EN/FR/DE/RU/UK/KK text with case endings) or the
hard negative it must reject (another surname one letter away, a namesake with another birth date, a
surname-only mention, someone else with the same surname).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.match import match_pairs

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "match_cases.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}:{c['id']}" for c in CASES])
def test_case(case: dict[str, object]) -> None:
    [result] = match_pairs([json.dumps(case, ensure_ascii=False)])
    assert result["match"] is case["match"], result["explanation"]
    score = result["score"]
    assert isinstance(score, float) and 0.0 <= score <= 1.0
