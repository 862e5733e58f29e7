"""PredictionService: accuracy, history and comparison of one model's predictions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
from psycopg_pool import ConnectionPool

from analytics import decode_actions
from mlanalytics.v1 import prediction_service_pb2 as pb
from mlanalytics.v1 import prediction_service_pb2_grpc
from server.builders import accuracy_report
from server.config import Settings
from server.convert import envelope, timestamp
from server.db import Connection, connection
from server.evaluation import resolve
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model
from server.repositories.predictions import Bars, PredictionRow
from server.servicers.windows import analyze_model
from server.validation import Params, model_window

HISTORY_DEFAULT_SPAN = timedelta(days=7)
MAX_PAGE_SIZE = 1000


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predictions against their actual next-bar outcomes."""

    def __init__(self, pool: ConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._hold_band = settings.hold_band

    def GetPredictionAccuracy(
        self, request: pb.GetPredictionAccuracyRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionAccuracyResponse:
        model_id, window = model_window(request.model_id, request.window, request.end_time)
        with connection(self._pool) as conn:
            model = analyze_model(conn, model_id, window, self._hold_band)
        return envelope(
            pb.GetPredictionAccuracyResponse,
            accuracy_report(model_id, window, model.analysis, self._hold_band),
        )

    def GetPredictionHistory(
        self, request: pb.GetPredictionHistoryRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionHistoryResponse:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        start = params.time("start_time", request.start_time, end - HISTORY_DEFAULT_SPAN)
        page = params.integer(request, "page", 1, 1, 2**31 - 1)
        page_size = params.integer(request, "page_size", 100, 1, MAX_PAGE_SIZE)
        if start > end:
            params.reject("start_time", "must not be after end_time")
        params.check()
        offset = (page - 1) * page_size
        with connection(self._pool) as conn, predictions_repo.snapshot(conn):
            total = predictions_repo.count(conn, model_id, start, end)
            if not total:
                require_model(conn, model_id)
            rows = (
                predictions_repo.newest_first(
                    conn, model_id, start, end, limit=page_size, offset=offset
                )
                if offset < total
                else []
            )
            outcomes = _Outcomes(conn, rows, end, self._hold_band)
        records = [outcomes.record(i, row) for i, row in enumerate(rows)]
        return envelope(
            pb.GetPredictionHistoryResponse,
            pb.PredictionHistory(
                model_id=model_id,
                start_time=timestamp(start),
                end_time=timestamp(end),
                page=page,
                page_size=page_size,
                total=total,
                total_pages=math.ceil(total / page_size),
                predictions=records,
                page_summary=_page_summary(records),
            ),
        )

    def GetPredictionComparison(
        self, request: pb.GetPredictionComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionComparisonResponse:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        limit = params.integer(request, "limit", 100, 1, MAX_PAGE_SIZE)
        params.check()
        with connection(self._pool) as conn:
            rows = predictions_repo.newest_first(conn, model_id, None, end, limit=limit)
            if not rows:
                require_model(conn, model_id)
            outcomes = _Outcomes(conn, rows, end, self._hold_band)
        entries = [outcomes.comparison(i, row) for i, row in enumerate(rows)]
        resolved = [e for e in entries if e.status == "resolved"]
        correct = sum(e.was_correct for e in resolved)
        errors = [abs(e.signal_error) for e in resolved]
        return envelope(
            pb.GetPredictionComparisonResponse,
            pb.PredictionComparison(
                model_id=model_id,
                limit=limit,
                end_time=timestamp(end),
                count=len(entries),
                resolved=len(resolved),
                correct=correct,
                accuracy=correct / len(resolved) if resolved else 0.0,
                mean_abs_signal_error=float(np.mean(errors)) if errors else None,
                comparisons=entries,
            ),
        )


class _Outcomes:
    """The actual outcome of each row of a page, as of ``end``."""

    def __init__(
        self, conn: Connection, rows: list[PredictionRow], end: datetime, hold_band: float
    ) -> None:
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
            bars = Bars(np.empty(0, np.int32), np.empty(0, "datetime64[us]"), np.empty(0))
        self.actual_return, actual_action, self.pending = resolve(
            times, symbols, bars, end, hold_band
        )
        self.ideal_signal = actual_action.astype(int)
        self.actual_action = decode_actions(actual_action)

    def actual(self, i: int) -> tuple[float, str] | None:
        """(actual return, actual action) of row ``i``; None while pending."""
        if self.pending[i]:
            return None
        return float(self.actual_return[i]), str(self.actual_action[i])

    def record(self, i: int, row: PredictionRow) -> pb.PredictionRecord:
        actual = self.actual(i)
        return pb.PredictionRecord(
            inference_id=row.inference_id,
            timestamp=timestamp(row.timestamp_utc),
            model_version=row.model_version,
            fold_id=row.fold_id,
            symbol=row.symbol,
            action=row.action,
            action_raw=row.action_raw,
            confidence=row.confidence,
            close_price=row.close_price,
            position_before=row.position_before,
            position_after=row.position_after,
            reward=row.reward,
            latency_ms=row.latency_ms,
            status="pending" if actual is None else "resolved",
            actual_return=None if actual is None else actual[0],
            actual_action=None if actual is None else actual[1],
            was_correct=None if actual is None else row.action == actual[1],
            was_profitable=None if row.reward is None else row.reward > 0,
        )

    def comparison(self, i: int, row: PredictionRow) -> pb.ComparisonEntry:
        actual = self.actual(i)
        ideal = None if actual is None else int(self.ideal_signal[i])
        return pb.ComparisonEntry(
            inference_id=row.inference_id,
            timestamp=timestamp(row.timestamp_utc),
            predicted_action=row.action,
            actual_action=None if actual is None else actual[1],
            action_raw=row.action_raw,
            confidence=row.confidence,
            ideal_signal=ideal,
            signal_error=None if ideal is None else row.action_raw - ideal,
            actual_return=None if actual is None else actual[0],
            was_correct=None if actual is None else row.action == actual[1],
            status="pending" if actual is None else "resolved",
        )


def _page_summary(records: list[pb.PredictionRecord]) -> pb.PageSummary:
    """Counts and averages over one page."""
    resolved = [r for r in records if r.status == "resolved"]
    correct = sum(r.was_correct for r in resolved)
    rewards = [r.reward for r in records if r.HasField("reward")]
    latencies = [r.latency_ms for r in records if r.HasField("latency_ms")]
    return pb.PageSummary(
        count=len(records),
        resolved=len(resolved),
        correct=correct,
        accuracy=correct / len(resolved) if resolved else 0.0,
        avg_confidence=float(np.mean([r.confidence for r in records])) if records else 0.0,
        avg_reward=float(np.mean(rewards)) if rewards else None,
        avg_latency_ms=float(np.mean(latencies)) if latencies else None,
    )
