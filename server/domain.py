"""The service's domain types: what repositories return and reports compute over.

Plain dataclasses over numpy columns or Python values: no psycopg, no protobuf. Times are aware
``datetime`` (UTC) for single instants and ``datetime64[us]`` (naive UTC) in columns; NULLs are
NaN in float columns and None in single rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import pairwise
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from analytics import MarketCalendar, safe_ratio


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The instants ``(start, end]``; ``name`` is the requested window ("24h"), if any."""

    start: datetime
    end: datetime
    name: str = ""


@dataclass(frozen=True, slots=True)
class HealthRules:
    """What the health rules need beyond the data: the market calendar, the fewest trades a
    win-rate verdict needs, and the drift check (None: none)."""

    calendar: MarketCalendar
    min_trades: int
    drift: DriftCheck | None = None


@dataclass(frozen=True, slots=True)
class DriftCheck:
    """The drift evaluation health looks at: thresholds, hold band and windows."""

    thresholds: DriftThresholds
    hold_band: float
    window_hours: int
    baseline_days: int


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    """A feature drifts above ``warning``; the status is warning / critical from these on."""

    warning: float
    critical: float


@dataclass(frozen=True, slots=True)
class Predictions:
    """Inference rows ordered by (model, time, inference_id). NULL reward/latency are NaN."""

    model: NDArray[np.int32]  # index into the requested model ids
    time: NDArray[np.datetime64]
    inference_id: NDArray[np.int64]
    symbol: NDArray[np.int32]  # hashtext(symbol)
    action: NDArray[np.int8]  # LONG 1, SHORT -1, HOLD 0
    action_raw: NDArray[np.float64]
    confidence: NDArray[np.float64]
    reward: NDArray[np.float64]
    latency_ms: NDArray[np.float64]
    features: dict[str, NDArray[np.float64]] = field(default_factory=dict)  # only when asked

    def __len__(self) -> int:
        return int(self.time.size)

    def take(self, index: slice | NDArray[Any]) -> Self:
        """The rows selected by ``index`` (a slice, mask or positions)."""
        columns = {
            f.name: getattr(self, f.name)[index] for f in fields(self) if f.name != "features"
        }
        features = {name: values[index] for name, values in self.features.items()}
        return type(self)(**columns, features=features)

    def by_model(self, count: int) -> list[slice]:
        """The slice of rows of each of the ``count`` requested models."""
        bounds = np.searchsorted(self.model, np.arange(count + 1))
        return [slice(int(a), int(b)) for a, b in pairwise(bounds)]


@dataclass(frozen=True, slots=True)
class Bars:
    """Bar closes ordered by (symbol, time)."""

    symbol: NDArray[np.int32]
    time: NDArray[np.datetime64]
    close: NDArray[np.float64]

    @classmethod
    def empty(cls) -> Bars:
        return cls(np.empty(0, np.int32), np.empty(0, "datetime64[us]"), np.empty(0))


@dataclass(frozen=True, slots=True)
class PredictionWindow:
    """The requested models' predictions in one time range, with the bars that resolve them."""

    predictions: Predictions
    bars: Bars
    versions: list[str]  # latest model_version of each model in the range; "" if it has no rows


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Predictions with their outcomes (docs/DEFINITIONS.md#actual-outcome-of-a-prediction)."""

    predictions: Predictions
    actual_return: NDArray[np.float64]  # 0 where pending
    actual_action: NDArray[np.int8]  # HOLD where pending
    resolved: NDArray[np.bool_]
    correct: NDArray[np.bool_]  # resolved and predicted == actual

    def take(self, index: slice | NDArray[Any]) -> Self:
        return type(self)(
            self.predictions.take(index),
            self.actual_return[index],
            self.actual_action[index],
            self.resolved[index],
            self.correct[index],
        )


@dataclass(frozen=True, slots=True)
class PredictionRow:
    """One inference row as stored (NULLs as None): a line of the history or comparison."""

    inference_id: int
    timestamp_utc: datetime
    model_version: str
    fold_id: int | None
    symbol: str
    symbol_hash: int
    action: str
    action_raw: float | None
    confidence: float | None
    close_price: float | None
    position_before: float | None
    position_after: float | None
    reward: float | None
    latency_ms: int | None


@dataclass(frozen=True, slots=True)
class ModelActivity:
    """What the health rules need to know about one model."""

    model_id: str
    model_version: str
    last_prediction: datetime
    predictions: int  # in the health window
    wins: int  # rewards > 0 in the health window
    realized: int  # rewards != 0 in the health window
    avg_latency_ms: float | None

    @property
    def win_rate(self) -> float:
        return float(safe_ratio(self.wins, self.realized))


@dataclass(frozen=True, slots=True)
class HourlyAggregates:
    """One row per clock hour with predictions, in hour order. NaN latency: none in the hour."""

    hour: NDArray[np.datetime64]
    predictions: NDArray[np.int32]
    wins: NDArray[np.int32]
    realized: NDArray[np.int32]
    rewarded: NDArray[np.int32]
    total_reward: NDArray[np.float64]
    avg_latency_ms: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VersionAggregates:
    """Reward and latency aggregates of one (model_id, model_version) over a window."""

    model_id: str
    model_version: str
    predictions: int
    wins: int  # rewards > 0
    realized: int  # rewards != 0
    rewarded: int  # non-NULL rewards
    avg_reward: float
    std_reward: float  # ddof 1; 0 with fewer than 2 rewards
    total_reward: float
    avg_latency_ms: float | None
    max_abs_reward: float
