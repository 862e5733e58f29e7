"""Change points and single-row anomalies of a model's signals (docs/DEFINITIONS.md#anomalies).

Three small detectors, their thresholds calibrated on stationary reference data
(``bench/anomalies.py --calibrate`` measures them):

- `TrimmedWindow`, for steps (confidence, latency, action_raw, hold_rate). Each segment (the
  window's start, or the first row of the last regime found) is standardized by the expanding
  mean and standard deviation of its earlier values, winsorized at 4 robust sd of its first
  ``warmup`` rows; the standardized value is clipped at ``clip`` sd. At every row, the sum of
  the last ``window`` values less the most extreme of them (on the side tested), over the sd of
  a sum of ``window - 1`` values under the segment's lag-1 autocorrelation, is tested against
  ``h``. The new regime starts at the row after the last one where a one-sided CUSUM on the
  alarm's side was 0 (the classic CUSUM onset estimate), and the search restarts there.
- `Cusum`, for the reward's slow reversal: a two-sided CUSUM on values standardized the same
  way, with the same onset estimate and restart.
- `RobustOutlier`: a row is an anomaly when it lies more than ``threshold`` sd beyond the 5-95 %
  band of its up to 58 neighbours (29 on each side, itself excluded), the sd estimated from the
  band's width, and its two neighbours do not lie out on the same side too (a lone row, not the
  start of a regime).

A lone outlier never becomes a change point: anomalies are left out of the change-point search,
the other rows prepared again on their own (not even the intraday profile keeps a trace of
them), and no alarm of the trimmed window rests on one row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from analytics._checks import as_datetime_array, as_float_array, as_int_array, check_same_length
from analytics.health import HealthAssessment

#: The signals checked, in this order.
SIGNALS: tuple[str, ...] = ("confidence", "latency_ms", "reward", "action_raw", "hold_rate")
#: Signals whose single rows are checked for anomalies (a HOLD is 0 or 1; a big reward is P&L,
#: not a fault).
ANOMALY_SIGNALS: tuple[str, ...] = ("confidence", "latency_ms", "action_raw")
#: The (0.95 - 0.05) quantile spread of a normal distribution, in sd.
_BAND_SD = 3.289707253902945
_MAD_SD = 1.482602218505602


def _standardized(
    x: NDArray[np.float64], warmup: int, clip: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rows ``warmup`` .. end of ``x`` standardized by the segment's earlier values, clipped at
    ``clip``, and the lag-1 autocorrelation of those earlier values (in [0, 0.9]).

    The values are winsorized at 4 robust sd (median, MAD) of the first ``warmup`` rows, then
    row t is centred and scaled by the mean and sd (ddof 1) of the winsorized rows before it."""
    m = warmup
    reference = x[:m]
    center = float(np.median(reference))
    scale = _MAD_SD * float(np.median(np.abs(reference - center)))
    if scale == 0.0:
        scale = float(np.std(reference))
    if scale == 0.0:
        scale = max(abs(center), 1.0) * 1e-9
    # Centred before the running sums: a constant signal then gives z = 0 exactly, not the
    # rounding error of a long cumsum divided by a vanishing sd.
    w = np.clip(x - center, -4.0 * scale, 4.0 * scale)
    # Expanding mean, variance (ddof 1) and lag-1 autocovariance of w[:t], for t = m .. len - 1.
    count = np.arange(m, x.size, dtype=np.float64)
    total = np.cumsum(w)[m - 1 : -1]
    squares = np.cumsum(w * w)[m - 1 : -1]
    lagged = np.cumsum(np.r_[0.0, w[1:] * w[:-1]])[m - 1 : -1]
    mean = total / count
    var = np.maximum(squares - count * mean * mean, 0.0) / (count - 1.0)
    sd = np.maximum(np.sqrt(var), scale * 1e-3)
    z = np.clip((w[m:] - mean) / sd, -clip, clip)
    autocovariance = lagged / (count - 1.0) - mean * mean
    rho = np.clip(autocovariance / (sd * sd), 0.0, 0.9)
    return z, rho


def _sum_sd(n: int, rho: NDArray[np.float64]) -> NDArray[np.float64]:
    """The sd of a sum of ``n`` consecutive unit-variance AR(1) values of autocorrelation
    ``rho``: sqrt(n (1 + 2 sum_j (1 - j/n) rho^j)), j = 1 .. n - 1."""
    variance = np.full(rho.shape, float(n))
    for j in range(1, n):
        variance += 2.0 * (n - j) * rho**j
    result: NDArray[np.float64] = np.sqrt(variance)
    return result


@dataclass(frozen=True, slots=True)
class TrimmedWindow:
    """A step test on the last ``window`` standardized values with the most extreme one left out.

    Each row is standardized by its segment's earlier values (see `_standardized`). At every row
    the sum of the last ``window`` values, less the largest of them (for a rise; the smallest for
    a fall), is divided by the sd of a sum of ``window - 1`` values under the segment's lag-1
    autocorrelation; the alarm fires when either side exceeds ``h``. A single row therefore never
    fires it: without its most extreme row the window still has to show the shift. The new regime
    starts at the row after the last one where a one-sided CUSUM (reference value ``k``, on the
    alarm's side) was 0, at least one row before the alarm; the search restarts there.
    """

    name: str
    h: float
    window: int = 6
    k: float = 1.25
    warmup: int = 40
    clip: float = 3.0

    def alarms(self, values: NDArray[np.float64]) -> list[tuple[int, int]]:
        """(onset, alarm) row positions of every change found in ``values`` (finite), in order."""
        return _restarting(self._first_alarm, values, self.warmup)

    def with_threshold(self, h: float) -> TrimmedWindow:
        """The same detector with the alarm threshold ``h``."""
        return replace(self, h=h)

    def statistic(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(rise, fall) at every row from ``warmup + window - 1`` on: the trimmed window sums."""
        z, rho = _standardized(x, self.warmup, self.clip)
        return self._sums(z, rho)

    def _sums(
        self, z: NDArray[np.float64], rho: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n = self.window
        if z.size < n:
            return np.empty(0), np.empty(0)
        # The window's sum, largest and smallest value from n shifted copies: faster than
        # reducing a (rows, n) view along its short axis.
        total, top, bottom = z[n - 1 :].copy(), z[n - 1 :].copy(), z[n - 1 :].copy()
        for lag in range(1, n):
            earlier = z[n - 1 - lag : z.size - lag]
            total += earlier
            np.maximum(top, earlier, out=top)
            np.minimum(bottom, earlier, out=bottom)
        sd = _sum_sd(n - 1, rho[n - 1 :])
        rise: NDArray[np.float64] = (total - top) / sd
        fall: NDArray[np.float64] = (bottom - total) / sd
        return rise, fall

    def _first_alarm(self, x: NDArray[np.float64]) -> tuple[int, int] | None:
        z, rho = _standardized(x, self.warmup, self.clip)
        rise, fall = self._sums(z, rho)
        over = (rise > self.h) | (fall > self.h)
        if not over.any():
            return None
        first = int(np.argmax(over))
        alarm = first + self.window - 1  # among the standardized rows
        side = _cusum((z[: alarm + 1] if rise[first] > self.h else -z[: alarm + 1]) - self.k)
        zeros = np.flatnonzero(side[:alarm] <= 0.0)
        onset = min(int(zeros[-1]) + 1 if zeros.size else 0, alarm - 1)
        return self.warmup + onset, self.warmup + alarm


@dataclass(frozen=True, slots=True)
class Cusum:
    """Two-sided CUSUM on values standardized by their segment (see the module docstring).

    ``k`` is half the shift (in sd) it is tuned for, ``h`` the alarm threshold.
    """

    name: str
    k: float
    h: float
    warmup: int = 40
    clip: float = 3.0

    def alarms(self, values: NDArray[np.float64]) -> list[tuple[int, int]]:
        """(onset, alarm) row positions of every change found in ``values`` (finite), in order."""
        return _restarting(self._first_alarm, values, self.warmup)

    def with_threshold(self, h: float) -> Cusum:
        """The same detector with the alarm threshold ``h``."""
        return replace(self, h=h)

    def _first_alarm(self, x: NDArray[np.float64]) -> tuple[int, int] | None:
        m = self.warmup
        z, _ = _standardized(x, m, self.clip)
        up = _cusum(z - self.k)
        down = _cusum(-z - self.k)
        over = (up > self.h) | (down > self.h)
        if not over.any():
            return None
        alarm = int(np.argmax(over))
        side = up if up[alarm] > self.h else down
        zeros = np.flatnonzero(side[:alarm] <= 0.0)
        onset = int(zeros[-1]) + 1 if zeros.size else 0
        return m + onset, m + alarm


def _restarting(
    first_alarm: Callable[[NDArray[np.float64]], tuple[int, int] | None],
    values: NDArray[np.float64],
    warmup: int,
) -> list[tuple[int, int]]:
    """Every (onset, alarm) of ``first_alarm``, the search restarting at each onset."""
    found: list[tuple[int, int]] = []
    start = 0
    while values.size - start > warmup:
        hit = first_alarm(values[start:])
        if hit is None:
            break
        onset, alarm = hit
        found.append((start + onset, start + alarm))
        start += onset
    return found


def _cusum(steps: NDArray[np.float64]) -> NDArray[np.float64]:
    """S_t = max(0, S_(t-1) + steps_t) from S = 0, without a Python loop."""
    c = np.cumsum(steps)
    return c - np.minimum(np.minimum.accumulate(c), 0.0)


@dataclass(frozen=True, slots=True)
class RobustOutlier:
    """Lone rows beyond their neighbours' 5-95 % band by more than ``threshold`` sd."""

    name: str = "robust_band"
    threshold: float = 2.0
    half_window: int = 29
    min_neighbours: int = 20

    def scores(
        self, values: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(score, expected) per row: the signed distance beyond the neighbours' band in sd
        (0 inside it; NaN with too few neighbours) and the neighbours' median."""
        n, h = values.size, self.half_window
        padded = np.concatenate([np.full(h, np.nan), values, np.full(h, np.nan)])
        around = sliding_window_view(padded, 2 * h + 1)  # a view: no copy yet
        ordered = np.concatenate([around[:, :h], around[:, h + 1 :]], axis=1)  # itself left out
        ordered.sort(axis=1)  # in place, NaN last
        counts = np.sum(~np.isnan(ordered), axis=1)
        usable = counts >= self.min_neighbours
        last = np.maximum(counts - 1, 0)
        rows = np.arange(n)

        def quantile(q: float) -> NDArray[np.float64]:
            position = q * last
            below = np.floor(position).astype(np.int64)
            above = np.minimum(below + 1, last)
            frac = position - below
            result: NDArray[np.float64] = (1.0 - frac) * ordered[rows, below] + frac * ordered[
                rows, above
            ]
            return result

        low, high, median = quantile(0.05), quantile(0.95), quantile(0.5)
        sd = (high - low) / _BAND_SD
        excess = np.where(values > high, values - high, np.where(values < low, values - low, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(
                sd > 0, excess / sd, np.where(excess != 0, np.sign(excess) * np.inf, 0)
            )
        score = np.where(usable, score, np.nan)
        return score, np.where(usable, median, np.nan)

    def expected(self, values: NDArray[np.float64], row: int) -> float:
        """The median of ``row``'s neighbours (the ``expected`` of :meth:`scores`), for the few
        rows that are anomalies only."""
        h = self.half_window
        around = np.concatenate([values[max(row - h, 0) : row], values[row + 1 : row + h + 1]])
        return float(np.median(around))

    def lone(self, score: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Rows beyond the threshold whose neighbours are, on the same side, neither beyond half
        of it nor beyond half of the row's own score: a row far out stays lone next to a
        moderately high neighbour, while the rows of a new regime lie out together."""
        s = np.nan_to_num(score, nan=0.0, posinf=1e300, neginf=-1e300)
        out = np.abs(s) > self.threshold
        half = np.maximum(self.threshold / 2.0, np.abs(s) / 2.0)
        before = np.concatenate([[0.0], s[:-1]])
        after = np.concatenate([s[1:], [0.0]])
        same_before = np.where(s > 0, before > half, before < -half)
        same_after = np.where(s > 0, after > half, after < -half)
        flagged: NDArray[np.bool_] = out & ~same_before & ~same_after
        return flagged


class Detector(Protocol):
    """A change-point detector: its name and the (onset, alarm) rows of the changes it finds."""

    @property
    def name(self) -> str: ...

    @property
    def h(self) -> float: ...  # the alarm threshold

    def alarms(self, values: NDArray[np.float64]) -> list[tuple[int, int]]: ...

    def with_threshold(self, h: float) -> Detector: ...


#: The change-point detector of each signal: the trimmed 6-row window for steps (confidence,
#: latency, action_raw, hold_rate), a CUSUM tuned to a slow reversal of the mean (k = 0.25) for
#: the reward. Thresholds and their calibration: docs/DEFINITIONS.md#anomalies.
DETECTORS: dict[str, Detector] = {
    "confidence": TrimmedWindow("trimmed_window", h=2.95),
    "latency_ms": TrimmedWindow("trimmed_window", h=2.95),
    "reward": Cusum("cusum", k=0.25, h=14.5),
    "action_raw": TrimmedWindow("trimmed_window", h=3.35),
    "hold_rate": TrimmedWindow("trimmed_window", h=3.6),
}
OUTLIERS = RobustOutlier()


#: Fewest rows at each 5-minute time of day for the intraday profile to be taken out.
PROFILE_MIN_DAYS = 5
_SLOT = np.timedelta64(5, "m")
_DAY = np.timedelta64(1, "D")


def intraday_profile(
    time: NDArray[np.datetime64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each row's intraday level: the median of the values at its 5-minute time of day (and
    the two slots on each side) minus the overall median; 0 everywhere unless every time of day
    seen has at least PROFILE_MIN_DAYS rows. One grouped median, without a loop over the slots:
    the rows sorted by slot, each slot's neighbourhood is a contiguous run of them."""
    slot = ((time - time.astype("datetime64[D]")) // _SLOT).astype(np.int64)
    seen, inverse, counts = np.unique(slot, return_inverse=True, return_counts=True)
    if values.size == 0 or counts.min() < PROFILE_MIN_DAYS:
        return np.zeros(values.size)
    order = np.argsort(slot, kind="stable")
    by_slot, ranked = slot[order], values[order]
    lo = np.searchsorted(by_slot, seen - 2, side="left")
    hi = np.searchsorted(by_slot, seen + 2, side="right")
    size = hi - lo
    offsets = np.arange(int(size.max()))
    take = lo[:, None] + offsets[None, :]
    runs = np.where(
        offsets[None, :] < size[:, None], ranked[np.minimum(take, values.size - 1)], np.inf
    )
    runs.sort(axis=1)  # each slot's values first, the padding (inf) last
    rows = np.arange(seen.size)
    median = (runs[rows, (size - 1) // 2] + runs[rows, size // 2]) / 2.0
    level = median - float(np.median(values))
    profile: NDArray[np.float64] = level[inverse]
    return profile


def prepared(
    signal: str, time: NDArray[np.datetime64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The values the detectors see: latency on a log scale; the intraday profile taken out of
    the signals that have one (not the HOLD indicator, nor the reward)."""
    work = np.log1p(np.maximum(values, 0.0)) if signal == "latency_ms" else values
    if signal in ANOMALY_SIGNALS:
        work = work - intraday_profile(time, work)
    return work


@dataclass(frozen=True, slots=True)
class Screened:
    """One signal's finite values made ready for the detectors."""

    score: NDArray[np.float64]  # the robust band's score of each row (0 where it does not check)
    lone: NDArray[np.bool_]  # rows that are anomalies
    kept: NDArray[np.intp]  # the rows the change-point search reads: all but the anomalies
    clean: NDArray[np.float64]  # those rows `prepared` on their own, as if the others were absent


def screened(signal: str, time: NDArray[np.datetime64], values: NDArray[np.float64]) -> Screened:
    """``values`` (finite, in time order) prepared and their lone anomalies found; then, for the
    change-point search, the rows that are not anomalies prepared again on their own (the
    intraday profile among them): an anomaly leaves no trace in what that search reads."""
    work = prepared(signal, time, values)
    if signal not in ANOMALY_SIGNALS:
        every = np.arange(work.size)
        return Screened(np.zeros(work.size), np.zeros(work.size, dtype=np.bool_), every, work)
    score, _ = OUTLIERS.scores(work)
    lone = OUTLIERS.lone(score)
    if not lone.any():
        return Screened(score, lone, np.arange(work.size), work)
    kept = np.flatnonzero(~lone)
    return Screened(score, lone, kept, prepared(signal, time[kept], values[kept]))


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """A new regime of one signal from row ``index`` (time ``at``) on."""

    signal: str
    index: int  # position among the rows given
    at: np.datetime64  # time of the first row of the new regime
    detected_at: np.datetime64  # time of the row at which the detector fired
    before_mean: float
    after_mean: float
    shift: float | None  # (after - before) / sd(before, ddof 1); None when that sd is 0
    detector: str


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One row far outside its signal's behaviour."""

    signal: str
    index: int
    timestamp: np.datetime64
    value: float
    expected: float
    score: float  # signed sd beyond the neighbours' 5-95 % band
    detector: str


@dataclass(frozen=True, slots=True)
class Detection:
    """Change points and anomalies of every signal, each in time order."""

    change_points: tuple[ChangePoint, ...]
    anomalies: tuple[Anomaly, ...]


def model_signals(
    action: NDArray[np.integer] | list[int],
    confidence: NDArray[np.float64] | list[float],
    latency_ms: NDArray[np.float64] | list[float],
    reward: NDArray[np.float64] | list[float],
    action_raw: NDArray[np.float64] | list[float],
) -> dict[str, NDArray[np.float64]]:
    """The signals of one model's rows (NaN where a row has none, e.g. an unsettled reward)."""
    codes = as_int_array(action, "action")
    columns = {
        "confidence": as_float_array(confidence, "confidence"),
        "latency_ms": as_float_array(latency_ms, "latency_ms"),
        "reward": as_float_array(reward, "reward"),
        "action_raw": as_float_array(action_raw, "action_raw"),
    }
    check_same_length(action=codes, **columns)
    return {**columns, "hold_rate": (codes == 0).astype(np.float64)}


def detect(
    time: NDArray[np.datetime64] | list[np.datetime64],
    signals: dict[str, NDArray[np.float64]],
    *,
    report_from: np.datetime64 | None = None,
) -> Detection:
    """Change points and anomalies of ``signals`` (rows in time order, NaN = no value).

    Rows before ``report_from`` serve as reference only: change points whose regime starts
    before it and anomalies before it are not reported.
    """
    times = as_datetime_array(time, "time")
    changes: list[ChangePoint] = []
    anomalies: list[Anomaly] = []
    for signal in SIGNALS:
        if signal not in signals:
            continue
        raw = as_float_array(signals[signal], signal)
        check_same_length(time=times, **{signal: raw})
        present = np.flatnonzero(np.isfinite(raw))
        if not present.size:
            continue
        values = raw[present]
        at = times[present]
        rows = screened(signal, at, values)
        anomalies.extend(
            Anomaly(
                signal,
                int(present[i]),
                at[i],
                float(values[i]),
                OUTLIERS.expected(values, int(i)),
                float(np.clip(rows.score[i], -1e9, 1e9)),
                OUTLIERS.name,
            )
            for i in np.flatnonzero(rows.lone)
        )
        detector = DETECTORS[signal]
        found = [(rows.kept[a], rows.kept[b]) for a, b in detector.alarms(rows.clean)]
        bounds = [0, *(onset for onset, _ in found), values.size]
        normal = ~rows.lone
        for j, (onset, alarm) in enumerate(found):
            before = values[bounds[j] : onset][normal[bounds[j] : onset]]
            after = values[onset : bounds[j + 2]][normal[onset : bounds[j + 2]]]
            sd = float(np.std(before, ddof=1)) if before.size > 1 else 0.0
            before_mean, after_mean = float(np.mean(before)), float(np.mean(after))
            changes.append(
                ChangePoint(
                    signal=signal,
                    index=int(present[onset]),
                    at=at[onset],
                    detected_at=at[alarm],
                    before_mean=before_mean,
                    after_mean=after_mean,
                    shift=(after_mean - before_mean) / sd if sd > 0 else None,
                    detector=detector.name,
                )
            )
    if report_from is not None:
        changes = [c for c in changes if c.at >= report_from]
        anomalies = [a for a in anomalies if a.timestamp >= report_from]
    changes.sort(key=lambda c: (c.at, SIGNALS.index(c.signal)))
    anomalies.sort(key=lambda a: (a.timestamp, SIGNALS.index(a.signal)))
    return Detection(tuple(changes), tuple(anomalies))


def change_point_issue(change: ChangePoint) -> str:
    """The health issue of a change point: its signal, where the new regime starts, its size.

    >>> c = ChangePoint("confidence", 7, np.datetime64("2026-03-02T15:35", "us"),
    ...                 np.datetime64("2026-03-02T15:45", "us"), 0.71, 0.42, -4.83,
    ...                 "trimmed_window")
    >>> change_point_issue(c)
    'change point: confidence shifted -4.8 sd (0.71 -> 0.42) from 2026-03-02T15:35Z'
    """
    size = "" if change.shift is None else f" {change.shift:+.1f} sd"
    moment = np.datetime_as_string(change.at, unit="m")
    return (
        f"change point: {change.signal} shifted{size}"
        f" ({change.before_mean:.4g} -> {change.after_mean:.4g}) from {moment}Z"
    )


def with_change_points(
    assessment: HealthAssessment, changes: Sequence[ChangePoint]
) -> HealthAssessment:
    """``assessment`` with a warning issue per change point (in time order) and a status of at
    least ``warning``; unchanged without one. The score is unchanged."""
    if not changes:
        return assessment
    status = "warning" if assessment.status == "healthy" else assessment.status
    issues = (*assessment.issues, *(change_point_issue(c) for c in changes))
    return replace(assessment, status=status, issues=issues)
