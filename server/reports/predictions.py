"""Single predictions against their outcomes: the history pages and the recent comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from analytics import decode_actions
from server.db import Connection
from server.domain import Bars, PredictionRow, TimeRange
from server.reports.outcomes import resolve
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened after a resolved prediction."""

    actual_return: float
    actual_action: str
    ideal_signal: int  # +1 / -1 / 0 for LONG / SHORT / HOLD


@dataclass(frozen=True, slots=True)
class GradedRow:
    """A prediction and its outcome (None while pending)."""

    row: PredictionRow
    outcome: Outcome | None

    @property
    def status(self) -> str:
        return "pending" if self.outcome is None else "resolved"

    @property
    def was_correct(self) -> bool | None:
        return None if self.outcome is None else self.row.action == self.outcome.actual_action

    @property
    def signal_error(self) -> float | None:
        """``action_raw`` minus the ideal signal; None while pending or without ``action_raw``."""
        if self.outcome is None or self.row.action_raw is None:
            return None
        return self.row.action_raw - self.outcome.ideal_signal


@dataclass(frozen=True, slots=True)
class PageSummary:
    """Counts and averages over one page."""

    count: int
    resolved: int
    correct: int
    accuracy: float
    avg_confidence: float
    avg_reward: float | None
    avg_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    model_id: str
    span: TimeRange
    page: int
    page_size: int
    total: int
    rows: list[GradedRow]
    summary: PageSummary

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size)


@dataclass(frozen=True, slots=True)
class RecentComparison:
    """The last ``limit`` predictions up to ``end`` against what happened."""

    model_id: str
    limit: int
    end: datetime
    rows: list[GradedRow]
    resolved: int
    correct: int
    accuracy: float
    mean_abs_signal_error: float | None


def history_page(
    conn: Connection,
    model_id: str,
    span: TimeRange,
    *,
    page: int,
    page_size: int,
    hold_band: float,
) -> HistoryPage:
    """Page ``page`` (from 1) of the model's predictions in ``span``, newest first, all read in
    one snapshot so that the count and the page agree."""
    offset = (page - 1) * page_size
    with predictions_repo.snapshot(conn):
        total = predictions_repo.count(conn, model_id, span.start, span.end)
        if not total:
            require_model(conn, model_id)
        rows = (
            predictions_repo.newest_first(
                conn, model_id, span.start, span.end, limit=page_size, offset=offset
            )
            if offset < total
            else []
        )
        graded = _grade(conn, rows, span.end, hold_band)
    return HistoryPage(model_id, span, page, page_size, total, graded, _page_summary(graded))


def recent_comparison(
    conn: Connection, model_id: str, end: datetime, *, limit: int, hold_band: float
) -> RecentComparison:
    """The model's last ``limit`` predictions at or before ``end``."""
    rows = predictions_repo.newest_first(conn, model_id, None, end, limit=limit)
    if not rows:
        require_model(conn, model_id)
    graded = _grade(conn, rows, end, hold_band)
    resolved = [g for g in graded if g.outcome is not None]
    correct = sum(bool(g.was_correct) for g in resolved)
    errors = [abs(e) for g in resolved if (e := g.signal_error) is not None]
    return RecentComparison(
        model_id=model_id,
        limit=limit,
        end=end,
        rows=graded,
        resolved=len(resolved),
        correct=correct,
        accuracy=correct / len(resolved) if resolved else 0.0,
        mean_abs_signal_error=float(np.mean(errors)) if errors else None,
    )


def _grade(
    conn: Connection, rows: list[PredictionRow], end: datetime, hold_band: float
) -> list[GradedRow]:
    """The outcome of each row as of ``end``."""
    times = np.array(
        [r.timestamp_utc.astimezone(UTC).replace(tzinfo=None) for r in rows],
        dtype="datetime64[us]",
    )
    symbols = np.array([r.symbol_hash for r in rows], dtype=np.int32)
    if rows:
        lo = min(r.timestamp_utc for r in rows) - timedelta(microseconds=1)
        hi = max(r.timestamp_utc for r in rows)
        bars = predictions_repo.bars_for(conn, sorted({r.symbol for r in rows}), lo, hi, end)
    else:
        bars = Bars.empty()
    actual_return, actual_action, pending = resolve(times, symbols, bars, end, hold_band)
    labels = decode_actions(actual_action)
    return [
        GradedRow(
            row,
            None
            if pending[i]
            else Outcome(float(actual_return[i]), str(labels[i]), int(actual_action[i])),
        )
        for i, row in enumerate(rows)
    ]


def _page_summary(graded: list[GradedRow]) -> PageSummary:
    resolved = [g for g in graded if g.outcome is not None]
    correct = sum(bool(g.was_correct) for g in resolved)
    rewards = [g.row.reward for g in graded if g.row.reward is not None]
    latencies = [g.row.latency_ms for g in graded if g.row.latency_ms is not None]
    confidences = [g.row.confidence for g in graded if g.row.confidence is not None]
    return PageSummary(
        count=len(graded),
        resolved=len(resolved),
        correct=correct,
        accuracy=correct / len(resolved) if resolved else 0.0,
        avg_confidence=float(np.mean(confidences)) if confidences else 0.0,
        avg_reward=float(np.mean(rewards)) if rewards else None,
        avg_latency_ms=float(np.mean(latencies)) if latencies else None,
    )
