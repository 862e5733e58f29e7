"""What TLS and bearer tokens cost per call at the edge: one server, Envoy started twice in front
of it (plain, and with TLS + jwt_authn as docs/SECURITY.md describes), the same load on each.

    python -m bench.edge_cost --dsn ADMIN_DSN [--seconds 3] [--rounds 3]

A scratch database with the schema and no rows is created and dropped (the calls measured are
cheap and cached, so what differs is the edge's own work). REST: wrk, 8 keep-alive connections
(one TLS handshake each, then a JWT verification per request); gRPC: h2load, 8 connections.
The rounds alternate plain and secured; medians are printed, with Envoy's own CPU time per call
(the cost that does not depend on how busy the machine is). Needs wrk and h2load.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median

import jwt
import psutil
import psycopg
from cryptography.hazmat.primitives.asymmetric import rsa

from bench import load
from devstack import envoy, processes
from devstack.certificates import self_signed
from devstack.edge_security import EdgeSecurity
from devstack.seed import create_schema
from mlanalytics.v1 import health_service_pb2

ISSUER, AUDIENCE = "https://issuer.bench", "mlanalytics"
PATH = "/api/health/models"
GRPC_PATH = "/mlanalytics.v1.HealthService/ListModelHealth"
CONNECTIONS = 8


def material(folder: Path) -> tuple[EdgeSecurity, str]:
    """A key set, a self-signed certificate, and a token the key set accepts."""
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    (folder / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k", "alg": "RS256"}]}))
    cert, key = self_signed(folder)
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 3600},
        signing,
        algorithm="RS256",
        headers={"kid": "k"},
    )
    security = EdgeSecurity(
        jwks_file=folder / "jwks.json",
        issuer=ISSUER,
        audiences=(AUDIENCE,),
        public_paths=("/health",),
        tls_cert_file=cert,
        tls_key_file=key,
    )
    return security, token


def envoy_cpu_s(proxy: processes.EnvoyProcess) -> float:
    """User + system CPU seconds of the Envoy under the wrapper so far."""
    [process] = [
        p for p in psutil.Process(proxy.process.pid).children(recursive=True) if p.name() == "envoy"
    ]
    times = process.cpu_times()
    return float(times.user + times.system)


def measure(port: int, secured: bool, token: str, seconds: float) -> tuple[load.Load, load.Load]:
    scheme = "https" if secured else "http"
    header = ["-H", f"authorization: Bearer {token}"] if secured else []
    rest = load.wrk(
        f"{scheme}://127.0.0.1:{port}{PATH}",
        connections=CONNECTIONS,
        seconds=seconds,
        extra=header,
    )
    grpc = load.h2load_grpc(
        f"{scheme}://127.0.0.1:{port}{GRPC_PATH}",
        health_service_pb2.ListModelHealthRequest().SerializeToString(),
        connections=CONNECTIONS,
        requests=int(2000 * seconds),
        extra=header,
    )
    return rest, grpc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", required=True, help="a superuser DSN (a scratch database)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name = f"mlanalytics_edge_{uuid.uuid4().hex[:10]}"
    dsn = processes.create_database(args.dsn, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            create_schema(conn)
        with tempfile.TemporaryDirectory() as scratch:
            security, token = material(Path(scratch))
            server = processes.start_server(dsn=dsn, quiet=True)
            try:
                results: dict[str, list[tuple[load.Load, load.Load]]] = {"off": [], "on": []}
                cpu_us: dict[str, list[float]] = {"off": [], "on": []}
                for _ in range(args.rounds):
                    for mode in ("off", "on"):
                        proxy = processes.start_envoy(
                            envoy.render(
                                listen_host="127.0.0.1",
                                listen_port=0,
                                backend_port=server.port,
                                security=security if mode == "on" else None,
                            ),
                            quiet=True,
                        )
                        try:
                            cpu = envoy_cpu_s(proxy)
                            rest, grpc = measure(proxy.port, mode == "on", token, args.seconds)
                            cpu = envoy_cpu_s(proxy) - cpu
                            results[mode].append((rest, grpc))
                            cpu_us[mode].append(1e6 * cpu / (rest.requests + grpc.requests))
                            # A refused gRPC call is HTTP 200 (grpc-status 16) to h2load.
                            denied = proxy.stat("http.public.jwt_authn.denied")
                            if denied:
                                raise RuntimeError(f"{denied} calls were refused their token")
                            if mode == "on":
                                allowed = proxy.stat("http.public.jwt_authn.allowed")
                                print(f"round: {allowed} calls verified", flush=True)
                        finally:
                            proxy.stop()
            finally:
                server.stop()
    finally:
        processes.drop_database(args.dsn, name)
    print(f"GET {PATH} (wrk, {CONNECTIONS} conn) and {GRPC_PATH} (h2load, {CONNECTIONS} conn);")
    print(f"medians of {args.rounds} rounds of {args.seconds:g} s")
    print(
        "edge            REST p50 ms  REST p99 ms  REST req/s  gRPC p50 ms  gRPC req/s"
        "  Envoy CPU us/call  failures"
    )
    for mode, label in (("off", "plain"), ("on", "TLS + JWT")):
        rests = [r for r, _ in results[mode]]
        grpcs = [g for _, g in results[mode]]
        print(
            f"{label:<15} {median(r.p50_ms for r in rests):>11.3f}"
            f"  {median(r.p99_ms for r in rests):>11.3f}  {median(r.rps for r in rests):>10.0f}"
            f"  {median(g.p50_ms for g in grpcs):>11.3f}  {median(g.rps for g in grpcs):>10.0f}"
            f"  {median(cpu_us[mode]):>17.1f}"
            f"  {sum(r.failures for r in rests) + sum(g.failures for g in grpcs):>8}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
