"""Parsing of wrk's report: its exact text, as wrk 4 prints it."""

from __future__ import annotations

import math

from bench.load import parse_wrk

_SLOW = """Running 3s test @ http://127.0.0.1:18934/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.40ms  301.85ms   1.21s    60.00%
    Req/Sec     0.00      0.00     0.00    100.00%
  Latency Distribution
     50%  480.10ms
     75%  900.00ms
     90%    1.20s{BLANK}
     99%    1.21s{BLANK}
  5 requests in 3.01s, 590.00B read
Requests/sec:      1.66
Transfer/sec:     196.01B
""".format(BLANK=" ")  # wrk pads "s" to the width of "ms"

_NOTHING = """Running 2s test @ http://127.0.0.1:18931/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 2.03s, 0.00B read
  Socket errors: connect 0, read 0, write 0, timeout 8
Requests/sec:      0.00
Transfer/sec:       0.00B
"""


def test_a_percentile_in_seconds_has_a_trailing_blank() -> None:
    load = parse_wrk(_SLOW)
    assert (load.requests, load.p50_ms, load.p99_ms, load.failures) == (5, 480.1, 1210.0, 0)
    assert load.rps == 1.66


def test_a_run_without_a_response_reports_failures_not_latencies() -> None:
    load = parse_wrk(_NOTHING)
    assert load.requests == 0
    assert math.isnan(load.p50_ms)
    assert math.isnan(load.p99_ms)
    assert load.failures == 8
    assert (
        parse_wrk(
            _NOTHING.replace("  Socket errors: connect 0, read 0, write 0, timeout 8\n", "")
        ).failures
        == 1
    )
