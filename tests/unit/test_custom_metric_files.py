"""CUSTOM_METRICS_FILE: every kind of bad file is refused with one line naming the file, the
metric and the problem (also by `python -m server`, without a traceback); a good one loads in
file order; the example file of the repository is good."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import refused_start
from devstack.processes import SERVER_COMMAND
from server.config import ConfigError, Settings
from server.custom_metrics import CustomMetrics, CustomMetricsError, load

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
metrics:
  - name: confident_win_rate
    description: Win rate of the bars traded with confidence of at least 0.8
    aggregate: win_rate
    of: reward
    where:
      - {field: confidence, op: ">=", value: 0.8}
    unit: ratio
    better: higher
    warning: 0.50
    critical: 0.45
  - name: hold_share
    aggregate: rate
    where:
      - {field: action, op: in, value: [HOLD]}
"""


def _counted(condition: str, name: str) -> str:
    """A file of one count metric with one condition."""
    return f"metrics:\n  - name: {name}\n    aggregate: count\n    where: [{condition}]\n"


# (what is wrong, file text, what the line must say)
BAD = [
    (
        "unknown aggregate",
        "metrics:\n  - {name: m1, aggregate: median, of: reward}\n",
        ["metric m1", "unknown aggregate 'median'", "quantile"],
    ),
    (
        "unknown of field",
        "metrics:\n  - {name: m2, aggregate: mean, of: pnl}\n",
        ["metric m2", "unknown field 'pnl'"],
    ),
    (
        "unknown where field",
        _counted("{field: symbol, op: '==', value: 1}", "m3"),
        ["metric m3", "unknown field 'symbol' in where"],
    ),
    (
        "unknown op",
        _counted("{field: confidence, op: '=~', value: 1}", "m4"),
        ["metric m4", "unknown op '=~'"],
    ),
    (
        "q out of range",
        "metrics:\n  - {name: m5, aggregate: quantile, of: latency_ms, q: 1.0}\n",
        ["metric m5", "bad q 1.0"],
    ),
    (
        "q missing",
        "metrics:\n  - {name: m6, aggregate: quantile, of: latency_ms}\n",
        ["metric m6", "bad q None"],
    ),
    (
        "q on another aggregate",
        "metrics:\n  - {name: m7, aggregate: mean, of: latency_ms, q: 0.5}\n",
        ["metric m7", "bad q 0.5"],
    ),
    (
        "duplicate name",
        "metrics:\n  - {name: m8, aggregate: count}\n  - {name: m8, aggregate: count}\n",
        ["metric m8", "duplicate name"],
    ),
    (
        "missing of",
        "metrics:\n  - {name: m9, aggregate: mean}\n",
        ["metric m9", "missing of"],
    ),
    (
        "invalid YAML",
        "metrics:\n  - {name: m10, aggregate: [count\n",
        ["invalid YAML at line"],
    ),
    (
        "a list for a comparison",
        _counted("{field: confidence, op: '<', value: [1]}", "m11"),
        ["metric m11", "needs one value"],
    ),
    (
        "an unknown action",
        _counted("{field: action, op: '==', value: BUY}", "m12"),
        ["metric m12", "action values are LONG, SHORT, HOLD"],
    ),
    (
        "a threshold without better",
        "metrics:\n  - {name: m13, aggregate: count, warning: 3}\n",
        ["metric m13", "need better"],
    ),
    (
        "a name that is not snake_case",
        "metrics:\n  - {name: Win-Rate, aggregate: count}\n",
        ["metric Win-Rate", "snake_case"],
    ),
]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "custom.yaml"
    path.write_text(text)
    return str(path)


def test_a_good_file_loads_in_file_order(tmp_path: Path) -> None:
    metrics = load(write(tmp_path, GOOD))
    assert [m.name for m in metrics] == ["confident_win_rate", "hold_share"]
    first, second = metrics
    assert (first.aggregate, first.of, first.better, first.warning, first.critical) == (
        "win_rate",
        "reward",
        "higher",
        0.5,
        0.45,
    )
    assert [(c.field, c.op, c.value) for c in first.where] == [("confidence", ">=", 0.8)]
    assert [(c.field, c.op, c.value) for c in second.where] == [("action", "in", (0.0,))]


def test_the_example_file_of_the_repository_is_good() -> None:
    metrics = load(str(ROOT / "deploy" / "custom-metrics.example.yaml"))
    assert len(metrics) >= 4
    assert {m.aggregate for m in metrics} >= {"win_rate", "quantile", "sharpe_ratio", "rate"}


@pytest.mark.parametrize(("problem", "text", "says"), BAD, ids=[b[0] for b in BAD])
def test_every_kind_of_bad_file_is_refused_with_one_line(
    tmp_path: Path, problem: str, text: str, says: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CustomMetricsError) as error:
        load(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    for part in says:
        assert part in message, (problem, message)
    # Settings refuse it the same way, naming the variable.
    with pytest.raises(ConfigError) as config:
        Settings.from_env({"CUSTOM_METRICS_FILE": path})
    assert str(config.value) == f"CUSTOM_METRICS_FILE {message}"


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"absent.yaml: cannot be read"):
        Settings.from_env({"CUSTOM_METRICS_FILE": path})


def test_no_file_defines_none() -> None:
    assert Settings.from_env({}).custom_metrics.metrics == ()


def test_the_server_refuses_to_start_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, BAD[0][1])
    result = refused_start(SERVER_COMMAND, CUSTOM_METRICS_FILE=path)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"configuration error: CUSTOM_METRICS_FILE {path}: metric m1: unknown aggregate"
    assert lines[0].startswith(prefix)


def test_a_bad_reload_keeps_the_definitions_in_force(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    registry = CustomMetrics.from_file(path, "America/Bogota")
    Path(path).write_text(BAD[3][1])
    problem = registry.reload()
    assert problem is not None
    assert "unknown op" in problem
    assert [m.name for m in registry.metrics] == ["confident_win_rate", "hold_share"]
    assert (registry.reloads, registry.failed_reloads) == (0, 1)
    Path(path).write_text("metrics:\n  - {name: only_one, aggregate: count}\n")
    assert registry.reload() is None
    assert [m.name for m in registry.metrics] == ["only_one"]
    assert (registry.reloads, registry.failed_reloads) == (1, 1)
