"""The analytics core of the ML Analytics Service: every number of SPEC section 4, in one place.

Pure, typed functions over numpy arrays (no I/O, no gRPC, no SQL), grouped by concern:

- `analytics.actions`: action codes (LONG = 1, SHORT = -1, HOLD = 0) and label conversion;
- `analytics.calendar`: market time: trading sessions, holidays, market minutes;
- `analytics.outcomes`: the actual forward return and action of each prediction;
- `analytics.classification`: accuracy, precision/recall/F1, confusion matrix, MSE/MAE,
  per-action statistics;
- `analytics.trading`: return, Sharpe, Sortino, win rate, profit factor, drawdown, latency;
- `analytics.drift`: per-feature KS / PSI / Wasserstein, data and concept drift, drift status;
- `analytics.health`: health score, status and issues;
- `analytics.trends`: hourly buckets, least-squares trends, moving average, best/worst hour.

Conventions: times are ``datetime64[us]`` (UTC, naive); SQL NULL is NaN in float arrays; results
are frozen dataclasses or NamedTuples and never hold NaN or infinity (a value that does not exist
is None); a bad argument raises `ValueError` naming it. Inputs are assumed to be of a magnitude
whose sums fit in float64 (|x| well below 1e300).
"""

from analytics.actions import (
    ACTION_CODES,
    ACTION_LABELS,
    HOLD,
    LONG,
    SHORT,
    action_index,
    decode_actions,
    encode_actions,
)
from analytics.calendar import (
    ALWAYS,
    MONDAY_TO_FRIDAY,
    WEEKDAY_NAMES,
    Instant,
    MarketCalendar,
    TradingSession,
    format_weekdays,
    holiday_countries,
    parse_weekdays,
)
from analytics.classification import (
    ActionStats,
    ClassificationReport,
    ClassMetrics,
    action_stats,
    classification_report,
    confusion_matrix,
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
    KsResult,
    concept_drift,
    data_drift,
    drift_status,
    feature_drift,
    ks_test,
    psi,
    wasserstein,
)
from analytics.health import (
    LATENCY_CRITICAL_MS,
    LATENCY_WARNING_MS,
    MIN_PREDICTIONS,
    SILENCE_CRITICAL_MIN,
    SILENCE_WARNING_MIN,
    WIN_RATE_CRITICAL,
    WIN_RATE_WARNING,
    HealthAssessment,
    assess_health,
)
from analytics.outcomes import DEFAULT_HOLD_BAND, Outcomes, resolve_outcomes
from analytics.trading import (
    PERIODS_PER_YEAR,
    LatencyStats,
    TradingMetrics,
    latency_stats,
    sharpe_ratio,
    sortino_ratio,
    trading_metrics,
)
from analytics.trends import (
    HourExtreme,
    HourlyBuckets,
    TrendSummary,
    hourly_buckets,
    moving_average,
    summarize_trend,
    trend_direction,
    trend_slope,
)

__all__ = [
    "ACTION_CODES",
    "ACTION_LABELS",
    "ALWAYS",
    "DEFAULT_CRITICAL_THRESHOLD",
    "DEFAULT_HOLD_BAND",
    "DEFAULT_WARNING_THRESHOLD",
    "FEATURES",
    "HOLD",
    "LATENCY_CRITICAL_MS",
    "LATENCY_WARNING_MS",
    "LONG",
    "MIN_PREDICTIONS",
    "MIN_SAMPLES",
    "MONDAY_TO_FRIDAY",
    "PERIODS_PER_YEAR",
    "SHORT",
    "SILENCE_CRITICAL_MIN",
    "SILENCE_WARNING_MIN",
    "WEEKDAY_NAMES",
    "WIN_RATE_CRITICAL",
    "WIN_RATE_WARNING",
    "ActionStats",
    "ClassMetrics",
    "ClassificationReport",
    "DataDrift",
    "DriftVerdict",
    "FeatureDrift",
    "HealthAssessment",
    "HourExtreme",
    "HourlyBuckets",
    "Instant",
    "KsResult",
    "LatencyStats",
    "MarketCalendar",
    "Outcomes",
    "TradingMetrics",
    "TradingSession",
    "TrendSummary",
    "action_index",
    "action_stats",
    "assess_health",
    "classification_report",
    "concept_drift",
    "confusion_matrix",
    "data_drift",
    "decode_actions",
    "drift_status",
    "encode_actions",
    "feature_drift",
    "format_weekdays",
    "holiday_countries",
    "hourly_buckets",
    "ks_test",
    "latency_stats",
    "moving_average",
    "parse_weekdays",
    "psi",
    "resolve_outcomes",
    "safe_ratio",
    "sharpe_ratio",
    "sortino_ratio",
    "summarize_trend",
    "trading_metrics",
    "trend_direction",
    "trend_slope",
    "wasserstein",
]
