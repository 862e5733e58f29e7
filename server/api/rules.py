"""The health rules the service judges with: the settings' rules and the drift check, on the drift
windows' declared defaults (the options of GetDriftStatusRequest's fields in the protos)."""

from __future__ import annotations

from dataclasses import replace

from mlanalytics.v1 import drift_service_pb2
from server.api.validation import integer_default
from server.config import Settings
from server.domain import DriftCheck, HealthRules

_DRIFT_REQUEST = drift_service_pb2.GetDriftStatusRequest.DESCRIPTOR
#: GET /api/drift/status's defaults: the drift that health and the model overview look at.
DRIFT_WINDOW_HOURS = integer_default(_DRIFT_REQUEST, "window_hours")
DRIFT_BASELINE_DAYS = integer_default(_DRIFT_REQUEST, "baseline_days")


def health_rules(settings: Settings) -> HealthRules:
    """``settings``' health rules with the drift check of the default drift windows."""
    check = DriftCheck(
        settings.drift_thresholds, settings.hold_band, DRIFT_WINDOW_HOURS, DRIFT_BASELINE_DAYS
    )
    return replace(settings.health_rules, drift=check)
