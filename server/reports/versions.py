"""Model versions: the timeline of one model, and the rollback verdict of a version against the
one it replaced (docs/DEFINITIONS.md#model-versions-and-the-rollback-verdict)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

import numpy as np

from analytics import MarketCalendar, VersionComparison, compare_versions, safe_ratio, sharpe_ratio
from analytics.ab import BarRewards, bar_rewards
from analytics.versions import VERSION_MIN_BARS, VERSION_SIGNIFICANCE_LEVEL
from server.db import Connection
from server.domain import VersionRewards, VersionSummary
from server.errors import FieldViolation, InvalidArgument, VersionNotFound
from server.repositories import versions as versions_repo
from server.repositories.models import require_model

_BEFORE = timedelta(microseconds=1)  # PostgreSQL's resolution: "before t" is "at or before t - 1us"
_NO_BARS = BarRewards(np.zeros(0, dtype="datetime64[us]"), np.zeros(0, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One version of the timeline."""

    summary: VersionSummary
    win_rate: float
    sharpe_ratio: float


@dataclass(frozen=True, slots=True)
class VersionTimeline:
    """Every version of one model with a row at or before ``end``, first seen first."""

    model_id: str
    end: datetime
    current_version: str
    versions: list[VersionEntry]


@dataclass(frozen=True, slots=True)
class VersionVerdict:
    """A candidate version against its baseline (None: the model has no other version)."""

    model_id: str
    end: datetime
    baseline_days: int
    candidate: str
    candidate_first_seen: datetime | None
    baseline: str | None
    baseline_first_seen: datetime | None
    baseline_start: datetime | None  # of the baseline's bars before the candidate (welch)
    comparison: VersionComparison
    min_bars: int = VERSION_MIN_BARS
    significance_level: float = VERSION_SIGNIFICANCE_LEVEL


def version_timeline(conn: Connection, model_id: str, end: datetime) -> VersionTimeline:
    """The versions of ``model_id`` at or before ``end``; ModelNotFound for an unknown model."""
    summaries = versions_repo.version_summaries(conn, [model_id], end)
    if not summaries:
        require_model(conn, model_id)
    entries = [
        VersionEntry(
            summary=s,
            win_rate=float(safe_ratio(s.wins, s.trades)),
            sharpe_ratio=sharpe_ratio(s.avg_reward, s.std_reward, s.rewarded),
        )
        for s in summaries
    ]
    current = summaries[0].current_version if summaries else ""
    return VersionTimeline(model_id, end, current, entries)


@dataclass(frozen=True, slots=True)
class _Pair:
    """Which versions to compare, and the spans of their rows to read."""

    model_id: str
    candidate: str
    candidate_first_seen: datetime | None
    baseline: str | None
    baseline_first_seen: datetime | None
    baseline_start: datetime | None


def compare_model_versions(
    conn: Connection,
    model_id: str,
    *,
    baseline: str,
    candidate: str,
    baseline_days: int,
    end: datetime,
    calendar: MarketCalendar,
) -> VersionVerdict:
    """``candidate`` (default: the current version) against ``baseline`` (default: the version
    first seen last before the candidate) at ``end``.

    ModelNotFound for an unknown model, VersionNotFound for a version without a row at or
    before ``end``, InvalidArgument when both name the same version.
    """
    summaries = versions_repo.version_summaries(conn, [model_id], end)
    if not summaries:
        require_model(conn, model_id)
    first_seen = {s.version: s.first_seen for s in summaries}
    for field, version in (("candidate", candidate), ("baseline", baseline)):
        if version and version not in first_seen:
            raise VersionNotFound(model_id, version, field)
    pair = _pair(
        model_id,
        summaries,
        baseline=baseline,
        candidate=candidate,
        baseline_days=baseline_days,
        calendar=calendar,
    )
    if pair.baseline is not None and pair.baseline == pair.candidate:
        raise InvalidArgument(
            [FieldViolation("baseline", f"must differ from candidate (both are {pair.baseline!r})")]
        )
    [verdict] = _verdicts(conn, [pair], baseline_days, end)
    return verdict


def rollback_verdicts(
    conn: Connection,
    model_ids: Sequence[str],
    *,
    end: datetime,
    baseline_days: int,
    calendar: MarketCalendar,
    since: datetime,
) -> dict[str, VersionVerdict]:
    """The default verdict (current version against the one before it) of every model in
    ``model_ids`` whose current version was first seen after ``since``; two queries in all.

    Only rows after ``since`` less ``baseline_days`` trading days are read: the timeline is
    cut there, which leaves the verdict of a version deployed after ``since`` exact.
    """
    horizon = calendar.trading_window_start(since, timedelta(days=baseline_days))
    summaries = versions_repo.version_summaries(conn, model_ids, end, since=horizon)
    pairs = []
    for model_id, rows in groupby(summaries, key=lambda s: s.model_id):
        model_rows = list(rows)
        pair = _pair(
            model_id,
            model_rows,
            baseline="",
            candidate="",
            baseline_days=baseline_days,
            calendar=calendar,
        )
        first = pair.candidate_first_seen
        if pair.baseline is not None and first is not None and first > since:
            pairs.append(pair)
    return {v.model_id: v for v in _verdicts(conn, pairs, baseline_days, end)}


def _pair(
    model_id: str,
    summaries: list[VersionSummary],
    *,
    baseline: str,
    candidate: str,
    baseline_days: int,
    calendar: MarketCalendar,
) -> _Pair:
    first_seen = {s.version: s.first_seen for s in summaries}
    candidate = candidate or (summaries[0].current_version if summaries else "")
    candidate_first = first_seen.get(candidate)
    if not baseline and candidate_first is not None:
        earlier = [s for s in summaries if s.first_seen < candidate_first]
        if earlier:  # first seen last before the candidate (ties: the later version name)
            baseline = max(earlier, key=lambda s: (s.first_seen, s.version)).version
    if not baseline or candidate_first is None:
        return _Pair(model_id, candidate, candidate_first, None, None, None)
    start = calendar.trading_window_start(candidate_first, timedelta(days=baseline_days))
    return _Pair(model_id, candidate, candidate_first, baseline, first_seen[baseline], start)


def _verdicts(
    conn: Connection, pairs: list[_Pair], baseline_days: int, end: datetime
) -> list[VersionVerdict]:
    """Each pair's comparison, the rewards of all of them read in one query."""
    spans: list[tuple[str, str, datetime, datetime]] = []
    for p in pairs:
        if p.candidate_first_seen is None:
            continue
        since = p.candidate_first_seen - _BEFORE
        spans.append((p.model_id, p.candidate, since, end))
        if p.baseline is not None and p.baseline_start is not None:
            spans.append((p.model_id, p.baseline, since, end))  # side by side
            spans.append((p.model_id, p.baseline, p.baseline_start, since))  # before
    rewards = iter(versions_repo.version_rewards(conn, spans))
    verdicts = []
    for p in pairs:
        if p.candidate_first_seen is None:  # no row at or before end
            comparison = compare_versions(_NO_BARS, None, None)
        else:
            candidate = _bars(next(rewards))
            if p.baseline is None:
                comparison = compare_versions(candidate, None, None)
            else:
                alongside = _bars(next(rewards))
                before = _bars(next(rewards))
                comparison = compare_versions(candidate, alongside, before)
        verdicts.append(
            VersionVerdict(
                model_id=p.model_id,
                end=end,
                baseline_days=baseline_days,
                candidate=p.candidate,
                candidate_first_seen=p.candidate_first_seen,
                baseline=p.baseline,
                baseline_first_seen=p.baseline_first_seen,
                baseline_start=p.baseline_start,
                comparison=comparison,
            )
        )
    return verdicts


def _bars(rewards: VersionRewards) -> BarRewards:
    return bar_rewards(rewards.time, rewards.reward)
