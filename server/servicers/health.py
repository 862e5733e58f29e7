"""HealthService: service health, endpoint directory, model health, trends and comparison."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import grpc
import numpy as np
from psycopg_pool import ConnectionPool

from analytics import assess_health, safe_ratio, sharpe_ratio, summarize_trend
from mlanalytics.v1 import common_pb2, health_service_pb2, health_service_pb2_grpc
from server import SERVICE_NAME, SERVICE_VERSION, directory
from server.config import Settings
from server.convert import envelope, finite, now_timestamp, timestamp
from server.db import connection
from server.repositories import health as health_repo
from server.repositories import performance as performance_repo
from server.repositories.models import require_model
from server.validation import Params

pb = health_service_pb2

_STATUS_ORDER = {"critical": 0, "warning": 1, "healthy": 2}
DEFAULT_TREND_DAYS = 7
_HOUR = np.timedelta64(1, "h")


def model_health(
    model_id: str, activity: health_repo.ModelActivity | None, end: datetime
) -> common_pb2.ModelHealth:
    """Apply the health rules of SPEC section 4 to one model's last 24 h."""
    if activity is None:  # the model exists, but not at or before end_time
        verdict = assess_health(0, 0.0, None, None)
        return common_pb2.ModelHealth(
            model_id=model_id,
            status=verdict.status,
            health_score=verdict.health_score,
            score_breakdown=common_pb2.HealthScoreBreakdown(),
            issues=verdict.issues,
        )
    minutes = (end - activity.last_prediction).total_seconds() / 60.0
    verdict = assess_health(
        activity.predictions, activity.win_rate, activity.avg_latency_ms, minutes
    )
    return common_pb2.ModelHealth(
        model_id=activity.model_id,
        model_version=activity.model_version,
        status=verdict.status,
        health_score=verdict.health_score,
        score_breakdown=common_pb2.HealthScoreBreakdown(
            win_points=verdict.win_points,
            latency_points=verdict.latency_points,
            recency_points=verdict.recency_points,
        ),
        prediction_count=activity.predictions,
        win_rate=activity.win_rate,
        avg_latency_ms=finite(activity.avg_latency_ms),
        last_prediction=timestamp(activity.last_prediction),
        minutes_since_last=minutes,
        issues=verdict.issues,
    )


class HealthServicer(health_service_pb2_grpc.HealthServiceServicer):
    """Service and model health."""

    def __init__(
        self, pool: ConnectionPool, settings: Settings, database_connected: Callable[[], bool]
    ) -> None:
        self._pool = pool
        self._database_connected = database_connected
        self._endpoints = directory.endpoints()

    def GetServiceHealth(
        self, request: pb.GetServiceHealthRequest, context: grpc.ServicerContext
    ) -> pb.GetServiceHealthResponse:
        connected = self._database_connected()
        return pb.GetServiceHealthResponse(
            service=SERVICE_NAME,
            version=SERVICE_VERSION,
            status="healthy" if connected else "degraded",
            database="connected" if connected else "disconnected",
            timestamp=now_timestamp(),
        )

    def GetServiceInfo(
        self, request: pb.GetServiceInfoRequest, context: grpc.ServicerContext
    ) -> pb.GetServiceInfoResponse:
        return pb.GetServiceInfoResponse(
            service=SERVICE_NAME,
            version=SERVICE_VERSION,
            description=(
                "Production monitoring of the USD/COP reinforcement-learning trading models: "
                "metrics, prediction accuracy, drift and health. REST on this port; native gRPC "
                "on the same port with server reflection."
            ),
            endpoints=self._endpoints,
            timestamp=now_timestamp(),
        )

    def ListModelHealth(
        self, request: pb.ListModelHealthRequest, context: grpc.ServicerContext
    ) -> pb.ListModelHealthResponse:
        params = Params()
        end = params.end_time(request.end_time)
        params.check()
        with connection(self._pool) as conn:
            activity = health_repo.recent_models(conn, end)
        models = [model_health(a.model_id, a, end) for a in activity]
        models.sort(key=lambda m: (_STATUS_ORDER[m.status], m.model_id))
        statuses = Counter(m.status for m in models)
        return envelope(
            pb.ListModelHealthResponse,
            pb.ModelHealthList(
                end_time=timestamp(end),
                total_models=len(models),
                healthy_models=statuses["healthy"],
                warning_models=statuses["warning"],
                critical_models=statuses["critical"],
                models=models,
            ),
        )

    def GetModelHealth(
        self, request: pb.GetModelHealthRequest, context: grpc.ServicerContext
    ) -> pb.GetModelHealthResponse:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        params.check()
        with connection(self._pool) as conn:
            activity = health_repo.model_activity(conn, model_id, end)
            if activity is None:
                require_model(conn, model_id)
        return envelope(pb.GetModelHealthResponse, model_health(model_id, activity, end))

    def GetPerformanceTrends(
        self, request: pb.GetPerformanceTrendsRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceTrendsResponse:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        days = params.integer(request, "days", DEFAULT_TREND_DAYS, 1, 30)
        params.check()
        start = end - timedelta(days=days)
        with connection(self._pool) as conn:
            hours = performance_repo.hourly(conn, model_id, start, end)
            if not hours.hour.size:
                require_model(conn, model_id)
        origin = np.datetime64(start.replace(minute=0, second=0, microsecond=0, tzinfo=None), "us")
        hour_index = ((hours.hour - origin) // _HOUR).astype(np.int64)
        win_rate = safe_ratio(hours.wins, hours.realized)
        avg_reward = safe_ratio(hours.total_reward, hours.rewarded)
        summary = summarize_trend(hour_index, win_rate, avg_reward, hours.realized)

        def hour_win_rate(extreme: tuple[int, float] | None) -> pb.HourWinRate | None:
            if extreme is None:
                return None
            return pb.HourWinRate(hour=timestamp(origin + extreme[0] * _HOUR), win_rate=extreme[1])

        return envelope(
            pb.GetPerformanceTrendsResponse,
            pb.PerformanceTrends(
                model_id=model_id,
                days=days,
                start_time=timestamp(start),
                end_time=timestamp(end),
                buckets=[
                    pb.TrendBucket(
                        hour=timestamp(hours.hour[i]),
                        predictions=int(hours.predictions[i]),
                        win_rate=float(win_rate[i]),
                        avg_reward=float(avg_reward[i]),
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
                    best_hour=hour_win_rate(summary.best_hour),
                    worst_hour=hour_win_rate(summary.worst_hour),
                ),
            ),
        )

    def GetPerformanceComparison(
        self, request: pb.GetPerformanceComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceComparisonResponse:
        params = Params()
        window = params.window(request.window, params.end_time(request.end_time))
        params.check()
        with connection(self._pool) as conn:
            versions = performance_repo.by_version(conn, window.start, window.end)
        models = [
            pb.ModelComparison(
                model_id=v.model_id,
                model_version=v.model_version,
                predictions=v.predictions,
                win_rate=float(safe_ratio(v.wins, v.realized)),
                avg_reward=v.avg_reward,
                std_reward=v.std_reward,
                total_reward=v.total_reward,
                avg_latency_ms=finite(v.avg_latency_ms),
                max_abs_reward=v.max_abs_reward,
                sharpe_ratio=sharpe_ratio(v.avg_reward, v.std_reward, v.rewarded),
            )
            for v in versions
        ]
        models.sort(key=lambda m: (-m.win_rate, m.model_id, m.model_version))
        return envelope(
            pb.GetPerformanceComparisonResponse,
            pb.PerformanceComparison(
                window=window.name,
                start_time=timestamp(window.start),
                end_time=timestamp(window.end),
                total_models=len(models),
                models=models,
            ),
        )
