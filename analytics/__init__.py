"""The analytics core of the ML Analytics Service: every number of docs/DEFINITIONS.md, once.

Pure, typed functions over numpy arrays (no I/O, no gRPC, no SQL), grouped by concern:

- `analytics.actions`: action codes (LONG = 1, SHORT = -1, HOLD = 0) and label conversion;
- `analytics.calendar`: market time: trading sessions, holidays, market minutes;
- `analytics.outcomes`: the actual forward return and action of each prediction;
- `analytics.classification`: accuracy, precision/recall/F1, confusion matrix, MSE/MAE,
  per-action statistics;
- `analytics.trading`: return, Sharpe, Sortino, win rate, profit factor, drawdown, latency;
- `analytics.risk`: Calmar ratio, value at risk, expected shortfall, tail ratio, probabilistic
  Sharpe ratio;
- `analytics.ab`: paired A/B comparison of two models on the 5-minute bars both traded;
- `analytics.calibration`: Brier score, expected calibration error, reliability table;
- `analytics.drift`: per-feature KS / PSI / Wasserstein, data and concept drift, drift status;
- `analytics.health`: health score, status and issues;
- `analytics.trends`: hourly buckets, least-squares trends, moving average, best/worst hour.

Conventions: times are ``datetime64[us]`` (UTC, naive); SQL NULL is NaN in float arrays; results
are frozen dataclasses or NamedTuples and never hold NaN or infinity (a value that does not exist
is None); a bad argument raises `ValueError` naming it. Inputs are assumed to be of a magnitude
whose sums fit in float64 (|x| well below 1e300).
"""

from analytics.ab import (
    AB_MIN_COMMON_BARS,
    AB_SIGNIFICANCE_LEVEL,
    ABComparison,
    ab_comparison,
)
from analytics.actions import (
    ACTION_CODES,
    ACTION_LABELS,
    decode_actions,
)
from analytics.calendar import (
    ALWAYS,
    MarketCalendar,
    TradingSession,
    holiday_countries,
    parse_weekdays,
)
from analytics.calibration import (
    Calibration,
    confidence_calibration,
)
from analytics.classification import (
    ActionStats,
    ClassificationReport,
    action_stats,
    classification_report,
    safe_ratio,
)
from analytics.drift import (
    DEFAULT_CRITICAL_THRESHOLD,
    DEFAULT_WARNING_THRESHOLD,
    FEATURES,
    MIN_SAMPLES,
    DataDrift,
    DriftVerdict,
    FeatureDrift,
    concept_drift,
    data_drift,
    drift_status,
    shortfall,
)
from analytics.health import (
    HealthAssessment,
    assess_health,
    with_critical_drift,
)
from analytics.outcomes import DEFAULT_HOLD_BAND, resolve_outcomes
from analytics.risk import (
    RiskMetrics,
    risk_metrics,
)
from analytics.trading import (
    LatencyStats,
    TradingMetrics,
    latency_stats,
    sharpe_ratio,
    trading_metrics,
)
from analytics.trends import (
    HourExtreme,
    TrendSummary,
    summarize_trend,
)

__all__ = [
    "AB_MIN_COMMON_BARS",
    "AB_SIGNIFICANCE_LEVEL",
    "ACTION_CODES",
    "ACTION_LABELS",
    "ALWAYS",
    "DEFAULT_CRITICAL_THRESHOLD",
    "DEFAULT_HOLD_BAND",
    "DEFAULT_WARNING_THRESHOLD",
    "FEATURES",
    "MIN_SAMPLES",
    "ABComparison",
    "ActionStats",
    "Calibration",
    "ClassificationReport",
    "DataDrift",
    "DriftVerdict",
    "FeatureDrift",
    "HealthAssessment",
    "HourExtreme",
    "LatencyStats",
    "MarketCalendar",
    "RiskMetrics",
    "TradingMetrics",
    "TradingSession",
    "TrendSummary",
    "ab_comparison",
    "action_stats",
    "assess_health",
    "classification_report",
    "concept_drift",
    "confidence_calibration",
    "data_drift",
    "decode_actions",
    "drift_status",
    "holiday_countries",
    "latency_stats",
    "parse_weekdays",
    "resolve_outcomes",
    "risk_metrics",
    "safe_ratio",
    "sharpe_ratio",
    "shortfall",
    "summarize_trend",
    "trading_metrics",
    "with_critical_drift",
]
