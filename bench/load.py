"""Load drivers: wrk (HTTP/1.1, the REST face), h2load (HTTP/2, native gRPC), and a small Python
fallback for machines without them (only good enough for the smoke run; it competes with the
server for CPU, so its numbers are not comparable).
"""

from __future__ import annotations

import http.client
import itertools
import math
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np


@dataclass(frozen=True, slots=True)
class Load:
    """One measurement: latency percentiles in milliseconds, throughput, failures."""

    driver: str
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    failures: int


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    script: Path | None = None,
    extra: Sequence[str] = (),
) -> Load:
    """wrk -c connections for ``seconds``, keep-alive, with the latency distribution; ``extra``:
    more options (``-H "authorization: Bearer ..."``)."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            *(["-s", str(script)] if script is not None else []),
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> Load:
    """wrk's report. It pads a unit of one letter with a trailing space ("99%    1.21s "), so a
    percentile of a second or more ends in blanks. A run without one completed response has no
    latency to report: its percentiles are NaN and its failures at least 1, never a KeyError."""
    percentile = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    done = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done is None or rps is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    requests = int(done.group(1))
    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(failures.group(1)) if failures else 0) + (
        sum(int(g) for g in errors.groups()) if errors else 0
    )
    if requests == 0 or not {"50", "99"} <= percentile.keys():
        return Load("wrk", requests, math.nan, math.nan, float(rps.group(1)), max(failed, 1))
    return Load(
        driver="wrk",
        requests=requests,
        p50_ms=_ms(percentile["50"]),
        p99_ms=_ms(percentile["99"]),
        rps=float(rps.group(1)),
        failures=failed,
    )


def h2load_grpc(
    url: str, message: bytes, *, connections: int, requests: int, extra: Sequence[str] = ()
) -> Load:
    """Native gRPC unary calls with h2load: the request framed by hand, per-request log."""
    with tempfile.TemporaryDirectory() as scratch:
        body = Path(scratch) / "request.grpc"
        body.write_bytes(b"\x00" + len(message).to_bytes(4, "big") + message)
        log = Path(scratch) / "requests.log"
        started = time.monotonic()
        out = subprocess.run(
            [
                "h2load",
                f"-n{requests}",
                f"-c{connections}",
                "-m1",
                "-d",
                str(body),
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                f"--log-file={log}",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
        elapsed = time.monotonic() - started
        lines = [line.split("\t") for line in log.read_text().splitlines() if line]
    latencies = sorted(int(line[2]) / 1000 for line in lines)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    return Load(
        driver="h2load",
        requests=len(latencies),
        p50_ms=_percentile(latencies, 50),
        p99_ms=_percentile(latencies, 99),
        rps=float(rps.group(1)) if rps else len(latencies) / elapsed,
        failures=sum(1 for line in lines if line[1] != "200"),
    )


def wrk_mix(
    base_url: str, paths: list[str], end: datetime, *, connections: int, seconds: float
) -> Load:
    """wrk over ``paths`` (each with one ``{end_time}``), every request at a moment of its own:
    request n (over all threads) asks ``paths[n % len(paths)]`` at ``end`` minus n seconds, so
    no two requests are alike and none can be served from a cache."""
    lua = "\n".join(
        [
            "local paths = {" + ", ".join(_lua_string(p) for p in paths) + "}",
            f"local last = {int(end.timestamp())}",
            "local threads, n = 0, 0",
            "function setup(thread) thread:set('tid', threads); threads = threads + 1 end",
            "function init(args) n = tid end",
            "function request()",
            "  local moment = os.date('!%Y-%m-%dT%H:%M:%SZ', last - n)",
            "  local path = paths[(n % #paths) + 1]:gsub('{end_time}', moment)",
            f"  n = n + {_MIX_THREADS}",  # thread t asks requests t, t + threads, ...
            "  return wrk.format('GET', path)",
            "end",
        ]
    )
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "mix.lua"
        script.write_text(lua + "\n")
        return wrk(
            base_url,
            connections=connections,
            seconds=seconds,
            threads=_MIX_THREADS,
            script=script,
        )


_MIX_THREADS = 2


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mix_path(paths: list[str], end: datetime, n: int) -> str:
    """Request n of the uncacheable mix (what the Lua script of :func:`wrk_mix` computes)."""
    moment = (end - timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return paths[n % len(paths)].replace("{end_time}", moment)


def python_mix(
    base_url: str, paths: list[str], end: datetime, *, connections: int, seconds: float
) -> Load:
    """What :func:`wrk_mix` does, from Python threads (the fallback without wrk)."""
    counter = itertools.count()
    return python_http(
        base_url,
        connections=connections,
        seconds=seconds,
        target=lambda _: mix_path(paths, end, next(counter)),
    )


def http_mix(
    base_url: str, paths: list[str], end: datetime, *, connections: int, seconds: float
) -> Load:
    """wrk_mix when wrk is installed, else the Python fallback."""
    if have("wrk"):
        return wrk_mix(base_url, paths, end, connections=connections, seconds=seconds)
    return python_mix(base_url, paths, end, connections=connections, seconds=seconds)


def python_http(
    url: str,
    *,
    connections: int,
    seconds: float,
    target: Callable[[int], str] | None = None,
) -> Load:
    """Keep-alive GETs from ``connections`` threads (the fallback without wrk); ``target(n)``
    gives the path of each request instead of ``url``'s."""
    parts = urlsplit(url)
    fixed = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            conn.request("GET", fixed if target is None else target(len(mine)))
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - start) * 1000)
            bad += response.status >= 300
        conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return Load(
        driver="python",
        requests=len(latencies),
        p50_ms=_percentile(latencies, 50),
        p99_ms=_percentile(latencies, 99),
        rps=len(latencies) / (time.monotonic() - started),
        failures=failures[0],
    )


def have(command: str) -> bool:
    """Is ``command`` installed?"""
    return shutil.which(command) is not None


def http_load(url: str, *, connections: int, seconds: float) -> Load:
    """wrk when installed (apt-get install wrk), else the Python fallback."""
    if have("wrk"):
        return wrk(url, connections=connections, seconds=seconds)
    return python_http(url, connections=connections, seconds=seconds)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan
