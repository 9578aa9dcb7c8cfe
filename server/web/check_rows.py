"""A report's check rows (``Grade.checks``) in the page's words: check, outcome, effect, why.

The station's grading wrote one row per check kind with the effect its policy
gave the outcome; the page only puts words on them (the labels here, the
reason from the station's catalogue), so no raw code reaches a coordinator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.web.reason_words import reason_text
from server.web.vocabulary import label

#: effects whose row is marked as a problem on the page
PROBLEM_EFFECTS = frozenset({"block", "repair"})


def check_rows(grade: object) -> list[dict[str, Any]]:
    """The rows of a report's grade (JSON), in order; none for older reports."""
    rows = grade.get("checks") if isinstance(grade, Mapping) else None
    if not isinstance(rows, list):
        return []
    shown: list[dict[str, Any]] = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        effect = str(row.get("effect") or "")
        reason = row.get("reason")
        shown.append(
            {
                "check": label("test", row.get("kind")),
                "outcome": label("check_outcome", row.get("outcome")),
                "effect": label("check_effect", effect),
                "problem": effect in PROBLEM_EFFECTS,
                "note": effect == "note",
                "why": reason_text(reason) if isinstance(reason, Mapping) else "",
            }
        )
    return shown
