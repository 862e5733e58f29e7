"""The desk's own metrics, defined as data in CUSTOM_METRICS_FILE
(docs/DEFINITIONS.md#custom-metrics).

The file is YAML: ``metrics:``, a list of definitions. Each is checked against closed lists
(aggregates, columns, ops); nothing of the file ever reaches SQL: the columns it names are
fetched by their whitelisted names and the conditions and aggregates run in numpy
(analytics/custom.py). A bad file is refused with one line naming the file, the metric and the
problem; :class:`CustomMetrics` keeps the loaded definitions and swaps them on reload (SIGHUP)
only when the new file is good.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from analytics import ACTION_CODES, ACTION_LABELS, FEATURES
from analytics.custom import (
    AGGREGATES,
    OPS,
    ROW_AGGREGATES,
    custom_aggregate,
    holds,
    threshold_status,
)
from server.domain import Predictions

log = logging.getLogger(__name__)

#: Columns a metric may aggregate (``of``): the prediction's numbers and the features.
OF_FIELDS: tuple[str, ...] = (
    "reward",
    "confidence",
    "latency_ms",
    "action_raw",
    "position_change",
    *FEATURES,
)
#: Columns a condition may test: those of ``of``, the action and the hour in the market's zone.
WHERE_FIELDS: tuple[str, ...] = (*OF_FIELDS, "action", "hour_cot")
#: Columns fetched beyond the window's own (feature columns, and derived ones).
EXTRA_FIELDS: tuple[str, ...] = ("position_change", *FEATURES)
_KEYS = frozenset(
    {
        "name",
        "description",
        "aggregate",
        "of",
        "q",
        "where",
        "unit",
        "better",
        "warning",
        "critical",
    }
)
_ACTION_OPS = ("==", "!=", "in", "not_in")
_CODES = dict(zip(ACTION_LABELS, ACTION_CODES, strict=True))


class CustomMetricsError(ValueError):
    """A custom metrics file the service cannot use; the message is one line."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: float | tuple[float, ...]  # the action as its code
    text: Any  # as written in the file, echoed by the definitions


@dataclass(frozen=True, slots=True)
class CustomMetric:
    """One definition, checked."""

    name: str
    description: str
    aggregate: str
    of: str  # "" for count and rate without one
    q: float | None
    where: tuple[Condition, ...]
    unit: str
    better: str  # "higher", "lower" or ""
    warning: float | None
    critical: float | None

    @property
    def columns(self) -> frozenset[str]:
        """Every column this metric reads."""
        return frozenset({self.of} - {""}) | {c.field for c in self.where}


@dataclass(frozen=True, slots=True)
class CustomValue:
    """A custom metric over one window's rows."""

    metric: CustomMetric
    value: float | None
    rows: int  # rows where every condition holds

    @property
    def status(self) -> str:
        """ok, warning, critical (the thresholds read with better) or undefined."""
        m = self.metric
        return threshold_status(self.value, m.better, m.warning, m.critical)

    @property
    def breached(self) -> bool:
        """Whether a threshold is breached (a warning or critical health issue)."""
        return self.status in ("warning", "critical")


def breach_text(value: CustomValue) -> str:
    """The health issue of a breached threshold, e.g. ``confident_win_rate 0.47 below warning
    0.5``."""
    m = value.metric
    threshold = m.critical if value.status == "critical" else m.warning
    side = "below" if m.better == "higher" else "above"
    return f"custom metric {m.name} {value.value:.4g} {side} {value.status} {threshold:g}"


def parse(text: str, source: str) -> tuple[CustomMetric, ...]:
    """The definitions of a file's ``text``; CustomMetricsError (one line) if any is bad."""
    import yaml  # noqa: PLC0415  # deferred: only servers with a file pay for it

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "cannot be parsed"
        raise CustomMetricsError(f"{source}: invalid YAML{where}: {problem}") from None
    if document is None:
        return ()
    if not isinstance(document, dict) or set(document) != {"metrics"}:
        raise CustomMetricsError(f"{source}: the file must be a mapping with one key, metrics")
    entries = document["metrics"] or []
    if not isinstance(entries, list):
        raise CustomMetricsError(f"{source}: metrics must be a list of definitions")
    found: list[CustomMetric] = []
    for position, entry in enumerate(entries, 1):
        label = (
            entry.get("name") if isinstance(entry, dict) and entry.get("name") else f"#{position}"
        )
        try:
            metric = _metric(entry)
        except ValueError as error:
            raise CustomMetricsError(f"{source}: metric {label}: {error}") from None
        if any(m.name == metric.name for m in found):
            raise CustomMetricsError(f"{source}: metric {metric.name}: duplicate name")
        found.append(metric)
    return tuple(found)


def load(path: str) -> tuple[CustomMetric, ...]:
    """The definitions in the file at ``path`` (none for an empty path)."""
    if not path:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CustomMetricsError(f"{path}: cannot be read: {reason}") from None
    return parse(text, path)


def _metric(entry: object) -> CustomMetric:
    if not isinstance(entry, dict):
        raise ValueError("a definition must be a mapping")
    unknown = sorted(str(k) for k in set(entry) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; known: {', '.join(sorted(_KEYS))}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"name must be snake_case (got {name!r})")
    aggregate = entry.get("aggregate")
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}; known: {', '.join(AGGREGATES)}")
    of = entry.get("of")
    if of is None:
        if aggregate not in ROW_AGGREGATES:
            raise ValueError(f"missing of (the column {aggregate} is over)")
        of = ""
    elif of not in OF_FIELDS:
        raise ValueError(f"unknown field {of!r} in of; known: {', '.join(OF_FIELDS)}")
    q = entry.get("q")
    if aggregate == "quantile":
        if not isinstance(q, int | float) or not _number(q) or not 0.0 < float(q) < 1.0:
            raise ValueError(f"bad q {q!r}: quantile needs a number 0 < q < 1")
        q = float(q)
    elif q is not None:
        raise ValueError(f"bad q {q!r}: q is for the quantile aggregate only")
    where = entry.get("where") or []
    if not isinstance(where, list):
        raise ValueError("where must be a list of {field, op, value}")
    better = entry.get("better") or ""
    if better not in ("", "higher", "lower"):
        raise ValueError(f"better must be higher or lower (got {better!r})")
    warning, critical = entry.get("warning"), entry.get("critical")
    for key, threshold in (("warning", warning), ("critical", critical)):
        if threshold is not None and not _number(threshold):
            raise ValueError(f"{key} must be a number (got {threshold!r})")
    if (warning is not None or critical is not None) and not better:
        raise ValueError("warning and critical need better (higher or lower)")
    if (
        isinstance(warning, int | float)
        and isinstance(critical, int | float)
        and (
            (better == "higher" and critical > warning)
            or (better == "lower" and critical < warning)
        )
    ):
        raise ValueError(f"critical ({critical}) is on the good side of warning ({warning})")
    for key in ("description", "unit"):
        if not isinstance(entry.get(key, ""), str):
            raise ValueError(f"{key} must be text")
    return CustomMetric(
        name=name,
        description=entry.get("description", ""),
        aggregate=aggregate,
        of=of,
        q=q,
        where=tuple(_condition(c) for c in where),
        unit=entry.get("unit", ""),
        better=better,
        warning=float(warning) if isinstance(warning, int | float) else None,
        critical=float(critical) if isinstance(critical, int | float) else None,
    )


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _condition(entry: object) -> Condition:
    if not isinstance(entry, dict) or set(entry) != {"field", "op", "value"}:
        raise ValueError("a where condition must be {field, op, value}")
    field, op, text = entry["field"], entry["op"], entry["value"]
    if field not in WHERE_FIELDS:
        raise ValueError(f"unknown field {field!r} in where; known: {', '.join(WHERE_FIELDS)}")
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; known: {', '.join(OPS)}")
    if field == "action" and op not in _ACTION_OPS:
        raise ValueError(f"op {op!r} does not apply to action; use {', '.join(_ACTION_OPS)}")
    listed = op in ("in", "not_in")
    if listed != isinstance(text, list):
        needs = "a list of values" if listed else "one value"
        raise ValueError(f"op {op!r} on {field} needs {needs} (got {text!r})")
    values = text if listed else [text]
    if field == "action":
        if not all(v in _CODES for v in values):
            raise ValueError(f"action values are {', '.join(ACTION_LABELS)} (got {text!r})")
        codes = tuple(float(_CODES[v]) for v in values)
    else:
        if not all(_number(v) for v in values):
            raise ValueError(f"{field} values must be numbers (got {text!r})")
        codes = tuple(float(v) for v in values)
    return Condition(field, op, codes if listed else codes[0], text)


# --- evaluation --------------------------------------------------------------------------------


def hours_in(zone: str, times: NDArray[np.datetime64]) -> NDArray[np.float64]:
    """The hour (0..23) of each UTC instant on the wall clock of ``zone``."""
    if times.size == 0:
        return np.empty(0)
    hours = times.astype("datetime64[h]")
    unique, index = np.unique(hours, return_inverse=True)
    tz = ZoneInfo(zone)
    local = np.array(
        [
            datetime.fromtimestamp(int(h.astype(np.int64)) * 3600, UTC).astimezone(tz).hour
            for h in unique
        ],
        dtype=np.float64,
    )
    return local[index]


def columns_of(
    predictions: Predictions, zone: str, needed: frozenset[str]
) -> dict[str, NDArray[np.float64]]:
    """The columns conditions and aggregates read, as floats (NaN: NULL)."""
    out: dict[str, NDArray[np.float64]] = {}
    for name in needed:
        if name == "hour_cot":
            out[name] = hours_in(zone, predictions.time)
        elif name == "action":
            out[name] = predictions.action.astype(np.float64)
        elif name in ("reward", "confidence", "latency_ms", "action_raw"):
            out[name] = getattr(predictions, name)
        else:
            out[name] = predictions.features[name]
    return out


def matching(
    metric: CustomMetric, columns: Mapping[str, NDArray[np.float64]], size: int
) -> NDArray[np.bool_]:
    """The rows where every condition of ``metric`` holds."""
    mask = np.ones(size, dtype=bool)
    for condition in metric.where:
        mask &= holds(columns[condition.field], condition.op, condition.value)
    return mask


def evaluate(
    metrics: Sequence[CustomMetric], predictions: Predictions, zone: str
) -> list[CustomValue]:
    """Every metric over the rows of one window (rows in time order)."""
    needed: set[str] = set()
    for metric in metrics:
        needed |= metric.columns
    columns = columns_of(predictions, zone, frozenset(needed))
    size = len(predictions)
    values = []
    for metric in metrics:
        mask = matching(metric, columns, size)
        rows = int(mask.sum())
        of = columns[metric.of][mask] if metric.of else np.empty(0)
        value = custom_aggregate(metric.aggregate, of, rows, size, metric.q)
        values.append(CustomValue(metric, value, rows))
    return values


def extra_columns(metrics: Sequence[CustomMetric]) -> tuple[str, ...]:
    """The feature and derived columns ``metrics`` read (fetched by their whitelisted names)."""
    needed: set[str] = set()
    for metric in metrics:
        needed |= metric.columns
    return tuple(name for name in EXTRA_FIELDS if name in needed)


# --- the loaded definitions --------------------------------------------------------------------


class CustomMetrics:
    """The definitions in force; :meth:`reload` replaces them only with a good file."""

    def __init__(
        self, path: str = "", zone: str = "America/Bogota", metrics: tuple[CustomMetric, ...] = ()
    ) -> None:
        self.path = path
        self.zone = zone
        self._metrics = metrics
        self._lock = threading.Lock()
        self.reloads = 0  # successful reloads
        self.failed_reloads = 0  # reloads refused (a bad file): the old definitions stayed

    @classmethod
    def from_file(cls, path: str, zone: str) -> CustomMetrics:
        """Load ``path`` (CustomMetricsError when bad); an empty path defines none."""
        return cls(path, zone, load(path))

    @property
    def metrics(self) -> tuple[CustomMetric, ...]:
        return self._metrics

    def get(self, name: str) -> CustomMetric | None:
        return next((m for m in self._metrics if m.name == name), None)

    def reload(self, changed: Callable[[], None] | None = None) -> str | None:
        """Read the file again; on a problem keep the definitions in force and return it.

        ``changed`` runs once the new definitions are in force, before the reload is counted
        (e.g. to drop cached answers of the old ones).
        """
        try:
            metrics = load(self.path)
        except CustomMetricsError as error:
            with self._lock:
                self.failed_reloads += 1
            log.error(
                "custom metrics not reloaded, keeping the %d in force: %s",
                len(self._metrics),
                error,
            )
            return str(error)
        with self._lock:
            self._metrics = metrics
        if changed is not None:
            changed()
        with self._lock:
            self.reloads += 1
        log.info("custom metrics reloaded from %s: %d defined", self.path, len(metrics))
        return None

    def __repr__(self) -> str:
        return f"CustomMetrics({self.path!r}, {len(self._metrics)} defined)"
