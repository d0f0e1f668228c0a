"""Is this record about a person we watch? The matcher's public interface.

matcher = Matcher(people)
matcher.match_record(record) -> list[Match]      # the pipeline: one Match per watched person found
matcher.decide(person, name=..., text=..., birth_date=..., nationality=...) -> Decision
                                                  # `watcher match`: one explained judgement
match_pairs(lines) -> Iterator[dict]             # `watcher match --pairs FILE.jsonl`

Modules, in the order a name travels: translit (scripts to Latin readings), chinese (pinyin and
Wade-Giles), keys (spelling keys, skeletons, blocks), cognates (name equivalents), normalize (tokens),
compare (word against word), align (name against name), text (mentions in running text), qualifiers
(dates, nationalities, case numbers), index (blocking), matcher (the decision), pairs (the JSONL contract).
"""

from __future__ import annotations

from watcher.match.matcher import VERSION, Decision, Matcher
from watcher.match.pairs import match_pairs

__all__ = ["VERSION", "Decision", "Matcher", "match_pairs"]
