"""Messages of ``performance_service.proto``."""

from __future__ import annotations

from typing import Any, Protocol

from mlanalytics.v1 import performance_service_pb2 as pb
from server.api.convert import finite, timestamp
from server.api.messages.common import performance_metrics
from server.api.messages.fields import window_fields
from server.domain import TimeRange
from server.reports.ab import ModelPair
from server.reports.health import HourWinRate, Trends, VersionPerformance
from server.reports.windows import ModelWindow


class _Interval(Protocol):
    """The bounds of a confidence interval."""

    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float: ...


class _DifferenceTest(Protocol):
    """A test of a difference of mean rewards: of two models (A/B) or of two versions."""

    @property
    def verdict(self) -> str: ...
    @property
    def mean_difference(self) -> float | None: ...
    @property
    def difference_ci95(self) -> _Interval | None: ...
    @property
    def p_value(self) -> float | None: ...


def performance_trends(trends: Trends) -> pb.PerformanceTrends:
    hours, summary = trends.hours, trends.summary
    return pb.PerformanceTrends(
        model_id=trends.model_id,
        days=trends.days,
        start_time=timestamp(trends.span.start),
        end_time=timestamp(trends.span.end),
        buckets=[
            pb.TrendBucket(
                hour=timestamp(hours.hour[i]),
                predictions=int(hours.predictions[i]),
                win_rate=float(trends.win_rate[i]),
                avg_reward=float(trends.avg_reward[i]),
                total_reward=float(hours.total_reward[i]),
                avg_latency_ms=finite(float(hours.avg_latency_ms[i])),
                win_rate_ma=float(summary.win_rate_moving_average[i]),
            )
            for i in range(hours.hour.size)
        ],
        summary=pb.TrendSummary(
            total_predictions=int(hours.predictions.sum()),
            hours_with_data=int(hours.hour.size),
            win_rate_slope=summary.win_rate_slope,
            win_rate_trend=summary.win_rate_trend,
            reward_slope=summary.reward_slope,
            reward_trend=summary.reward_trend,
            best_hour=_hour_win_rate(trends.best_hour),
            worst_hour=_hour_win_rate(trends.worst_hour),
        ),
    )


def performance_comparison(
    window: TimeRange, versions: list[VersionPerformance]
) -> pb.PerformanceComparison:
    return pb.PerformanceComparison(
        **window_fields(window),
        total_models=len(versions),
        models=[
            pb.ModelComparison(
                model_id=v.aggregates.model_id,
                model_version=v.aggregates.model_version,
                predictions=v.aggregates.predictions,
                win_rate=v.win_rate,
                avg_reward=v.aggregates.avg_reward,
                std_reward=v.aggregates.std_reward,
                total_reward=v.aggregates.total_reward,
                avg_latency_ms=finite(v.aggregates.avg_latency_ms),
                max_abs_reward=v.aggregates.max_abs_reward,
                sharpe_ratio=v.sharpe_ratio,
            )
            for v in versions
        ],
    )


def model_ab_comparison(pair: ModelPair) -> pb.ModelAbComparison:
    comparison = pair.comparison
    return pb.ModelAbComparison(
        **difference_test_fields(comparison),
        **window_fields(pair.window),
        hold_band=pair.hold_band,
        model_a=_ab_side(pair.model_a),
        model_b=_ab_side(pair.model_b),
        common_bars=comparison.common_bars,
        min_common_bars=pair.min_common_bars,
        significance_level=pair.significance_level,
    )


def difference_test_fields(test: _DifferenceTest) -> dict[str, Any]:
    """A test of a difference of mean rewards as its message's ``verdict``, ``mean_difference``,
    ``difference_ci95`` and ``p_value``."""
    interval = test.difference_ci95
    return {
        "verdict": test.verdict,
        "mean_difference": finite(test.mean_difference),
        "difference_ci95": (
            None
            if interval is None
            else pb.ConfidenceInterval(lower=interval.lower, upper=interval.upper)
        ),
        "p_value": finite(test.p_value),
    }


def _ab_side(model: ModelWindow) -> pb.AbSide:
    analysis = model.analysis
    return pb.AbSide(
        model_id=model.model_id,
        model_version=model.model_version,
        data_points=analysis.data_points,
        probabilistic_sharpe=finite(analysis.risk.probabilistic_sharpe),
        metrics=performance_metrics(analysis),
    )


def _hour_win_rate(extreme: HourWinRate | None) -> pb.HourWinRate | None:
    if extreme is None:
        return None
    return pb.HourWinRate(hour=timestamp(extreme.hour), win_rate=extreme.win_rate)
