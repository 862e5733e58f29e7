"""Messages of ``health_service.proto``."""

from __future__ import annotations

from mlanalytics.v1 import health_service_pb2 as pb
from server.api.convert import timestamp
from server.api.messages.common import market_state, model_health
from server.reports.health import HealthList


def model_health_list(health: HealthList) -> pb.ModelHealthList:
    return pb.ModelHealthList(
        end_time=timestamp(health.window.end),
        window_start=timestamp(health.window.start),
        market=market_state(health.market),
        total_models=len(health.models),
        healthy_models=health.count("healthy"),
        warning_models=health.count("warning"),
        critical_models=health.count("critical"),
        models=[model_health(m) for m in health.models],
    )
