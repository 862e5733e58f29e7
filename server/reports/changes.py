"""What the watch streams compare: the change rules (docs/DEFINITIONS.md#watch-streams).

A stream sends a new snapshot when the *signature* of an evaluation differs from the last one's.
A signature holds what a client acts on and nothing that moves by itself between two evaluations
(scores, counts, minutes): tuples of strings, sorted where order means nothing, so that its
``repr`` (and the revision digested from it) is the same in every process.
"""

from __future__ import annotations

import re
from collections.abc import Hashable

from server.reports.drift import DriftReport
from server.reports.health import HealthList

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def issue_rule(issue: str) -> str:
    """An issue without its measured numbers: which rule fired, not by how much.

    >>> issue_rule("silent for 185 min (over 60 min)")
    'silent for # min (over # min)'
    """
    return _NUMBER.sub("#", issue)


def health_signature(health: HealthList) -> Hashable:
    """Every model's status and the rules behind its issues, and whether the market is open."""
    models = tuple(
        sorted(
            (m.model_id, m.assessment.status, tuple(issue_rule(i) for i in m.assessment.issues))
            for m in health.models
        )
    )
    return models, health.market.open


def drift_signature(report: DriftReport) -> Hashable:
    """The drift status and the set of drifted features."""
    return report.verdict.status, tuple(sorted(report.data.features_drifted))
