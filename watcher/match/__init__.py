"""Is this record about a person we watch? The matcher's public interface.

matcher = Matcher(people)
matcher.match_record(record) -> list[Match]      # the pipeline: one Match per watched person found
matcher.decide(person, name=..., text=..., birth_date=..., nationality=...) -> Decision
                                                  # `watcher match`: one explained judgement
"""

from __future__ import annotations

from watcher.match.matcher import Decision, Matcher

__all__ = ["Decision", "Matcher"]
