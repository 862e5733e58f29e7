"""Request parameter validation: defaults, accepted forms, and violations naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlanalytics.parameters import WINDOWS
from mlanalytics.v1 import prediction_service_pb2
from server.api.validation import Params, model_pair
from server.errors import InvalidArgument

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def violations(params: Params) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        params.check()
    return [(v.field, v.description) for v in caught.value.violations]


class TestWindow:
    @pytest.mark.parametrize("name", list(WINDOWS))
    def test_documented_windows(self, name: str) -> None:
        params = Params(NOW)
        window = params.window(name, NOW)
        params.check()
        assert (window.name, window.end, window.end - window.start) == (name, NOW, WINDOWS[name])

    def test_default_is_24h(self) -> None:
        window = Params(NOW).window("", NOW)
        assert (window.name, window.start) == ("24h", NOW - timedelta(hours=24))

    @pytest.mark.parametrize("bad", ["2h", "24H", "1d", " 24h", "week"])
    def test_unknown_window_names_the_allowed_values(self, bad: str) -> None:
        params = Params(NOW)
        params.window(bad, NOW)
        assert violations(params) == [("window", f"must be one of 1h, 24h, 7d, 30d (got {bad!r})")]


class TestTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
            ("2026-03-01T10:00:00.250Z", datetime(2026, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)),
            ("2026-03-01T05:00:00-05:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
            ("2026-03-01t10:00:00z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
            ("2026-03-01T10:00:00.123456789Z", datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ],
    )
    def test_rfc3339_forms(self, text: str, expected: datetime) -> None:
        params = Params(NOW)
        assert params.end_time(text) == expected
        params.check()

    def test_default_is_now(self) -> None:
        assert Params(NOW).end_time("") == NOW

    @pytest.mark.parametrize(
        "bad",
        ["2026-03-01", "2026-03-01T10:00:00", "yesterday", "1700000000", "2026-02-30T10:00:00Z"],
    )
    def test_rejects_anything_else(self, bad: str) -> None:
        params = Params(NOW)
        params.end_time(bad)
        [(field, description)] = violations(params)
        assert field == "end_time"
        assert repr(bad) in description

    @pytest.mark.parametrize(
        "extreme",
        ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-05:00"],
    )
    def test_instants_at_the_calendar_limits_are_rejected_not_crashed(self, extreme: str) -> None:
        params = Params(NOW)
        params.end_time(extreme)
        [(field, description)] = violations(params)
        assert field == "end_time"
        assert "1970-01-01" in description or "not a valid date-time" in description

    def test_long_values_are_shortened_in_messages(self) -> None:
        params = Params(NOW)
        params.end_time("x" * 100_000)
        params.window("y" * 100_000, NOW)
        assert all(len(d) < 200 for _, d in violations(params))


class TestModelId:
    def test_required(self) -> None:
        params = Params(NOW)
        params.model_id("")
        assert violations(params)[0][0] == "model_id"

    @pytest.mark.parametrize("bad", ["a\x00b", "tab\tbed", "line\nfeed"])
    def test_control_characters_never_reach_sql(self, bad: str) -> None:
        params = Params(NOW)
        params.model_id(bad)
        assert violations(params)[0][0] == "model_id"

    def test_at_most_100_characters(self) -> None:
        params = Params(NOW)
        params.model_id("m" * 100)
        params.check()
        params.model_id("m" * 101)
        assert violations(params) == [("model_id", "must be at most 100 characters (got 101)")]


class TestInteger:
    def test_unset_gets_the_default(self) -> None:
        request = prediction_service_pb2.GetPredictionHistoryRequest()
        assert Params(NOW).integer(request, "page_size") == 100

    @pytest.mark.parametrize("bad", [0, -1, 1001])
    def test_out_of_range(self, bad: int) -> None:
        request = prediction_service_pb2.GetPredictionHistoryRequest(page_size=bad)
        params = Params(NOW)
        params.integer(request, "page_size")
        assert violations(params) == [("page_size", f"must be between 1 and 1000 (got {bad})")]


def test_every_violation_is_reported_at_once() -> None:
    params = Params(NOW)
    params.model_id("")
    params.window("2h", NOW)
    params.end_time("soon")
    assert [field for field, _ in violations(params)] == ["model_id", "window", "end_time"]


class TestModelPair:
    def test_two_models_and_the_seven_day_default(self) -> None:
        model_a, model_b, window = model_pair("a", "b", "", "2026-03-02T12:00:00Z", "7d")
        assert (model_a, model_b, window.name) == ("a", "b", "7d")
        assert window.end - window.start == timedelta(days=7)

    @pytest.mark.parametrize(
        ("model_a", "model_b", "expected"),
        [
            ("", "b", [("model_a", "is required (a model id such as 'ppo_lstm_v3.2')")]),
            ("a", "", [("model_b", "is required (a model id such as 'ppo_lstm_v3.2')")]),
            ("m", "m", [("model_b", "must differ from model_a (both are 'm')")]),
            (
                "m" * 101,
                "m" * 101,
                [
                    ("model_a", "must be at most 100 characters (got 101)"),
                    ("model_b", "must be at most 100 characters (got 101)"),
                ],
            ),
            (
                " ",
                " ",
                [
                    ("model_a", "is required (a model id such as 'ppo_lstm_v3.2')"),
                    ("model_b", "is required (a model id such as 'ppo_lstm_v3.2')"),
                ],
            ),
        ],
    )
    def test_violations_name_the_parameter(
        self, model_a: str, model_b: str, expected: list[tuple[str, str]]
    ) -> None:
        with pytest.raises(InvalidArgument) as caught:
            model_pair(model_a, model_b, "", "", "7d")
        got = [(v.field, v.description) for v in caught.value.violations]
        assert got == expected
