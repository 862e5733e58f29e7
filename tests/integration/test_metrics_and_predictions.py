"""MetricsService and PredictionService against scikit-learn and hand-computed references.

The rows are written by the test: a bar series with flat stretches (HOLD outcomes), a model with
pending predictions at the end, NULL rewards and latencies, a HOLD-only stretch, two rows with
the same timestamp, a prediction before the first bar, and a model with no rows in the window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import grpc
import numpy as np
import psycopg
import pytest
from numpy.testing import assert_allclose
from psycopg_pool import ConnectionPool
from reference import LABELS, Outcome, classification, outcome, trading

from conftest import END, END_TIME, FIVE_MINUTES
from databases import ScratchDatabase
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import metrics_service_pb2_grpc, prediction_service_pb2_grpc
from mlanalytics.v1 import prediction_service_pb2 as ppb
from rows import Rows
from server.app import Service
from server.db import conninfo


@dataclass(frozen=True)
class Row:
    inference_id: int
    at: datetime
    action: str
    action_raw: float
    confidence: float
    reward: float | None
    latency_ms: int | None


@dataclass
class Desk:
    bars: list[tuple[datetime, float]]
    alpha: list[Row]

    def window(self, hours: float, end: datetime = END) -> list[Row]:
        start = end - timedelta(hours=hours)
        return [r for r in self.alpha if start < r.at <= end]

    def outcome(self, row: Row, end: datetime = END) -> Outcome | None:
        return outcome(row.at, self.bars, end)


@pytest.fixture
def desk(rows: Rows) -> Desk:
    rng = np.random.default_rng(20260302)
    first_bar = END - timedelta(hours=30)
    steps = rng.choice([-0.0008, -0.0003, 0.0, 0.0001, 0.0003, 0.0009], size=354)
    # Bars up to END - 5 min, at the numeric(12, 6) precision the table stores.
    closes = [round(float(c), 6) for c in 4000.0 * np.exp(np.cumsum(steps))]
    rows.bars(first_bar, closes)
    bars = [(first_bar + i * FIVE_MINUTES, float(c)) for i, c in enumerate(closes)]

    alpha: list[Row] = []

    def add(at: datetime, action: str, **kw: Any) -> None:
        raw = kw.pop("action_raw", None)
        if raw is None:
            raw = {"LONG": 0.7, "SHORT": -0.6, "HOLD": 0.05}[action] + rng.uniform(-0.25, 0.25)
        values = {
            "action_raw": float(np.clip(raw, -1, 1)),
            "confidence": float(rng.uniform(0.3, 0.95)),
            "reward": kw.pop(
                "reward", float(rng.normal(0, 0.001)) if rng.random() > 0.05 else None
            ),
            "latency_ms": kw.pop(
                "latency_ms", int(rng.integers(5, 300)) if rng.random() > 0.1 else None
            ),
        }
        inference_id = rows.inference("alpha", at, action, **values)
        alpha.append(Row(inference_id, at, action, **values))

    add(first_bar - timedelta(minutes=1), "LONG")  # before the first bar: no p0, pending
    for i in range(300):  # 25 hours of predictions, 30 s after each bar
        at = first_bar + i * FIVE_MINUTES + timedelta(seconds=30)
        action = "HOLD" if 100 <= i < 130 else str(rng.choice(LABELS))  # a HOLD-only stretch
        add(at, action)
    add(
        first_bar + 200 * FIVE_MINUTES + timedelta(seconds=30), "SHORT"
    )  # same timestamp as another row
    for i in range(12):  # the last hour: the latest ones have no next bar (nor reward) yet
        reward = float(rng.normal(0, 0.001)) if i < 10 else None
        add(END - timedelta(minutes=58) + i * FIVE_MINUTES, str(rng.choice(LABELS)), reward=reward)
    rows.inference("beta", END - timedelta(days=3), "LONG", reward=0.1)  # nothing in the window
    return Desk(bars, sorted(alpha, key=lambda r: (r.at, r.inference_id)))


@pytest.fixture
def metrics(channel: grpc.Channel) -> metrics_service_pb2_grpc.MetricsServiceStub:
    return metrics_service_pb2_grpc.MetricsServiceStub(channel)


@pytest.fixture
def predictions(channel: grpc.Channel) -> prediction_service_pb2_grpc.PredictionServiceStub:
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


class TestRollingMetrics:
    @pytest.mark.parametrize(("window", "hours"), [("1h", 1), ("24h", 24), ("7d", 168)])
    def test_equals_the_references(self, desk: Desk, metrics: Any, window: str, hours: int) -> None:
        data = metrics.GetRollingMetrics(
            mpb.GetRollingMetricsRequest(model_id="alpha", window=window, end_time=END_TIME)
        ).data
        rows = desk.window(hours)
        outcomes = [desk.outcome(r) for r in rows]
        resolved = [(r, o) for r, o in zip(rows, outcomes, strict=True) if o is not None]
        assert data.data_points == len(rows)
        assert data.resolved_predictions == len(resolved)
        assert data.pending_predictions == len(rows) - len(resolved)
        assert data.window == window
        assert data.start_time.ToDatetime(UTC) == END - timedelta(hours=hours)

        ref = classification(
            [r.action for r, _ in resolved],
            [o.actual_action for _, o in resolved],
            [r.action_raw for r, _ in resolved],
        )
        m = data.metrics
        # Same counts, so the ratios agree to float rounding.
        assert_allclose(
            [m.accuracy, m.precision, m.recall, m.f1_score, m.mse, m.mae],
            [ref.accuracy, ref.precision, ref.recall, ref.f1, ref.mse, ref.mae],
            rtol=1e-12,
        )
        rewards = [r.reward for r in rows if r.reward is not None]
        t = trading(rewards)
        assert m.reward_count == len(rewards)
        # Sums in a different order: a few ulps; Sharpe/Sortino amplify them by sqrt(14868).
        assert_allclose(
            [m.total_return, m.avg_return, m.std_return, m.max_drawdown, m.win_rate],
            [t.total, t.mean, t.std, t.max_drawdown, t.win_rate],
            rtol=1e-9,
        )
        assert_allclose([m.sharpe_ratio, m.sortino_ratio], [t.sharpe, t.sortino], rtol=1e-9)
        assert m.profit_factor == pytest.approx(t.profit_factor, rel=1e-9)
        latency = [r.latency_ms for r in rows if r.latency_ms is not None]
        assert m.avg_latency_ms == pytest.approx(np.mean(latency), rel=1e-12)
        assert m.p95_latency_ms == pytest.approx(np.percentile(latency, 95), rel=1e-12)

        counts = data.predictions
        assert counts.total == len(rows)
        correct = sum(r.action == o.actual_action for r, o in resolved)
        assert (counts.correct, counts.incorrect) == (correct, len(resolved) - correct)
        assert [b.action for b in counts.by_action] == LABELS
        for entry in counts.by_action:
            mine = [r for r in rows if r.action == entry.action]
            assert entry.count == len(mine)
            assert entry.avg_confidence == pytest.approx(np.mean([r.confidence for r in mine]))

    def test_latest_version_in_window(self, rows: Rows, metrics: Any) -> None:
        rows.inference("v", END - timedelta(hours=2), "LONG", model_version="1")
        rows.inference("v", END - timedelta(hours=1), "LONG", model_version="2")
        rows.inference("v", END + timedelta(hours=1), "LONG", model_version="3")  # after end
        data = metrics.GetRollingMetrics(
            mpb.GetRollingMetricsRequest(model_id="v", end_time=END_TIME)
        )
        assert data.data.model_version == "2"

    def test_known_model_empty_window_is_zeros(self, desk: Desk, metrics: Any) -> None:
        data = metrics.GetRollingMetrics(
            mpb.GetRollingMetricsRequest(model_id="beta", window="24h", end_time=END_TIME)
        ).data
        assert (data.data_points, data.resolved_predictions, data.model_version) == (0, 0, "")
        assert data.metrics.accuracy == 0.0
        assert data.metrics.sharpe_ratio == 0.0
        assert not data.metrics.HasField("profit_factor")
        assert not data.metrics.HasField("avg_latency_ms")
        assert [b.count for b in data.predictions.by_action] == [0, 0, 0]

    def test_unknown_model_is_not_found(self, desk: Desk, metrics: Any) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            metrics.GetRollingMetrics(mpb.GetRollingMetricsRequest(model_id="nobody"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    @pytest.mark.parametrize(
        ("request_fields", "field"),
        [
            ({"model_id": "", "window": "24h"}, "model_id"),
            ({"model_id": "m" * 101}, "model_id"),
            ({"model_id": "alpha", "window": "2h"}, "window"),
            ({"model_id": "alpha", "end_time": "noon"}, "end_time"),
        ],
    )
    def test_invalid_arguments(
        self, metrics: Any, request_fields: dict[str, str], field: str
    ) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            metrics.GetRollingMetrics(mpb.GetRollingMetricsRequest(**request_fields))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in str(caught.value.details())

    def test_end_time_moves_the_window(self, desk: Desk, metrics: Any) -> None:
        earlier = END - timedelta(hours=6, minutes=-1)  # one minute after a bar opened
        data = metrics.GetRollingMetrics(
            mpb.GetRollingMetricsRequest(
                model_id="alpha", window="1h", end_time=earlier.isoformat()
            )
        ).data
        rows = desk.window(1, earlier)
        assert data.data_points == len(rows)
        # Bars after end_time are not known yet: the last prediction before it is pending.
        pending = [r for r in rows if desk.outcome(r, earlier) is None]
        assert data.pending_predictions == len(pending) >= 1


class TestPredictionAccuracy:
    def test_equals_scikit_learn(self, desk: Desk, predictions: Any) -> None:
        data = predictions.GetPredictionAccuracy(
            ppb.GetPredictionAccuracyRequest(model_id="alpha", window="7d", end_time=END_TIME)
        ).data
        rows = desk.window(168)
        resolved = [(r, o) for r in rows if (o := desk.outcome(r)) is not None]
        ref = classification(
            [r.action for r, _ in resolved],
            [o.actual_action for _, o in resolved],
            [r.action_raw for r, _ in resolved],
        )
        assert data.total_predictions == len(rows)
        assert data.resolved_predictions == len(resolved)
        assert data.correct_predictions + data.incorrect_predictions == len(resolved)
        assert data.accuracy == pytest.approx(ref.accuracy, rel=1e-12)
        assert data.f1_score == pytest.approx(ref.f1, rel=1e-12)
        per_class = ref.per_class
        for entry in data.by_action:
            precision, recall, f1, support = per_class[entry.action]
            assert_allclose(
                [entry.precision, entry.recall, entry.f1_score], [precision, recall, f1], rtol=1e-12
            )
            assert entry.support == support
            mine = [(r, o) for r, o in resolved if r.action == entry.action]
            assert entry.success_rate == pytest.approx(
                sum(r.action == o.actual_action for r, o in mine) / len(mine)
            )
        matrix = [
            [row.actual_long, row.actual_short, row.actual_hold] for row in data.confusion_matrix
        ]
        assert [row.predicted for row in data.confusion_matrix] == LABELS
        assert matrix == ref.confusion

    def test_hold_only_stretch(self, desk: Desk, predictions: Any) -> None:
        # Bars 100..129 after the first bar are HOLD-only predictions: end the window inside.
        end = desk.bars[0][0] + 129 * FIVE_MINUTES + timedelta(minutes=1)
        data = predictions.GetPredictionAccuracy(
            ppb.GetPredictionAccuracyRequest(
                model_id="alpha", window="1h", end_time=end.isoformat()
            )
        ).data
        by_action = {b.action: b for b in data.by_action}
        assert by_action["LONG"].count == by_action["SHORT"].count == 0
        assert by_action["HOLD"].count == data.total_predictions == 12
        rows = desk.window(1, end)
        resolved = [(r, o) for r in rows if (o := desk.outcome(r, end)) is not None]
        ref = classification(
            ["HOLD"] * len(resolved),
            [o.actual_action for _, o in resolved],
            [r.action_raw for r, _ in resolved],
        )
        assert data.precision == pytest.approx(ref.precision, rel=1e-12)
        assert data.recall == pytest.approx(ref.recall, rel=1e-12)


class TestModelMetrics:
    def test_rolling_and_accuracy_in_one_response(
        self, desk: Desk, metrics: Any, predictions: Any
    ) -> None:
        one = metrics.GetModelMetrics(
            mpb.GetModelMetricsRequest(model_id="alpha", window="24h", end_time=END_TIME)
        ).data
        rolling = metrics.GetRollingMetrics(
            mpb.GetRollingMetricsRequest(model_id="alpha", window="24h", end_time=END_TIME)
        ).data
        accuracy = predictions.GetPredictionAccuracy(
            ppb.GetPredictionAccuracyRequest(model_id="alpha", window="24h", end_time=END_TIME)
        ).data
        assert one.rolling == rolling
        assert one.accuracy == accuracy


class TestSummary:
    def test_every_recent_model(self, desk: Desk, metrics: Any) -> None:
        data = metrics.GetMetricsSummary(mpb.GetMetricsSummaryRequest(end_time=END_TIME)).data
        assert [m.model_id for m in data.models] == ["alpha", "beta"]
        assert (data.total_models, data.active_models) == (2, 1)
        alpha_rolling = metrics.GetRollingMetrics(
            mpb.GetRollingMetricsRequest(model_id="alpha", window="24h", end_time=END_TIME)
        ).data
        assert data.models[0] == alpha_rolling
        assert data.models[1].data_points == 0
        assert data.aggregate.models_with_data == 1
        assert data.aggregate.avg_accuracy == alpha_rolling.metrics.accuracy
        assert data.aggregate.total_predictions == alpha_rolling.data_points


class TestHistory:
    def _page(self, predictions: Any, page: int, page_size: int, **kw: str) -> Any:
        return predictions.GetPredictionHistory(
            ppb.GetPredictionHistoryRequest(
                model_id="alpha", page=page, page_size=page_size, end_time=END_TIME, **kw
            )
        ).data

    def test_pages_cover_the_range_exactly_once(self, desk: Desk, predictions: Any) -> None:
        first = self._page(predictions, 1, 40)
        expected = [r for r in reversed(desk.alpha) if END - timedelta(days=7) < r.at <= END]
        assert first.total == len(expected)
        assert first.total_pages == math.ceil(len(expected) / 40)
        seen = []
        for page in range(1, first.total_pages + 2):  # one page past the end: empty
            seen += [p.inference_id for p in self._page(predictions, page, 40).predictions]
        assert seen == [r.inference_id for r in expected]  # newest first, ties by id, no gaps

    def test_each_row_has_its_outcome(self, desk: Desk, predictions: Any) -> None:
        by_id = {r.inference_id: r for r in desk.alpha}
        data = self._page(predictions, 1, 1000)
        for record in data.predictions:
            row = by_id[record.inference_id]
            expected = desk.outcome(row)
            if expected is None:
                assert record.status == "pending"
                assert not record.HasField("actual_action")
                assert not record.HasField("was_correct")
            else:
                assert record.status == "resolved"
                assert record.actual_return == pytest.approx(expected.actual_return, rel=1e-12)
                assert record.actual_action == expected.actual_action
                assert record.was_correct == (row.action == expected.actual_action)
            if row.reward is None:
                assert not record.HasField("was_profitable")
            else:
                assert record.was_profitable == (row.reward > 0)
        summary = data.page_summary
        assert summary.count == len(data.predictions)
        assert summary.avg_confidence == pytest.approx(
            np.mean([p.confidence for p in data.predictions])
        )

    def test_start_time(self, desk: Desk, predictions: Any) -> None:
        start = END - timedelta(hours=2)
        data = self._page(predictions, 1, 1000, start_time=start.isoformat())
        assert data.total == len(desk.window(2))

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"page": 0}, "page"),
            ({"page_size": 0}, "page_size"),
            ({"page_size": 1001}, "page_size"),
            ({"start_time": "2026-03-03T00:00:00Z"}, "start_time"),
        ],
    )
    def test_invalid_arguments(self, predictions: Any, fields: dict[str, Any], field: str) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            predictions.GetPredictionHistory(
                ppb.GetPredictionHistoryRequest(model_id="alpha", end_time=END_TIME, **fields)
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in str(caught.value.details())


class TestComparison:
    def test_latest_predictions_against_outcomes(self, desk: Desk, predictions: Any) -> None:
        data = predictions.GetPredictionComparison(
            ppb.GetPredictionComparisonRequest(model_id="alpha", limit=50, end_time=END_TIME)
        ).data
        expected = list(reversed(desk.alpha))[:50]
        assert [c.inference_id for c in data.comparisons] == [r.inference_id for r in expected]
        errors = []
        for entry, row in zip(data.comparisons, expected, strict=True):
            result = desk.outcome(row)
            if result is None:
                assert entry.status == "pending"
                assert not entry.HasField("signal_error")
                continue
            ideal = {"LONG": 1, "SHORT": -1, "HOLD": 0}[result.actual_action]
            assert entry.ideal_signal == ideal
            assert entry.signal_error == pytest.approx(row.action_raw - ideal)
            errors.append(abs(row.action_raw - ideal))
        assert data.count == 50
        assert data.resolved == len(errors)
        assert data.mean_abs_signal_error == pytest.approx(np.mean(errors))

    def test_limit_bounds(self, predictions: Any) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            predictions.GetPredictionComparison(
                ppb.GetPredictionComparisonRequest(model_id="alpha", limit=1001)
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class _CountingCursor(psycopg.Cursor[Any]):
    """Counts the statements the service sends (not the pool's and monitor's probes)."""

    statements: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
        text = query.as_string(self) if hasattr(query, "as_string") else str(query)
        if text.strip() not in ("", "SELECT 1"):
            _CountingCursor.statements.append(text)
        return super().execute(query, params, **kw)


@pytest.fixture
def counting_stub(
    database: ScratchDatabase, start_service: Callable[..., Service]
) -> Iterator[Any]:
    settings = database.settings()
    pool = ConnectionPool(
        conninfo(settings),
        min_size=1,
        max_size=2,
        kwargs={"autocommit": True, "cursor_factory": _CountingCursor},
        open=True,
    )
    service = start_service(settings, pool=pool)
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        yield metrics_service_pb2_grpc.MetricsServiceStub(channel)


def test_summary_has_no_n_plus_one(rows: Rows, counting_stub: Any) -> None:
    def statements_for(models: int) -> int:
        for m in range(models):
            for k in range(3):
                rows.inference(f"model_{m:02d}", END - timedelta(hours=k + 1), "LONG", reward=0.1)
        _CountingCursor.statements.clear()
        reply = counting_stub.GetMetricsSummary(mpb.GetMetricsSummaryRequest(end_time=END_TIME))
        assert reply.data.total_models == models
        return len(_CountingCursor.statements)

    two = statements_for(2)
    rows.conn.execute("TRUNCATE dw.fact_rl_inference")
    twenty = statements_for(20)
    assert two == twenty
    assert two <= 4
