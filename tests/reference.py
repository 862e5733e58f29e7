"""Independent reference computations for the integration tests: plain loops, scikit-learn, scipy.

Nothing here uses ``analytics``'s computations: these are the numbers the service must agree
with.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

LABELS = ["LONG", "SHORT", "HOLD"]
IDEAL = {"LONG": 1.0, "SHORT": -1.0, "HOLD": 0.0}
PERIODS_PER_YEAR = 14868


@dataclass(frozen=True)
class Outcome:
    actual_return: float
    actual_action: str


def outcome(
    t: datetime, bars: list[tuple[datetime, float]], end: datetime, band: float = 0.0002
) -> Outcome | None:
    """p0 = latest bar <= t, p1 = first bar > t (and <= end); None while pending."""
    times = [b[0] for b in bars]
    i = bisect.bisect_right(times, t)
    if i == 0 or i == len(bars) or bars[i][0] > end:
        return None
    r = math.log(bars[i][1] / bars[i - 1][1])
    action = "LONG" if r > band else "SHORT" if r < -band else "HOLD"
    return Outcome(r, action)


@dataclass(frozen=True)
class Classification:
    accuracy: float
    precision: float
    recall: float
    f1: float
    per_class: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support
    confusion: list[list[int]]  # [predicted][actual]
    mse: float
    mae: float


def classification(predicted: list[str], actual: list[str], raw: list[float]) -> Classification:
    """sklearn's numbers for resolved predictions."""
    labels = [label for label in LABELS if label in set(predicted) | set(actual)]
    p, r, f, _ = precision_recall_fscore_support(
        actual, predicted, labels=labels, average="macro", zero_division=0
    )
    per_p, per_r, per_f, support = precision_recall_fscore_support(
        actual, predicted, labels=LABELS, average=None, zero_division=0
    )
    ideal = np.array([IDEAL[a] for a in actual])
    err = np.array(raw) - ideal
    return Classification(
        accuracy=float(accuracy_score(actual, predicted)),
        precision=float(p),
        recall=float(r),
        f1=float(f),
        per_class={
            label: (float(per_p[k]), float(per_r[k]), float(per_f[k]), int(support[k]))
            for k, label in enumerate(LABELS)
        },
        # sklearn is [actual][predicted]; the service reports [predicted][actual].
        confusion=confusion_matrix(actual, predicted, labels=LABELS).T.tolist(),
        mse=float(np.mean(err**2)),
        mae=float(np.mean(np.abs(err))),
    )


@dataclass(frozen=True)
class Trading:
    total: float
    mean: float
    std: float
    sharpe: float
    sortino: float
    win_rate: float
    profit_factor: float | None
    max_drawdown: float


def trading(rewards: list[float]) -> Trading:
    """Return statistics by docs/DEFINITIONS.md#trading-metrics, one loop at a time."""
    n = len(rewards)
    mean = sum(rewards) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (n - 1))
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in rewards) / n)
    gains = sum(r for r in rewards if r > 0)
    losses = -sum(r for r in rewards if r < 0)
    realized = [r for r in rewards if r != 0]
    peak = equity = drawdown = 0.0
    for r in rewards:
        equity += r
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    return Trading(
        total=sum(rewards),
        mean=mean,
        std=std,
        sharpe=mean / std * math.sqrt(PERIODS_PER_YEAR),
        sortino=mean / downside * math.sqrt(PERIODS_PER_YEAR),
        win_rate=sum(r > 0 for r in realized) / len(realized),
        profit_factor=gains / losses if losses else None,
        max_drawdown=drawdown,
    )


# --- risk, A/B and calibration -------------------------------------------------------------------


def risk(rewards: list[float]) -> dict[str, float | None]:
    """The risk metrics by docs/DEFINITIONS.md#risk-metrics, from numpy's quantile and scipy's
    moments (the service computes its moments itself); None where undefined."""
    if not rewards:
        return dict.fromkeys(("calmar_ratio", "var_95", "cvar_95", "tail_ratio", "psr"))
    r = np.array(rewards)
    q05, q95 = float(np.quantile(r, 0.05)), float(np.quantile(r, 0.95))
    peak = equity = drawdown = 0.0
    for reward in rewards:
        equity += reward
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    psr = None
    if r.size >= 3 and r.std() > 0:
        sr = r.mean() / r.std(ddof=1)
        g3 = stats.skew(r)
        g4 = stats.kurtosis(r, fisher=False)
        radicand = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
        if radicand > 0:
            psr = float(stats.norm.cdf(sr * math.sqrt(r.size - 1) / math.sqrt(radicand)))
    return {
        "calmar_ratio": float(r.mean()) * PERIODS_PER_YEAR / drawdown if drawdown else None,
        "var_95": -q05 + 0.0,
        "cvar_95": -float(np.mean(r[r <= q05])),
        "tail_ratio": abs(q95) / abs(q05) if q05 else None,
        "psr": psr,
    }


def per_bar(rows: list[tuple[datetime, float | None]]) -> dict[int, float]:
    """The rewards summed per 5-minute bar (keyed by the bar's number since the epoch); a row
    without a reward (pending) is in no bar."""
    bars: dict[int, float] = {}
    for at, reward in rows:
        if reward is not None:
            bar = int(at.timestamp()) // 300
            bars[bar] = bars.get(bar, 0.0) + reward
    return bars


@dataclass(frozen=True)
class Paired:
    common_bars: int
    differences: list[float]
    mean: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    verdict: str


def paired(
    rows_a: list[tuple[datetime, float | None]], rows_b: list[tuple[datetime, float | None]]
) -> Paired:
    """The A/B comparison of docs/DEFINITIONS.md#model-ab with dicts and scipy's t-test."""
    a, b = per_bar(rows_a), per_bar(rows_b)
    d = [a[bar] - b[bar] for bar in sorted(a.keys() & b.keys())]
    n = len(d)
    mean = float(np.mean(d)) if d else None
    ci = p = None
    if n >= 2:
        half = stats.t.ppf(0.975, n - 1) * np.std(d, ddof=1) / math.sqrt(n)
        ci = (float(np.mean(d) - half), float(np.mean(d) + half))
        p = float(stats.ttest_1samp(d, 0.0).pvalue)
    if n < 30:
        verdict = "insufficient_data"
    elif p is not None and p < 0.05:
        verdict = "model_a" if np.mean(d) > 0 else "model_b"
    else:
        verdict = "no_significant_difference"
    return Paired(n, d, mean, ci, p, verdict)
