"""The Python client and CLI against the real server through the real Envoy.

Every client method and CLI subcommand is checked against the REST answer for the same call, so
the three faces of the service cannot disagree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from analytics.calendar import ALWAYS
from conftest import InferenceLogLock, eventually, rfc3339
from devstack import envoy, processes
from devstack.processes import free_port
from mlanalytics import AnalyticsClient, DeadlineExceeded, InvalidArgument, NotFound, Unavailable
from mlanalytics.cli import main as cli
from restclient import Rest
from server.app import Service

ROOT = Path(__file__).resolve().parents[2]
MODEL = "sac_transformer_v2.1"
#: The walkthrough asks without an end time, so at the machine's clock, and expects the demo's
#: documented statuses: the demo data runs around the clock up to now, as the test server's
#: calendar does (tests/integration/test_market_health.py covers the session calendar).
DEMO_CALENDAR = ALWAYS
GOOD, COIN_FLIP = "ppo_lstm_v3.2", "a2c_conservative_v1.4"  # the demo's best and a coin flip


@pytest.fixture
def client(proxy: processes.EnvoyProcess) -> Iterator[AnalyticsClient]:
    with AnalyticsClient(f"127.0.0.1:{proxy.port}") as connected:
        yield connected


def as_dict(message: Any) -> Any:
    return json.loads(
        json_format.MessageToJson(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    )


# (client method, its keyword arguments, the REST path of the same call, CLI arguments)
CALLS: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("metrics_summary", {}, "/api/metrics/summary?", ["metrics", "summary"]),
    (
        "rolling_metrics",
        {"model_id": MODEL, "window": "7d"},
        f"/api/metrics/rolling?model_id={MODEL}&window=7d&",
        ["metrics", "rolling", "--model", MODEL, "--window", "7d"],
    ),
    (
        "model_metrics",
        {"model_id": MODEL},
        f"/api/metrics/model/{MODEL}?",
        ["metrics", "model", "--model", MODEL],
    ),
    (
        "prediction_accuracy",
        {"model_id": MODEL, "window": "1h"},
        f"/api/predictions/accuracy?model_id={MODEL}&window=1h&",
        ["predictions", "accuracy", "--model", MODEL, "--window", "1h"],
    ),
    (
        "prediction_history",
        {"model_id": MODEL, "page": 2, "page_size": 10},
        f"/api/predictions/history?model_id={MODEL}&page=2&page_size=10&",
        ["predictions", "history", "--model", MODEL, "--page", "2", "--page-size", "10"],
    ),
    (
        "prediction_comparison",
        {"model_id": MODEL, "limit": 20},
        f"/api/predictions/comparison?model_id={MODEL}&limit=20&",
        ["predictions", "comparison", "--model", MODEL, "--limit", "20"],
    ),
    (
        "drift_status",
        {"model_id": MODEL, "window_hours": 12},
        f"/api/drift/status?model_id={MODEL}&window_hours=12&",
        ["drift", "status", "--model", MODEL, "--window-hours", "12"],
    ),
    (
        "drift_features",
        {"model_id": MODEL, "baseline_days": 3},
        f"/api/drift/features?model_id={MODEL}&baseline_days=3&",
        ["drift", "features", "--model", MODEL, "--baseline-days", "3"],
    ),
    ("list_model_health", {}, "/api/health/models?", ["health", "models"]),
    (
        "model_health",
        {"model_id": "dqn_legacy_v0.9"},
        "/api/health/model/dqn_legacy_v0.9?",
        ["health", "model", "--model", "dqn_legacy_v0.9"],
    ),
    (
        "performance_trends",
        {"model_id": MODEL, "days": 2},
        f"/api/performance/trends/{MODEL}?days=2&",
        ["performance", "trends", "--model", MODEL, "--days", "2"],
    ),
    (
        "performance_comparison",
        {"window": "7d"},
        "/api/performance/comparison?window=7d&",
        ["performance", "comparison", "--window", "7d"],
    ),
    (
        "compare_models",
        {"model_a": GOOD, "model_b": COIN_FLIP, "window": "24h"},
        f"/api/performance/ab?model_a={GOOD}&model_b={COIN_FLIP}&window=24h&",
        ["performance", "ab", "--a", GOOD, "--b", COIN_FLIP, "--window", "24h"],
    ),
    (
        "list_model_versions",
        {"model_id": GOOD},
        f"/api/models/{GOOD}/versions?",
        ["versions", "list", "--model", GOOD],
    ),
    (
        "compare_model_versions",
        {"model_id": GOOD, "candidate": "3.3.0", "baseline_days": 3},
        f"/api/models/{GOOD}/versions/compare?candidate=3.3.0&baseline_days=3&",
        ["versions", "compare", "--model", GOOD, "--candidate", "3.3.0", "--baseline-days", "3"],
    ),
]


@pytest.mark.parametrize(("method", "kwargs", "path", "argv"), CALLS, ids=[c[0] for c in CALLS])
def test_client_and_cli_equal_rest(  # noqa: PLR0917 (fixtures and parameters)
    demo: datetime,
    client: AnalyticsClient,
    rest: Rest,
    proxy: processes.EnvoyProcess,
    capsys: pytest.CaptureFixture[str],
    method: str,
    kwargs: dict[str, Any],
    path: str,
    argv: list[str],
) -> None:
    expected = rest.get(f"{path}end_time={rfc3339(demo)}").json()["data"]
    _same(as_dict(getattr(client, method)(**kwargs, end_time=demo)), expected)
    target = ["--target", f"127.0.0.1:{proxy.port}", "--end-time", rfc3339(demo)]
    assert cli([*target, "--json", *argv]) == 0
    _same(json.loads(capsys.readouterr().out), expected)


def _same(got: Any, expected: Any, where: str = "data") -> bool:
    """Equal JSON documents, floats to 1e-12 (Python and Envoy print doubles differently)."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), where
        return all(_same(got[k], expected[k], f"{where}.{k}") for k in expected)
    if isinstance(expected, list):
        assert len(got) == len(expected), where
        return all(
            _same(g, e, f"{where}[{i}]") for i, (g, e) in enumerate(zip(got, expected, strict=True))
        )
    if isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-300), where
        return True
    assert got == expected, where
    return True


def test_service_calls(demo: datetime, client: AnalyticsClient, rest: Rest) -> None:
    assert client.service_health().database == "connected"
    assert len(client.service_info().endpoints) == 30  # 24 of the API, 6 of its pages


def test_cli_tables_and_errors(
    demo: datetime, proxy: processes.EnvoyProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["--target", f"127.0.0.1:{proxy.port}"]
    assert cli([*target, "health", "models"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0] == "market: open (always)"  # the test server's calendar
    assert "dqn_legacy_v0.9" in table
    assert "critical" in table
    assert cli(["health", "models", "--json", *target]) == 0  # global options after the command
    assert json.loads(capsys.readouterr().out)["market"] == {"calendar": "always", "open": True}
    assert cli([*target, "metrics", "rolling", "--model", MODEL, "--window", "2h"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: INVALID_ARGUMENT: invalid request:"
        " window: must be one of 1h, 24h, 7d, 30d (got '2h')"
    ]
    assert cli([*target, "health", "model", "--model", "nobody"]) == 1
    assert capsys.readouterr().err.startswith("error: NOT_FOUND: model 'nobody' not found")


@pytest.mark.parametrize(
    ("window", "verdicts", "bars"),
    [
        # A week rarely separates a Sharpe of 2 from a coin flip (the good model never loses).
        ("7d", ("model_a", "no_significant_difference"), range(1500, 2017)),
        ("1h", ("insufficient_data",), range(10, 13)),
    ],
)
def test_cli_ab_prints_the_verdict_first(  # noqa: PLR0917 (fixtures and parameters)
    demo: datetime,
    proxy: processes.EnvoyProcess,
    capsys: pytest.CaptureFixture[str],
    window: str,
    verdicts: tuple[str, ...],
    bars: range,
) -> None:
    # The global options after the subcommand, as people type them.
    argv = ["performance", "ab", "--a", GOOD, "--b", COIN_FLIP, "--window", window]
    target = ["--target", f"127.0.0.1:{proxy.port}", "--end-time", rfc3339(demo)]
    assert cli([*argv, *target]) == 0
    first, *rest = capsys.readouterr().out.splitlines()
    assert first.startswith("verdict: "), first
    assert first.split()[1] in verdicts, first
    common = next(line for line in rest if line.startswith("common_bars"))
    assert int(common.split()[-1]) in bars, common  # 7 days (or 1 h) of 5-minute bars
    header, model_ids = (
        next(line for line in rest if line.startswith(k)) for k in ("  ", "model_id")
    )
    assert header.split() == ["model_a", "model_b"]
    assert model_ids.split() == ["model_id", GOOD, COIN_FLIP]
    # Once: a side's own field, not again among its metrics.
    assert [line.split()[0] for line in rest if line.strip()].count("probabilistic_sharpe") == 1


def test_cli_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli(["--help"])
    out = capsys.readouterr().out
    assert "mlanalytics: the service from a terminal" in out
    assert "``" not in out


def test_console_script_is_installed(proxy: processes.EnvoyProcess) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "mlanalytics"),
            "--target",
            f"127.0.0.1:{proxy.port}",
            "health",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "connected" in result.stdout


def test_typed_errors_carry_field_violations(demo: datetime, client: AnalyticsClient) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.prediction_history(MODEL, page=0, page_size=5000)
    assert [v.field for v in caught.value.field_violations] == ["page", "page_size"]
    assert "between 1 and 1000" in caught.value.field_violations[1].description
    with pytest.raises(NotFound):
        client.drift_status("nobody")


def test_deadline_is_honoured(
    demo: datetime, client: AnalyticsClient, inference_lock: InferenceLogLock
) -> None:
    # A real slow call: the table is locked, so the server's query waits.
    with inference_lock.held():
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            client.rolling_metrics(MODEL, timeout=0.5)
        elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 10.0  # the 0.5 s deadline, not the lock (held until the end)


def test_retries_until_the_server_is_up(start_service: Callable[..., Service]) -> None:
    # Through an Envoy whose backend is down, the first attempt fails with UNAVAILABLE. The server
    # starts only once Envoy has seen that attempt fail; a retry then gets through.
    port = free_port()
    proxy = processes.start_envoy(
        envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=port)
    )
    try:
        with (
            AnalyticsClient(f"127.0.0.1:{proxy.port}", timeout=10) as client,
            ThreadPoolExecutor(max_workers=1) as caller,
        ):
            health = caller.submit(client.service_health)
            eventually(
                lambda: proxy.stat("cluster.grpc_server.upstream_cx_connect_fail") > 0,
                10,
                "the first attempt failing",
            )
            start_service(grpc_port=port)
            assert health.result(timeout=15).status == "healthy"
    finally:
        proxy.stop()


def test_unavailable_after_the_retries(demo: datetime) -> None:
    with AnalyticsClient(f"127.0.0.1:{free_port()}", timeout=5) as client:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            client.service_health()
        assert time.monotonic() - started < 5  # gave up after its attempts, not at the deadline


def test_typed_usage_sample_passes_mypy_strict(tmp_path: Path) -> None:
    sample = ROOT / "examples" / "python" / "typed_usage.py"
    mypy = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--cache-dir",
        str(tmp_path),
    ]
    ok = subprocess.run([*mypy, str(sample)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout
    # The check has teeth: a wrong type in the same sample is reported.
    broken = tmp_path / "broken_usage.py"
    broken.write_text(
        sample.read_text() + "\n\ndef wrong(c: AnalyticsClient) -> str:\n"
        "    return c.rolling_metrics('m').data_points\n"
    )
    bad = subprocess.run(
        [*mypy, str(broken)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert "Incompatible return value type" in bad.stdout


def test_walkthrough_runs_against_the_demo(demo: datetime, proxy: processes.EnvoyProcess) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "python" / "walkthrough.py"),
            f"127.0.0.1:{proxy.port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert "5 models: 2 critical" in result.stdout
    assert "drift sac_transformer_v2.1: critical" in result.stdout
    assert "bad input is explained: must be one of 1h, 24h, 7d, 30d" in result.stdout
    # Which two models are the healthiest depends on the demo at the machine's clock.
    verdicts = "model_a|model_b|no_significant_difference|insufficient_data"
    assert re.search(rf"^\S+ vs \S+ over 7 days: verdict ({verdicts}) ", result.stdout, re.M)
    assert "confidence: Brier " in result.stdout
