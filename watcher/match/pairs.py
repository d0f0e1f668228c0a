"""`watcher match --pairs FILE.jsonl`: judge labelled or unlabelled pairs, one JSON object a line.

Input line: {"id", "query": {"name", "aliases"?, "birth_date"?, "nationality"? | "nationalities"?},
"candidate": {"name" | "text", "birth_date"?, "nationality"?}} (other keys, such as "match" and "kind",
are ignored). Output line: {"id", "match", "score", "explanation"}; a line that cannot be read gives
{"id", "error"} instead of stopping the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from watcher.match.matcher import Matcher
from watcher.models import Person


def match_pairs(lines: Iterable[str]) -> Iterator[dict[str, object]]:
    """One decision per non-empty input line, in order."""
    matcher = Matcher([])
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        pair_id: object = f"line-{number}"
        try:
            pair = json.loads(line)
            pair_id = pair.get("id", pair_id)
            person = _person(pair["query"])
            cand: dict[str, Any] = pair["candidate"]
            d = matcher.decide(
                person,
                name=cand.get("name") or None,
                text=cand.get("text") or None,
                birth_date=cand.get("birth_date") or None,
                nationality=cand.get("nationality") or None,
            )
        except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
            yield {"id": pair_id, "error": f"line {number}: {exc}"}
            continue
        yield {"id": pair_id, "match": d.match, "score": d.score, "explanation": d.explanation}


def _person(query: dict[str, Any]) -> Person:
    nationalities = query.get("nationalities") or ([query["nationality"]] if query.get("nationality") else [])
    return Person(
        id="query",
        name=query["name"],
        aliases=tuple(a for a in query.get("aliases") or () if a),
        birth_date=query.get("birth_date") or None,
        nationalities=tuple(nationalities),
    )
