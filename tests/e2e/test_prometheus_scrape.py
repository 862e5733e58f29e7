"""The real Prometheus (Debian's `prometheus`) scrapes GET /metrics through the real Envoy, and
its HTTP API then answers a per-model gauge with the value the service reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import processes
from devstack.processes import free_port
from restclient import Rest
from rows import Rows

pytestmark = pytest.mark.e2e


class Prometheus:
    """A prometheus process on a free port scraping ``target`` every second."""

    def __init__(self, workdir: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is not installed: apt-get install prometheus")
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {"job_name": "mlanalytics", "static_configs": [{"targets": [target]}]}
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def query(self, expression: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?query={urllib.parse.quote(expression)}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            body = json.load(reply)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expression: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Polls until ``expression`` returns a sample (Prometheus may still be starting)."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "prometheus exited"
            try:
                result = self.query(expression)
                if result:
                    return result
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"no result for {expression}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


@pytest.fixture
def prometheus(tmp_path: Path, proxy: processes.EnvoyProcess) -> Iterator[Prometheus]:
    running = Prometheus(tmp_path, f"127.0.0.1:{proxy.port}")
    yield running
    running.stop()


def test_prometheus_scrapes_the_service_and_serves_a_model_gauge(
    rows: Rows, proxy: processes.EnvoyProcess, prometheus: Prometheus
) -> None:
    now = datetime.now(UTC)
    for i in range(12):
        rows.inference("scraped", now - timedelta(minutes=1 + 5 * i), "LONG", reward=0.1)
    # Two successful scrapes at least.
    prometheus.wait_for('count_over_time(up{job="mlanalytics"}[1m]) >= 2')
    assert prometheus.query('up{job="mlanalytics"}')[0]["value"][1] == "1"
    [sample] = prometheus.wait_for('mlanalytics_model_health_score{model_id="scraped"}')
    reported = Rest(f"http://127.0.0.1:{proxy.port}").get("/api/health/model/scraped")
    assert float(sample["value"][1]) == reported.json()["data"]["health_score"]
    [up] = prometheus.query("mlanalytics_database_up")
    assert up["value"][1] == "1"
