"""Request parameter validation: the protos' declared defaults and bounds, accepted forms, and
violations naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.message import Message

from mlanalytics.v1 import (
    drift_service_pb2,
    metrics_service_pb2,
    performance_service_pb2,
    prediction_service_pb2,
)
from server.api.servicers.performance import ab_params
from server.api.validation import Params, integer_default, window_length
from server.errors import InvalidArgument

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOWS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
Rolling = metrics_service_pb2.GetRollingMetricsRequest
History = prediction_service_pb2.GetPredictionHistoryRequest
Ab = performance_service_pb2.CompareModelsRequest


def violations(request: Message) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        Params(request, NOW).check()
    return [(v.field, v.description) for v in caught.value.violations]


def valid(request: Message) -> Params:
    params = Params(request, NOW)
    params.check()
    return params


class TestWindow:
    @pytest.mark.parametrize("name", list(WINDOWS))
    def test_documented_windows(self, name: str) -> None:
        window = valid(Rolling(model_id="m", window=name)).window()
        assert (window.name, window.end, window.end - window.start) == (name, NOW, WINDOWS[name])
        assert window_length(name) == WINDOWS[name]

    def test_default_is_24h(self) -> None:
        window = valid(Rolling(model_id="m")).window()
        assert (window.name, window.start) == ("24h", NOW - timedelta(hours=24))

    def test_the_ab_default_is_its_own(self) -> None:
        window = ab_params(Ab(model_a="a", model_b="b"), NOW).window()
        assert (window.name, window.start) == ("7d", NOW - timedelta(days=7))

    @pytest.mark.parametrize("bad", ["2h", "24H", "1d", " 24h", "week"])
    def test_unknown_window_names_the_allowed_values(self, bad: str) -> None:
        assert violations(Rolling(model_id="m", window=bad)) == [
            ("window", f"must be one of 1h, 24h, 7d, 30d (got {bad!r})")
        ]


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
        assert valid(Rolling(model_id="m", end_time=text)).end == expected

    def test_default_is_now(self) -> None:
        assert valid(Rolling(model_id="m")).end == NOW

    def test_a_computed_default_reads_as_none(self) -> None:
        assert valid(History(model_id="m")).instant("start_time") is None

    @pytest.mark.parametrize(
        "bad",
        ["2026-03-01", "2026-03-01T10:00:00", "yesterday", "1700000000", "2026-02-30T10:00:00Z"],
    )
    def test_rejects_anything_else(self, bad: str) -> None:
        [(field, description)] = violations(Rolling(model_id="m", end_time=bad))
        assert field == "end_time"
        assert repr(bad) in description

    @pytest.mark.parametrize(
        "extreme",
        ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-05:00"],
    )
    def test_instants_at_the_calendar_limits_are_rejected_not_crashed(self, extreme: str) -> None:
        [(field, description)] = violations(Rolling(model_id="m", end_time=extreme))
        assert field == "end_time"
        assert "1970-01-01" in description or "not a valid date-time" in description

    def test_long_values_are_shortened_in_messages(self) -> None:
        request = Rolling(model_id="m", end_time="x" * 100_000, window="y" * 100_000)
        assert all(len(d) < 200 for _, d in violations(request))


class TestModelId:
    def test_required(self) -> None:
        assert violations(Rolling())[0][0] == "model_id"

    @pytest.mark.parametrize("bad", ["a\x00b", "tab\tbed", "line\nfeed"])
    def test_control_characters_never_reach_sql(self, bad: str) -> None:
        assert violations(Rolling(model_id=bad))[0][0] == "model_id"

    def test_at_most_100_characters(self) -> None:
        valid(Rolling(model_id="m" * 100))
        assert violations(Rolling(model_id="m" * 101)) == [
            ("model_id", "must be at most 100 characters (got 101)")
        ]


class TestInteger:
    def test_unset_gets_the_default(self) -> None:
        assert valid(History(model_id="m")).integer("page_size") == 100
        assert integer_default(drift_service_pb2.GetDriftStatusRequest.DESCRIPTOR, "window_hours")
        assert (
            valid(drift_service_pb2.WatchDriftRequest(model_id="m")).integer("baseline_days") == 7
        )

    @pytest.mark.parametrize("bad", [0, -1, 1001])
    def test_out_of_range(self, bad: int) -> None:
        assert violations(History(model_id="m", page_size=bad)) == [
            ("page_size", f"must be between 1 and 1000 (got {bad})")
        ]

    def test_without_an_upper_bound_of_its_own_the_int32_range(self) -> None:
        assert valid(History(model_id="m", page=2**31 - 1)).integer("page") == 2**31 - 1
        assert violations(History(model_id="m", page=0)) == [
            ("page", "must be between 1 and 2147483647 (got 0)")
        ]


def test_every_violation_is_reported_at_once_models_then_instants_window_integers() -> None:
    request = History(page_size=0, start_time="later", end_time="soon")
    assert [field for field, _ in violations(request)] == [
        "model_id",
        "end_time",
        "start_time",
        "page_size",
    ]
    request2 = Rolling(window="2h", end_time="soon")
    assert [field for field, _ in violations(request2)] == ["model_id", "end_time", "window"]


class TestModelPair:
    def test_two_models_and_the_seven_day_default(self) -> None:
        params = ab_params(Ab(model_a="a", model_b="b", end_time="2026-03-02T12:00:00Z"))
        window = params.window()
        assert (params.text("model_a"), params.text("model_b"), window.name) == ("a", "b", "7d")
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
            ab_params(Ab(model_a=model_a, model_b=model_b))
        got = [(v.field, v.description) for v in caught.value.violations]
        assert got == expected
