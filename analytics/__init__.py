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
    BAR_INTERVAL,
    VERDICT_INSUFFICIENT_DATA,
    VERDICT_MODEL_A,
    VERDICT_MODEL_B,
    VERDICT_NO_SIGNIFICANT_DIFFERENCE,
    ABComparison,
    BarRewards,
    ConfidenceInterval,
    ab_comparison,
    bar_rewards,
    paired_difference_test,
)
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
from analytics.calibration import (
    CALIBRATION_BINS,
    Calibration,
    ReliabilityBin,
    confidence_calibration,
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
    shortfall,
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
    with_critical_drift,
)
from analytics.outcomes import DEFAULT_HOLD_BAND, Outcomes, resolve_outcomes
from analytics.risk import (
    MIN_PSR_REWARDS,
    TAIL_PROBABILITY,
    RiskMetrics,
    probabilistic_sharpe_ratio,
    risk_metrics,
)
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
    "AB_MIN_COMMON_BARS",
    "AB_SIGNIFICANCE_LEVEL",
    "ACTION_CODES",
    "ACTION_LABELS",
    "ALWAYS",
    "BAR_INTERVAL",
    "CALIBRATION_BINS",
    "DEFAULT_CRITICAL_THRESHOLD",
    "DEFAULT_HOLD_BAND",
    "DEFAULT_WARNING_THRESHOLD",
    "FEATURES",
    "HOLD",
    "LATENCY_CRITICAL_MS",
    "LATENCY_WARNING_MS",
    "LONG",
    "MIN_PREDICTIONS",
    "MIN_PSR_REWARDS",
    "MIN_SAMPLES",
    "MONDAY_TO_FRIDAY",
    "PERIODS_PER_YEAR",
    "SHORT",
    "SILENCE_CRITICAL_MIN",
    "SILENCE_WARNING_MIN",
    "TAIL_PROBABILITY",
    "VERDICT_INSUFFICIENT_DATA",
    "VERDICT_MODEL_A",
    "VERDICT_MODEL_B",
    "VERDICT_NO_SIGNIFICANT_DIFFERENCE",
    "WEEKDAY_NAMES",
    "WIN_RATE_CRITICAL",
    "WIN_RATE_WARNING",
    "ABComparison",
    "ActionStats",
    "BarRewards",
    "Calibration",
    "ClassMetrics",
    "ClassificationReport",
    "ConfidenceInterval",
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
    "ReliabilityBin",
    "RiskMetrics",
    "TradingMetrics",
    "TradingSession",
    "TrendSummary",
    "ab_comparison",
    "action_index",
    "action_stats",
    "assess_health",
    "bar_rewards",
    "classification_report",
    "concept_drift",
    "confidence_calibration",
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
    "paired_difference_test",
    "parse_weekdays",
    "probabilistic_sharpe_ratio",
    "psi",
    "resolve_outcomes",
    "risk_metrics",
    "safe_ratio",
    "sharpe_ratio",
    "shortfall",
    "sortino_ratio",
    "summarize_trend",
    "trading_metrics",
    "trend_direction",
    "trend_slope",
    "wasserstein",
    "with_critical_drift",
]
