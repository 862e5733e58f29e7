"""deploy/prometheus: the scrape config and alert rules pass promtool, the rules' unit tests
(rules_test.yml) pass, and the Alertmanager example passes amtool.

promtool and amtool come from Debian (`apt-get install prometheus prometheus-alertmanager`;
.ci/run installs them). Without them these tests fail with that command, rather than skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def run(tool: str, *args: str) -> str:
    binary = shutil.which(tool)
    if binary is None:
        pytest.fail(f"{tool} is not installed: apt-get install prometheus prometheus-alertmanager")
    result = subprocess.run(
        [binary, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_rules_are_valid() -> None:
    assert "SUCCESS: 8 rules found" in run("promtool", "check", "rules", "rules.yml")


def test_rules_unit_tests_pass() -> None:
    assert "SUCCESS" in run("promtool", "test", "rules", "rules_test.yml")


def test_scrape_config_is_valid() -> None:
    assert "is valid prometheus config" in run("promtool", "check", "config", "prometheus.yml")


def test_alertmanager_example_is_valid() -> None:
    assert "SUCCESS" in run("amtool", "check-config", "alertmanager.yml")


def test_every_alert_has_a_duration_and_a_runbook() -> None:
    import yaml

    rules = yaml.safe_load((DEPLOY / "rules.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {a["alert"] for a in alerts} == {
        "ModelCritical",
        "ModelDriftCritical",
        "ModelVersionRollback",
        "ModelChangePoint",
        "MlanalyticsDatabaseDown",
        "MlanalyticsDown",
        "MlanalyticsHighErrorRatio",
        "MlanalyticsSlowCalls",
    }
    for alert in alerts:
        assert alert["for"], alert["alert"]
        assert {"summary", "description", "runbook"} <= set(alert["annotations"]), alert["alert"]
        assert alert["labels"]["severity"] in {"page", "ticket"}
