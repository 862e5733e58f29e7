"""Deterministic demo data: 5-minute USD/COP bars and the inference log of five model stories.

Every value is a pure function of the bar's slot number (its Unix time / 300 s) and the market
calendar, so data generated in several top-ups is identical to data generated at once, and
re-running changes nothing. Bars and inferences exist only for slots that start inside a session
(by default the USD/COP session: Monday to Friday 08:00-12:55 in Bogota, no Colombian holidays;
with the ``always`` calendar, every slot). The price is a walk over every slot, so the first bar
of a session opens where the market moved to overnight.

The stories, as seen at the end of the data (the moment of seeding, or the last close before it
when the market is closed then):

========================  ================================================================
``ppo_lstm_v3.2``         good: right more often than not, fast; version 3.2.1 since 10 days,
                          and a canary 3.3.0 beside it for the last 3 sessions
``a2c_conservative_v1.4`` weak: a coin flip, and slow-ish at ~120 ms (warning)
``sac_transformer_v2.1``  its feature pipeline broke 26 h ago (just over a trading day, so the
                          default 24 h drift window holds only broken rows at any hour of the
                          week): six macro features shifted and its accuracy fell with them
                          (drift critical, a warning in health)
``dqn_legacy_v0.9``       went silent 3 hours of market time ago, during a session (critical)
``td3_ensemble_v1.0``     decent calls, but ~240 ms per inference (critical); version 1.0.3,
                          deployed 2 sessions ago, calls worse (rollback)
========================  ================================================================

And mid-session today (2.5 hours of market time before the end of the data) the confidence of
``sac_transformer_v2.1`` collapses to ~0.25: a change point, in its health and in
GET /api/anomalies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analytics import FEATURES, MarketCalendar

SLOT_SECONDS = 300
SYMBOL = "USD/COP"
START_PRICE = 4150.0  # the close of ANCHOR_SLOT
ANCHOR_SLOT = 1_735_689_600 // 300  # 2025-01-01 00:00 UTC: prices are a walk from here
BAR_VOLATILITY = 0.0006  # std of the 5-minute log return
ACTIONS = np.array(["LONG", "SHORT", "HOLD"])
#: Bump when the generator changes: `make run` then replaces the demo data instead of topping it up.
DEMO_VERSION = 8
#: The market the demo follows unless told otherwise: the USD/COP session.
DEFAULT_CALENDAR = MarketCalendar()

_PRICE_STREAM = 1
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_SILVER = math.sqrt(2.0) - 1.0


@dataclass(frozen=True, slots=True)
class Story:
    """Something that starts ``ago`` (on the trading-day clock) before the end of the data and
    lasts."""

    ago: timedelta


@dataclass(frozen=True, slots=True)
class DemoModel:
    """One model's behaviour."""

    model_id: str
    stream: int  # distinct random stream per model
    # Share of the positions on the right side of the next bar: on ordinary bars (a move under
    # one bar volatility) and on big ones. Right on the small moves and caught by the big ones
    # makes a high win rate with a thin edge: an annualized Sharpe of 1 to 3, as real ones.
    right_small: float
    right_big: float
    hold: float = 0.2  # share of bars without a position
    latency_ms: float = 30.0
    version: str = "1.0.0"
    new_version: tuple[Story, str] | None = None  # (since, version)
    new_skill: tuple[float, float] | None = None  # (right_small, right_big) of the new version
    canary: tuple[Story, str, int] | None = None  # (since, version, stream): a second row per bar
    silent_for: timedelta | None = None  # of market time, before the seeding moment
    drift: Story | None = None  # features shift and the calls become a coin flip from then on
    # Of market time before the end of the data: the confidence falls to ~0.25 from then on.
    confidence_collapse: timedelta | None = None
    fold_id: int = 3


DEMO_MODELS: tuple[DemoModel, ...] = (
    DemoModel(
        "ppo_lstm_v3.2",
        stream=11,
        right_small=0.73,
        right_big=0.37,
        latency_ms=28,
        version="3.2.0",
        new_version=(Story(timedelta(days=10)), "3.2.1"),
        canary=(Story(timedelta(days=3)), "3.3.0", 16),
    ),
    DemoModel(
        "a2c_conservative_v1.4",
        stream=12,
        right_small=0.5,
        right_big=0.5,
        latency_ms=120,
        version="1.4.0",
    ),
    DemoModel(
        "sac_transformer_v2.1",
        stream=13,
        right_small=0.72,
        right_big=0.38,
        latency_ms=42,
        version="2.1.3",
        drift=Story(timedelta(hours=26)),
        confidence_collapse=timedelta(hours=2, minutes=30),
    ),
    DemoModel(
        "dqn_legacy_v0.9",
        stream=14,
        right_small=0.62,
        right_big=0.42,
        latency_ms=55,
        version="0.9.7",
        silent_for=timedelta(hours=3),
    ),
    DemoModel(
        "td3_ensemble_v1.0",
        stream=15,
        right_small=0.70,
        right_big=0.39,
        latency_ms=240,
        version="1.0.2",
        new_version=(Story(timedelta(days=2)), "1.0.3"),
        new_skill=(0.4, 0.15),  # wrong on most big moves
    ),
)


# --- deterministic randomness: a hash of (stream, slot), vectorized -----------------------------


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniform(stream: int, slots: NDArray[np.int64], salt: int = 0) -> NDArray[np.float64]:
    """Uniform [0, 1) numbers, a pure function of (stream, salt, slot)."""
    key = slots.astype(np.uint64) * np.uint64(1_000_003) + np.uint64(stream * 7919 + salt * 104729)
    return (_splitmix64(key) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def normal(stream: int, slots: NDArray[np.int64], salt: int = 0) -> NDArray[np.float64]:
    """Standard normal numbers (Box-Muller), a pure function of (stream, salt, slot)."""
    u1 = uniform(stream, slots, 2 * salt + 1)
    u2 = uniform(stream, slots, 2 * salt + 2)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def weyl(stream: int, slots: NDArray[np.int64], step: float = _GOLDEN) -> NDArray[np.float64]:
    """Evenly spread numbers in [0, 1): frac(slot x step + offset of the stream), step
    irrational. Any run of n consecutive slots has about n p of them below p (off by a few, not
    by sqrt(n)), so a model's share of right calls is what its story says in every window, even
    a day's."""
    offset = float(uniform(stream, np.array([0], dtype=np.int64), 99)[0])
    spread: NDArray[np.float64] = np.mod(slots.astype(np.float64) * step + offset, 1.0)
    return spread


def bar_returns(slots: NDArray[np.int64]) -> NDArray[np.float64]:
    """The log return of the bar of each slot: ln(close[slot] / close[slot - 1])."""
    return BAR_VOLATILITY * normal(_PRICE_STREAM, slots)


# --- bars --------------------------------------------------------------------------------------


def slot_of(moment: datetime) -> int:
    """The slot whose bar opens at or before ``moment``."""
    return int(moment.timestamp()) // SLOT_SECONDS


def slot_times(slots: NDArray[np.int64]) -> NDArray[np.datetime64]:
    return (slots * SLOT_SECONDS).astype("datetime64[s]").astype("datetime64[us]")


@dataclass(frozen=True, slots=True)
class Bars:
    """Columns of ``usdcop_m5_ohlcv`` rows."""

    slots: NDArray[np.int64]
    close: NDArray[np.float64]

    def columns(self) -> dict[str, NDArray[np.generic]]:
        spread = self.close * 0.0004 * uniform(_PRICE_STREAM, self.slots, 7)
        previous = self.close * np.exp(-bar_returns(self.slots))
        return {
            "time": slot_times(self.slots),
            "symbol": np.full(self.slots.size, SYMBOL),
            "open": np.round(previous, 6),
            "high": np.round(np.maximum(previous, self.close) + spread, 6),
            "low": np.round(np.minimum(previous, self.close) - spread, 6),
            "close": np.round(self.close, 6),
            "volume": (1_000 + 9_000 * uniform(_PRICE_STREAM, self.slots, 8)).astype(np.int64),
            "source": np.full(self.slots.size, "demo"),
        }


def close_prices(first_slot: int, last_slot: int) -> NDArray[np.float64]:
    """Closes of slots first..last: a random walk of the bar returns from ANCHOR_SLOT's close.

    A pure function of the slot, so every load of the demo data agrees on every price.
    """
    lo = min(first_slot, ANCHOR_SLOT)
    log_price = np.cumsum(bar_returns(np.arange(lo, last_slot + 1, dtype=np.int64)))
    if last_slot >= ANCHOR_SLOT:
        log_price -= log_price[ANCHOR_SLOT - lo]
    else:  # a range wholly before the anchor: walk back from it
        log_price -= log_price[-1] + bar_returns(np.arange(last_slot + 1, ANCHOR_SLOT + 1)).sum()
    return np.round(START_PRICE * np.exp(log_price[first_slot - lo :]), 6)


def bars(first_slot: int, last_slot: int, calendar: MarketCalendar) -> Bars:
    """Bars for the trading slots among first..last."""
    slots = trading_slots(first_slot, last_slot, calendar)
    return Bars(slots, close_prices(first_slot, last_slot)[slots - first_slot])


# --- the market calendar, slot by slot ---------------------------------------------------------


def check_calendar(calendar: MarketCalendar) -> None:
    """The demo's 5-minute bars need a session that opens and closes on the 5-minute grid."""
    session = calendar.session
    if session is not None and any(
        t.minute % 5 or t.second or t.microsecond for t in (session.open_time, session.close_time)
    ):
        raise ValueError(
            "the demo data needs MARKET_OPEN and MARKET_CLOSE on the 5-minute grid, got "
            f"{session.open_time:%H:%M}-{session.close_time:%H:%M}"
        )


def trading_slots(first_slot: int, last_slot: int, calendar: MarketCalendar) -> NDArray[np.int64]:
    """The slots among first..last whose bar starts inside a session."""
    slots = np.arange(first_slot, last_slot + 1, dtype=np.int64)
    return slots[calendar.is_open(slot_times(slots))]


def previous_trading_slot(slot: int, calendar: MarketCalendar) -> int:
    """The last trading slot before ``slot``: the one before it, or the last bar of a session."""
    if calendar.is_open(_slot_moment(slot - 1)):
        return slot - 1
    close = calendar.last_close(_slot_moment(slot))
    assert close is not None  # only `always` has none, and it is always open
    return slot_of(close) - 1


def next_trading_slot(slot: int, calendar: MarketCalendar) -> int:
    """The first trading slot after ``slot``: the one after it, or the first of a session."""
    if calendar.is_open(_slot_moment(slot + 1)):
        return slot + 1
    opens = calendar.next_open(_slot_moment(slot))
    assert opens is not None  # only `always` has none, and it is always open
    return slot_of(opens)


def data_end(now: datetime, calendar: MarketCalendar) -> datetime:
    """Where the data ends as of ``now``: now, or the last close when the market is closed."""
    if calendar.is_open(now):
        return now
    close = calendar.last_close(now)
    return now if close is None else close


def _slot_moment(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


# --- inference rows ----------------------------------------------------------------------------


#: The columns of ``dw.fact_rl_inference`` the generator writes, in the order it writes them.
INFERENCE_COLUMNS = (
    "timestamp_utc",
    "timestamp_cot",
    "model_id",
    "model_version",
    "fold_id",
    "symbol",
    "action_raw",
    "action_discretized",
    "confidence",
    *FEATURES,
    "close_price",
    "position_before",
    "position_after",
    "position_change",
    "reward",
    "cumulative_reward",
    "latency_ms",
    "metadata",
)


@dataclass
class InferenceBatch:
    """Columns of ``dw.fact_rl_inference`` rows for one model, in slot order."""

    columns: dict[str, NDArray[np.generic]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(next(iter(self.columns.values())).size) if self.columns else 0


def forward_returns(slots: NDArray[np.int64], following: NDArray[np.int64]) -> NDArray[np.float64]:
    """ln(close[following] / close[slot]): one bar's return, or the walk over a closed market.

    A gap's sum is exactly rounded (``math.fsum``), so it does not depend on the range loaded.
    """
    returns = bar_returns(following)
    for i in np.flatnonzero(following != slots + 1):
        returns[i] = math.fsum(bar_returns(np.arange(slots[i] + 1, following[i] + 1)))
    return returns


def _features(
    slots: NDArray[np.int64], drifted: NDArray[np.bool_]
) -> dict[str, NDArray[np.float64]]:
    """The 13 feature columns at ``slots``, the broken pipeline's where ``drifted``."""
    # Stationary features, independent from bar to bar, so that only the drift story drifts
    # (real multi-hour and daily features are autocorrelated, which a 24 h window exaggerates).
    log_ret_1h = 0.002 * normal(0, slots, 20)
    features = {
        "log_ret_5m": bar_returns(slots),
        "log_ret_1h": log_ret_1h,
        "log_ret_4h": 0.004 * normal(0, slots, 19),
        "rsi_9": np.clip(50 + 12 * normal(0, slots, 21), 0, 100),
        "atr_pct": 0.05 + 0.01 * np.abs(normal(0, slots, 22)),
        "adx_14": 20 + 6 * np.abs(normal(0, slots, 23)),
        "dxy_z": normal(0, slots, 24),
        "dxy_change_1d": 0.003 * normal(0, slots, 25),
        "vix_z": normal(0, slots, 26),
        "embi_z": normal(0, slots, 27),
        "brent_change_1d": 0.015 * normal(0, slots, 28),
        "rate_spread": 6.5 + 0.05 * normal(0, slots, 29),
        "usdmxn_ret_1h": 0.6 * log_ret_1h + 0.001 * normal(0, slots, 30),
    }
    # The broken pipeline: six macro features shifted or rescaled from the drift on.
    broken: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
        "vix_z": lambda v: v + 2.5,
        "embi_z": lambda v: 2.5 * v + 1.5,
        "dxy_z": lambda v: v + 2.0,
        "dxy_change_1d": lambda v: 3 * v + 0.01,
        "brent_change_1d": lambda v: v + 0.03,
        "rate_spread": lambda v: v + 0.3,
    }
    for name, shift in broken.items():
        features[name] = np.where(drifted, shift(features[name]), features[name])
    # The EMBI feed has gaps: about 2 % of the values are NULL.
    features["embi_z"] = np.where(uniform(0, slots, 31) < 0.02, np.nan, features["embi_z"])

    return features


def inferences(
    model: DemoModel,
    first_slot: int,
    last_slot: int,
    last_bar_slot: int,
    now: datetime,
    *,
    previous_cumulative: float,
    topping_up: bool,
    calendar: MarketCalendar,
) -> InferenceBatch:
    """The model's rows for the trading slots among first..last (each 2 s after its bar opens).

    A row's reward is known once the next trading bar exists (its slot <= last_bar_slot); until
    then it is NULL. A story that started ``ago`` applies to slots after ``data_end(now) - ago``,
    and, when topping up, to every new slot (it had started already when the earlier rows were
    written).
    """
    written = trading_slots(first_slot, last_slot, calendar)
    if not written.size:
        return InferenceBatch()
    # Regenerate the trading slot before the first, to know the position held coming in.
    slots = np.concatenate([[previous_trading_slot(int(written[0]), calendar)], written])
    following = np.concatenate([written, [next_trading_slot(int(written[-1]), calendar)]])
    times = slot_times(slots) + np.timedelta64(2, "s")
    s = model.stream
    end = data_end(now, calendar)

    def since(story: Story) -> NDArray[np.bool_]:
        # On the trading-day clock, as every window: "26 h ago" on a Monday at 08:20 is Friday's
        # 06:20, so the story shows in the windows that look at it, at any hour of the week.
        began = calendar.trading_window_start(end, story.ago)
        start = np.datetime64(began.astimezone(UTC).replace(tzinfo=None), "us")
        if topping_up:
            start = min(start, times[1])
        return times >= start

    drifted = since(model.drift) if model.drift else np.zeros(slots.size, dtype=bool)
    next_return = forward_returns(slots, following)
    big = np.abs(next_return) >= BAR_VOLATILITY
    renewed = since(model.new_version[0]) if model.new_version else None
    right_small, right_big = _skill(model, renewed)
    p_right = np.where(drifted, 0.5, np.where(big, right_big, right_small))
    right = weyl(s, slots) < p_right
    # Intraday models: flat over the close (no position on a session's last bar).
    holds = (weyl(s, slots, _SILVER) < model.hold) | (following != slots + 1)
    # LONG (0) when right about a rise or wrong about a fall, SHORT (1) otherwise, or HOLD (2).
    choice = np.where(holds, 2, np.where(right == (next_return > 0), 0, 1))
    strength = uniform(s, slots, 3)
    action_raw = np.select(
        [choice == 0, choice == 1],
        [0.3 + 0.7 * strength, -(0.3 + 0.7 * strength)],
        0.58 * (strength - 0.5),
    )
    confidence = np.clip(0.35 + 0.6 * np.abs(action_raw) + 0.05 * uniform(s, slots, 4), 0, 1)
    if model.confidence_collapse is not None:
        minutes = model.confidence_collapse / timedelta(minutes=1)
        began = calendar.market_window_start(end, minutes)  # market time, as silent_for
        start = np.datetime64(began.astimezone(UTC).replace(tzinfo=None), "us")
        collapsed = times >= (min(start, times[1]) if topping_up else start)
        confidence = np.where(collapsed, 0.2 + 0.1 * uniform(s, slots, 6), confidence)
    position = np.select([choice == 0, choice == 1], [1.0, -1.0], 0.0)
    resolved = following <= last_bar_slot
    reward = np.where(resolved, position * next_return, np.nan)
    latency = model.latency_ms * np.exp(0.25 * normal(s, slots, 5))

    version = np.full(slots.size, model.version, dtype=object)
    if model.new_version:
        story, new = model.new_version
        version[since(story)] = new

    features = _features(slots, drifted)
    cumulative = previous_cumulative + np.cumsum(np.nan_to_num(reward[1:]))
    keep = slice(1, None)
    columns: dict[str, NDArray[np.generic]] = {
        "timestamp_utc": times[keep],
        "timestamp_cot": times[keep],
        "model_id": np.full(slots.size - 1, model.model_id),
        "model_version": version[keep],
        "fold_id": np.full(slots.size - 1, model.fold_id, dtype=np.int64),
        "symbol": np.full(slots.size - 1, SYMBOL),
        "action_raw": np.round(action_raw[keep], 6),
        "action_discretized": ACTIONS[choice[keep]],
        "confidence": np.round(confidence[keep], 6),
        **{name: values[keep] for name, values in features.items()},
        "close_price": close_prices(int(written[0]), int(written[-1]))[written - written[0]],
        "position_before": position[:-1],
        "position_after": position[keep],
        "position_change": position[keep] - position[:-1],
        "reward": reward[keep],
        "cumulative_reward": np.where(resolved[keep], cumulative, np.nan),
        "latency_ms": np.round(latency[keep]).astype(np.int64),
        "metadata": np.full(slots.size - 1, json.dumps(demo_metadata(calendar))),
    }
    assert tuple(columns) == INFERENCE_COLUMNS
    if model.canary is None:
        return InferenceBatch(columns)
    story, canary_version, canary_stream = model.canary
    shadow = inferences(
        replace(model, stream=canary_stream, version=canary_version, new_version=None, canary=None),
        first_slot,
        last_slot,
        last_bar_slot,
        now,
        previous_cumulative=0.0,
        topping_up=topping_up,
        calendar=calendar,
    )
    return _with_canary(columns, shadow.columns, since(story)[keep])


def _skill(model: DemoModel, renewed: NDArray[np.bool_] | None) -> tuple[Any, Any]:
    """(right_small, right_big), per row where a new version with a skill of its own runs."""
    if renewed is None or model.new_skill is None:
        return model.right_small, model.right_big
    small, big = model.new_skill
    return np.where(renewed, small, model.right_small), np.where(renewed, big, model.right_big)


def _with_canary(
    columns: dict[str, NDArray[np.generic]],
    shadow: dict[str, NDArray[np.generic]],
    running: NDArray[np.bool_],
) -> InferenceBatch:
    """The current version's rows and, where ``running``, the canary's: the same model retrained
    with another seed, beside it. A canary row comes 1 s before the current version's (which
    stays the latest row of each bar) and keeps no running total."""
    moved: NDArray[np.generic] = shadow["timestamp_utc"].astype("datetime64[us]") - np.timedelta64(
        1, "s"
    )
    shadow = {**shadow, "timestamp_utc": moved, "timestamp_cot": moved}
    shadow["cumulative_reward"] = np.full(running.size, np.nan)
    merged = {
        name: np.concatenate([values, shadow[name][running]]) for name, values in columns.items()
    }
    order = np.argsort(merged["timestamp_utc"], kind="stable")
    return InferenceBatch({name: values[order] for name, values in merged.items()})


def demo_metadata(calendar: MarketCalendar) -> dict[str, object]:
    """The ``metadata`` of every demo row: the generator's version and the calendar it followed."""
    return {"source": "demo", "demo_version": DEMO_VERSION, "calendar": calendar.describe()}


def active_until(model: DemoModel, now: datetime, calendar: MarketCalendar) -> datetime:
    """The last moment the model predicts at, as of ``now``: a silent one stopped ``silent_for``
    of market time earlier, so during a session even when seen on a weekend."""
    if model.silent_for is None:
        return now
    return calendar.market_window_start(now, model.silent_for / timedelta(minutes=1))
