"""The health rules the service judges with: the settings' rules, the custom metrics in force, the
drift check on the drift windows' declared defaults and the rollback check on the version
comparison's (the options of those requests' fields in the protos)."""

from __future__ import annotations

from dataclasses import replace

from mlanalytics.v1 import drift_service_pb2, version_service_pb2
from server.api.validation import integer_default
from server.config import Settings
from server.domain import DriftCheck, HealthRules

_DRIFT_REQUEST = drift_service_pb2.GetDriftStatusRequest.DESCRIPTOR
#: GET /api/drift/status's defaults: the drift that health and the model overview look at.
DRIFT_WINDOW_HOURS = integer_default(_DRIFT_REQUEST, "window_hours")
DRIFT_BASELINE_DAYS = integer_default(_DRIFT_REQUEST, "baseline_days")
#: GET /api/models/{model_id}/versions/compare's default: the rollback verdict health shows.
ROLLBACK_BASELINE_DAYS = integer_default(
    version_service_pb2.CompareModelVersionsRequest.DESCRIPTOR, "baseline_days"
)


def health_rules(settings: Settings) -> HealthRules:
    """``settings``' health rules with the custom metrics in force (reloaded in place on SIGHUP),
    the drift check of the default drift windows and the rollback check of the default version
    comparison."""
    check = DriftCheck(
        settings.drift_thresholds, settings.hold_band, DRIFT_WINDOW_HOURS, DRIFT_BASELINE_DAYS
    )
    return replace(
        settings.health_rules,
        drift=check,
        custom=settings.custom_metrics,
        rollback_days=ROLLBACK_BASELINE_DAYS,
    )
