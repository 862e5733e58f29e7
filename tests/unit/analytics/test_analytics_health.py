"""Model health (analytics.health): every score band, status rule and boundary by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from analytics import health
from analytics.health import HealthAssessment, assess_health


def healthy(**overrides: float | int | None) -> HealthAssessment:
    """A model that passes every rule, with some inputs overridden."""
    args: dict[str, float | int | None] = {
        "prediction_count": 100,
        "win_rate": 0.6,
        "avg_latency_ms": 40.0,
        "minutes_since_last": 5.0,
    }
    args.update(overrides)
    return assess_health(**args)  # type: ignore[arg-type]


class TestAssessHealth:
    def test_fully_healthy(self) -> None:
        # min(40, 80 * 0.6 = 48) = 40, latency 40 ms <= 50 -> 30, 5 min <= 10 -> 30: 100.
        got = healthy()
        assert got == HealthAssessment("healthy", 100.0, 40.0, 30, 30, ())

    def test_score_by_hand(self) -> None:
        # 80 * 0.42 = 33.6, latency 75 ms -> 20, 20 min -> 20: 73.6.
        got = assess_health(50, 0.42, 75.0, 20.0)
        assert_allclose([got.win_points, got.health_score], [33.6, 73.6], rtol=1e-15)
        assert (got.latency_points, got.recency_points) == (20, 20)

    def test_the_documented_example(self) -> None:
        # 33.6 + 0 (250 ms) + 0 (185 min): three critical rules, each with its value.
        got = assess_health(120, 0.42, 250.0, 185.0)
        assert got.status == "critical"
        assert_allclose(got.health_score, 33.6, rtol=1e-15)
        assert got.issues == (
            "win rate 42.0% below 45%",
            "avg latency 250 ms above 200 ms",
            "silent for 185 min (over 60 min)",
        )

    @pytest.mark.parametrize(
        ("latency", "points"),
        [(0.0, 30), (50.0, 30), (50.01, 20), (100.0, 20), (100.01, 10), (200.0, 10), (200.01, 0)],
    )
    def test_latency_points_bands(self, latency: float, points: int) -> None:
        assert healthy(avg_latency_ms=latency).latency_points == points

    @pytest.mark.parametrize(
        ("minutes", "points"),
        [(0.0, 30), (10.0, 30), (10.5, 20), (30.0, 20), (30.5, 10), (60.0, 10), (60.5, 0)],
    )
    def test_recency_points_bands(self, minutes: float, points: int) -> None:
        assert healthy(minutes_since_last=minutes).recency_points == points

    def test_no_latency_data_scores_zero_points_without_an_issue(self) -> None:
        got = healthy(avg_latency_ms=None)
        assert (got.latency_points, got.health_score, got.status) == (0, 70.0, "healthy")

    @pytest.mark.parametrize(
        ("win_rate", "points"), [(0.0, 0.0), (0.25, 20.0), (0.5, 40.0), (0.9, 40.0)]
    )
    def test_win_points_are_capped_at_40(self, win_rate: float, points: float) -> None:
        assert healthy(win_rate=win_rate).win_points == points

    @pytest.mark.parametrize(
        ("rule", "value", "status", "issues"),
        [
            # Latency: above 100 ms a warning; above 200 ms critical, reported once (the original
            # service called that healthy).
            ("avg_latency_ms", 100.0, "healthy", ()),
            ("avg_latency_ms", 100.4, "warning", ("avg latency 100.4 ms above 100 ms",)),
            ("avg_latency_ms", 150.0, "warning", ("avg latency 150 ms above 100 ms",)),
            ("avg_latency_ms", 200.0, "warning", ("avg latency 200 ms above 100 ms",)),
            ("avg_latency_ms", 200.5, "critical", ("avg latency 200.5 ms above 200 ms",)),
            ("avg_latency_ms", 250.0, "critical", ("avg latency 250 ms above 200 ms",)),
            # Silence: over 30 min a warning, over 60 min (or never seen) critical.
            ("minutes_since_last", 30.0, "healthy", ()),
            ("minutes_since_last", 31.0, "warning", ("silent for 31 min (over 30 min)",)),
            ("minutes_since_last", 60.0, "warning", ("silent for 60 min (over 30 min)",)),
            ("minutes_since_last", 60.2, "critical", ("silent for 60.2 min (over 60 min)",)),
            ("minutes_since_last", 185.0, "critical", ("silent for 185 min (over 60 min)",)),
            ("minutes_since_last", None, "critical", ("no prediction on record",)),
            # Win rate: below 50 % a warning, below 45 % critical.
            ("win_rate", 0.50, "healthy", ()),
            ("win_rate", 0.4999, "warning", ("win rate 49.99% below 50%",)),
            ("win_rate", 0.47, "warning", ("win rate 47.0% below 50%",)),
            ("win_rate", 0.45, "warning", ("win rate 45.0% below 50%",)),
            ("win_rate", 0.4499, "critical", ("win rate 44.99% below 45%",)),
            ("win_rate", 0.2, "critical", ("win rate 20.0% below 45%",)),
            # Predictions in the window: fewer than 10 a warning.
            ("prediction_count", 10, "healthy", ()),
            ("prediction_count", 9, "warning", ("only 9 predictions in 24 h (fewer than 10)",)),
            ("prediction_count", 1, "warning", ("only 1 prediction in 24 h (fewer than 10)",)),
        ],
    )
    def test_status_rules(
        self, rule: str, value: float | None, status: str, issues: tuple[str, ...]
    ) -> None:
        got = healthy(**{rule: value})
        assert (got.status, got.issues) == (status, issues)

    def test_no_predictions_in_window_is_critical(self) -> None:
        # A model that went quiet: win rate 0 and no latency, last seen 3 hours ago.
        got = assess_health(0, 0.0, None, 180.0)
        assert got.status == "critical"
        assert got.health_score == 0.0
        assert got.issues == ("no predictions in the last 24 h", "silent for 180 min (over 60 min)")

    def test_critical_issues_come_first(self) -> None:
        got = assess_health(5, 0.48, 250.0, 40.0)
        assert got.status == "critical"
        assert got.issues == (
            "avg latency 250 ms above 200 ms",
            "win rate 48.0% below 50%",
            "only 5 predictions in 24 h (fewer than 10)",
            "silent for 40 min (over 30 min)",
        )

    def test_negative_minutes_from_clock_skew_read_as_now(self) -> None:
        got = healthy(minutes_since_last=-0.5)
        assert (got.recency_points, got.status) == (30, "healthy")

    def test_thresholds_are_exported(self) -> None:
        assert (health.WIN_RATE_CRITICAL, health.WIN_RATE_WARNING) == (0.45, 0.50)
        assert (health.LATENCY_CRITICAL_MS, health.LATENCY_WARNING_MS) == (200.0, 100.0)
        assert (health.SILENCE_CRITICAL_MIN, health.SILENCE_WARNING_MIN) == (60.0, 30.0)
        assert health.MIN_PREDICTIONS == 10

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"prediction_count": -1}, "prediction_count must be >= 0"),
            ({"prediction_count": 2.0}, "prediction_count must be an integer"),
            ({"win_rate": 1.2}, r"win_rate must be in \[0, 1\]"),
            ({"win_rate": float("nan")}, "win_rate must be finite"),
            ({"avg_latency_ms": -3.0}, "avg_latency_ms must be >= 0"),
            ({"minutes_since_last": float("inf")}, "minutes_since_last must be finite"),
        ],
    )
    def test_bad_arguments(self, overrides: dict[str, float], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            healthy(**overrides)

    @settings(max_examples=100, deadline=None)
    @given(
        count=st.integers(0, 10_000),
        win_rate=st.floats(0.0, 1.0),
        latency=st.none() | st.floats(0.0, 1e5),
        minutes=st.none() | st.floats(-10.0, 1e6),
    )
    def test_score_bounded_and_status_matches_issues(
        self, count: int, win_rate: float, latency: float | None, minutes: float | None
    ) -> None:
        got = assess_health(count, win_rate, latency, minutes)
        assert 0.0 <= got.health_score <= 100.0
        assert got.health_score == got.win_points + got.latency_points + got.recency_points
        assert (got.status == "healthy") == (got.issues == ())
        assert got.status in ("healthy", "warning", "critical")
        assert len(set(got.issues)) == len(got.issues)


class TestTooFewTrades:
    def test_a_low_win_rate_over_few_trades_is_no_verdict(self) -> None:
        # 0.30 would be critical over 20 trades; over 19 it is a warning that says why.
        got = healthy(win_rate=0.30, trades=19, min_trades=20)
        assert got.status == "warning"
        assert got.issues == ("too few trades (19 < 20) for a win-rate verdict",)
        assert_allclose(got.win_points, 24.0, rtol=1e-15)  # the score still counts it

    def test_at_the_minimum_the_rules_fire(self) -> None:
        got = healthy(win_rate=0.30, trades=20, min_trades=20)
        assert got.status == "critical"
        assert got.issues == ("win rate 30.0% below 45%",)

    def test_other_rules_still_fire(self) -> None:
        got = healthy(win_rate=0.30, trades=3, min_trades=20, avg_latency_ms=250.0)
        assert got.status == "critical"
        assert got.issues == (
            "avg latency 250 ms above 200 ms",
            "too few trades (3 < 20) for a win-rate verdict",
        )

    def test_zero_minimum_or_unknown_trades_change_nothing(self) -> None:
        assert healthy(win_rate=0.30, trades=0, min_trades=0) == healthy(win_rate=0.30)
        assert healthy(win_rate=0.30, min_trades=20) == healthy(win_rate=0.30)

    def test_no_predictions_stays_the_one_count_issue(self) -> None:
        got = assess_health(0, 0.0, None, 5.0, trades=0, min_trades=20)
        assert got.issues == ("no predictions in the last 24 h",)

    def test_bad_counts_are_refused(self) -> None:
        with pytest.raises(ValueError, match="trades"):
            healthy(trades=-1, min_trades=20)
        with pytest.raises(ValueError, match="min_trades"):
            healthy(trades=1, min_trades=-1)
