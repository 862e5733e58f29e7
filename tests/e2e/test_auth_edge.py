"""Who may ask: bearer tokens and TLS at the edge, through the real Envoy.

Keys, a self-signed certificate and tokens are made by the tests (edgekeys); Envoy is rendered
from the committed envoy.yaml with the AUTH_* and TLS_* options (devstack/edge_security.py) in
front of the session's server. Every kind of bad token gets 401 with the JSON error body over REST
and Server-Sent Events, UNAUTHENTICATED over native gRPC, and never an answer; `/health` and
grpc.health.v1 stay public; plain HTTP gets nothing once TLS is on.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import refused_start
from devstack import envoy, processes
from devstack.certificates import self_signed
from devstack.edge_security import EdgeSecurity, check
from edgekeys import AUDIENCE, ISSUER, PrivateKey, rsa_key, token, write_jwks
from mlanalytics import AnalyticsClient, AnalyticsError, cli
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc
from server.app import Service
from server.config import ConfigError, Settings

pytestmark = pytest.mark.e2e

PUBLIC = ("/health", "/grpc.health.v1.Health/", "/dashboard", "/dashboard/")  # the default
MESSAGE = "the bearer token is missing or invalid"
SSE = "/api/health/models/watch"


@dataclass(frozen=True)
class Edge:
    """Envoy with tokens and TLS on, the material it trusts, and clients of it."""

    proxy: processes.EnvoyProcess
    cert: Path
    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey

    def https(self, alpn: tuple[str, ...] = ("http/1.1",)) -> http.client.HTTPSConnection:
        context = ssl.create_default_context(cafile=str(self.cert))
        context.set_alpn_protocols(list(alpn))
        return http.client.HTTPSConnection(
            "localhost", self.proxy.port, context=context, timeout=30
        )

    def get(self, path: str, bearer: str | None = None) -> tuple[int, dict[str, str], bytes]:
        connection = self.https()
        try:
            connection.request("GET", path, headers=_authorization(bearer))
            reply = connection.getresponse()
            return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
        finally:
            connection.close()

    def channel(self) -> grpc.Channel:
        credentials = grpc.ssl_channel_credentials(self.cert.read_bytes())
        return grpc.secure_channel(f"localhost:{self.proxy.port}", credentials)


def _authorization(bearer: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {bearer}"} if bearer is not None else {}


def start_edge(service: Service, folder: Path, jwks: Path, cert: Path, key: Path) -> Any:
    security = EdgeSecurity(
        jwks_file=jwks,
        issuer=ISSUER,
        audiences=(AUDIENCE,),
        public_paths=PUBLIC,
        tls_cert_file=cert,
        tls_key_file=key,
    )
    return processes.start_envoy(
        envoy.render(
            listen_host="127.0.0.1", listen_port=0, backend_port=service.port, security=security
        )
    )


@pytest.fixture(scope="module")
def edge(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    folder = tmp_path_factory.mktemp("edge")
    keys: dict[str, PrivateKey] = {
        "rsa-1": rsa_key(),
        "ec-1": ec.generate_private_key(ec.SECP256R1()),
    }
    write_jwks(folder / "jwks.json", keys)
    cert, key = self_signed(folder)
    proxy = start_edge(service, folder, folder / "jwks.json", cert, key)
    rsa_private, ec_private = keys["rsa-1"], keys["ec-1"]
    assert isinstance(rsa_private, rsa.RSAPrivateKey)
    assert isinstance(ec_private, ec.EllipticCurvePrivateKey)
    yield Edge(proxy, cert, rsa_private, ec_private)
    proxy.stop()


def _bad_tokens(edge: Edge) -> dict[str, str | None]:
    """Every kind of token that must get no answer, by name (None: no header at all)."""
    now = int(time.time())
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}, "", algorithm="none")
    return {
        "missing": None,
        "empty": "",
        "malformed": "not-a-jwt",
        "garbage segments": "abc.def.ghi",
        "expired": token(edge.rsa, "rsa-1", iat=now - 900, exp=now - 600),
        "not yet valid": token(edge.rsa, "rsa-1", nbf=now + 600),
        "wrong issuer": token(edge.rsa, "rsa-1", iss="https://someone-else.test"),
        "wrong audience": token(edge.rsa, "rsa-1", aud="another-service"),
        "no audience": token(edge.rsa, "rsa-1", aud=None),
        "wrong key": token(rsa_key(), "rsa-1"),
        "unknown key id": token(rsa_key(), "rsa-9"),
        "alg none": unsigned,
        "signature cut off": token(edge.rsa, "rsa-1").rsplit(".", 1)[0] + ".",
    }


BAD = [
    "missing",
    "empty",
    "malformed",
    "garbage segments",
    "expired",
    "not yet valid",
    "wrong issuer",
    "wrong audience",
    "no audience",
    "wrong key",
    "unknown key id",
    "alg none",
    "signature cut off",
]


def test_the_bad_token_list_is_complete(edge: Edge) -> None:
    assert sorted(_bad_tokens(edge)) == sorted(BAD)


# --- REST ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD)
def test_rest_refuses_a_bad_token_with_the_json_error(edge: Edge, case: str) -> None:
    status, headers, body = edge.get("/api/health/models", _bad_tokens(edge)[case])
    assert status == 401, body
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"code": 16, "message": MESSAGE, "details": []}
    assert not any(name.startswith("grpc-") for name in headers)


@pytest.mark.parametrize("signer", ["rsa", "ec"])
def test_rest_answers_a_valid_token_rs256_and_es256(edge: Edge, signer: str) -> None:
    key = edge.rsa if signer == "rsa" else edge.ec
    status, headers, body = edge.get("/api/health/models", token(key, f"{signer}-1"))
    assert status == 200, body
    reply = json.loads(body)
    assert reply["success"] is True
    assert "total_models" in reply["data"]
    assert "authorization" not in headers


def test_rest_answers_within_the_clock_skew(edge: Edge) -> None:
    """A token that expired a few seconds ago is still taken (clocks differ a little), one that
    expired minutes ago is not (test above)."""
    now = int(time.time())
    status, _, body = edge.get("/api/health/models", token(edge.rsa, "rsa-1", exp=now - 5))
    assert status == 200, body


def test_every_rest_path_needs_a_token_but_health_and_the_desk_page(edge: Edge) -> None:
    for path in ("/", "/api/metrics/summary", "/metrics", "/openapi.json", "/docs", "/healthz"):
        status, _, body = edge.get(path)
        assert status == 401, (path, body)
    status, _, body = edge.get("/health")
    assert status == 200, body
    assert json.loads(body)["service"] == "ml-analytics-service"
    status, _, _ = edge.get("/health?verbose=1")
    assert status != 401  # the path decides, not the query string
    for page in ("/dashboard", "/dashboard/dashboard.js", "/dashboard/favicon-32x32.png"):
        status, _, body = edge.get(page)
        assert status == 200, (page, body[:200])
    # Envoy normalizes the path before jwt_authn sees it: no way into the API through /dashboard/.
    for path in (
        "/dashboard/../api/health/models",
        "/dashboard/%2e%2e/api/health/models",
        "/dashboard/..%2fapi/health/models",
        "/dashboard//../api/health/models",
    ):
        status, _, body = edge.get(path)
        assert status in (401, 404), (path, body)
        assert b"total_models" not in body, path


def test_cors_preflight_needs_no_token(edge: Edge) -> None:
    connection = edge.https()
    try:
        connection.request(
            "OPTIONS",
            "/api/health/models",
            headers={"origin": "http://localhost:3000", "access-control-request-method": "GET"},
        )
        reply = connection.getresponse()
        reply.read()
    finally:
        connection.close()
    assert reply.status == 200
    assert reply.getheader("access-control-allow-origin") == "http://localhost:3000"


# --- Server-Sent Events --------------------------------------------------------------------------


def _first_event(edge: Edge, bearer: str | None) -> tuple[int, str, bytes]:
    """The status, content type and the first event (or the error body) of the SSE watch."""
    connection = edge.https()
    try:
        connection.request(
            "GET", SSE, headers={**_authorization(bearer), "accept": "text/event-stream"}
        )
        reply = connection.getresponse()
        if reply.status != 200:
            return reply.status, reply.getheader("content-type", ""), reply.read()
        return reply.status, reply.getheader("content-type", ""), reply.readline()
    finally:
        connection.close()


@pytest.mark.parametrize("case", ["missing", "expired", "wrong key", "alg none", "wrong audience"])
def test_sse_refuses_a_bad_token(edge: Edge, case: str) -> None:
    status, content_type, body = _first_event(edge, _bad_tokens(edge)[case])
    assert status == 401
    assert content_type.startswith("application/json")
    assert json.loads(body) == {"code": 16, "message": MESSAGE, "details": []}


def test_sse_streams_with_a_valid_token(edge: Edge) -> None:
    status, _, line = _first_event(edge, token(edge.rsa, "rsa-1"))
    assert status == 200
    assert line.startswith(b"data: {")
    assert "total_models" in json.loads(line[len(b"data: ") :])["data"]


# --- native gRPC ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD)
def test_grpc_refuses_a_bad_token_unauthenticated(edge: Edge, case: str) -> None:
    bearer = _bad_tokens(edge)[case]
    metadata = (("authorization", f"Bearer {bearer}"),) if bearer is not None else ()
    with edge.channel() as channel:
        stub = health_service_pb2_grpc.HealthServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.ListModelHealth(
                health_service_pb2.ListModelHealthRequest(), timeout=30, metadata=metadata
            )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert raised.value.details() == MESSAGE


def test_grpc_answers_a_valid_token_unary_and_stream(edge: Edge) -> None:
    metadata = (("authorization", f"Bearer {token(edge.ec, 'ec-1')}"),)
    with edge.channel() as channel:
        stub = health_service_pb2_grpc.HealthServiceStub(channel)
        reply = stub.ListModelHealth(
            health_service_pb2.ListModelHealthRequest(), timeout=30, metadata=metadata
        )
        assert reply.success
        stream: Any = stub.WatchModelHealth(
            health_service_pb2.WatchModelHealthRequest(), timeout=30, metadata=metadata
        )
        first = next(stream)
        stream.cancel()
    assert first.HasField("data")


def test_grpc_watch_refuses_a_bad_token(edge: Edge) -> None:
    metadata = (("authorization", f"Bearer {_bad_tokens(edge)['expired']}"),)
    with edge.channel() as channel:
        stub = health_service_pb2_grpc.HealthServiceStub(channel)
        stream: Any = stub.WatchModelHealth(
            health_service_pb2.WatchModelHealthRequest(), timeout=30, metadata=metadata
        )
        with pytest.raises(grpc.RpcError) as raised:
            next(stream)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_grpc_health_stays_public(edge: Edge) -> None:
    with edge.channel() as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=30
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


# --- TLS -----------------------------------------------------------------------------------------


def _plain_get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_plain_http_gets_no_answer(edge: Edge) -> None:
    with pytest.raises((http.client.HTTPException, OSError)):
        _plain_get(edge.proxy.port, "/health")
    plain = grpc.insecure_channel(f"127.0.0.1:{edge.proxy.port}")
    with plain, pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("offered", "chosen"), [(("h2", "http/1.1"), "h2"), (("http/1.1",), "http/1.1")]
)
def test_alpn_offers_http2_and_http11(edge: Edge, offered: tuple[str, ...], chosen: str) -> None:
    context = ssl.create_default_context(cafile=str(edge.cert))
    context.set_alpn_protocols(list(offered))
    with (
        socket.create_connection(("127.0.0.1", edge.proxy.port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == chosen
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_an_untrusted_certificate_is_refused_by_the_client(edge: Edge) -> None:
    """The certificate is what the client checks: without it as a root, no connection."""
    context = ssl.create_default_context()  # the system's roots only
    connection = http.client.HTTPSConnection(
        "localhost", edge.proxy.port, context=context, timeout=30
    )
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            connection.request("GET", "/health")
    finally:
        connection.close()


# --- rotation ------------------------------------------------------------------------------------


def test_a_rotated_key_set_is_taken_after_an_envoy_restart(
    service: Service, tmp_path: Path
) -> None:
    """The documented rotation (docs/SECURITY.md): publish old + new, restart Envoy, sign with the
    new key, then drop the old one and restart again. Envoy 1.40 reads a local key set once, so a
    restart is what makes a new file count (checked here too: no restart, no change)."""
    old, new = rsa_key(), rsa_key()
    jwks = tmp_path / "jwks.json"
    cert, key = self_signed(tmp_path)
    edges: list[processes.EnvoyProcess] = []

    def restart() -> Edge:
        if edges:
            edges[-1].stop()
        edges.append(start_edge(service, tmp_path, jwks, cert, key))
        return Edge(edges[-1], cert, old, ec.generate_private_key(ec.SECP256R1()))

    try:
        write_jwks(jwks, {"old": old})
        edge = restart()
        assert edge.get("/api/health/models", token(old, "old"))[0] == 200
        assert edge.get("/api/health/models", token(new, "new"))[0] == 401

        write_jwks(jwks, {"old": old, "new": new})
        assert edge.get("/api/health/models", token(new, "new"))[0] == 401  # not re-read
        edge = restart()
        assert edge.get("/api/health/models", token(new, "new"))[0] == 200
        assert edge.get("/api/health/models", token(old, "old"))[0] == 200  # overlap

        write_jwks(jwks, {"new": new})
        edge = restart()
        assert edge.get("/api/health/models", token(new, "new"))[0] == 200
        assert edge.get("/api/health/models", token(old, "old"))[0] == 401
    finally:
        if edges:
            edges[-1].stop()


# --- settings ------------------------------------------------------------------------------------


def _settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_check_refuses_half_a_pair_and_bad_files(tmp_path: Path) -> None:
    write_jwks(tmp_path / "jwks.json", {"k": rsa_key()})
    cert, key = self_signed(tmp_path)
    (tmp_path / "empty.json").write_text('{"keys": []}')
    (tmp_path / "unreadable.pem").write_text("x")
    (tmp_path / "unreadable.pem").chmod(0)
    jwks = str(tmp_path / "jwks.json")
    auth = {"AUTH_JWKS_FILE": jwks, "AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": AUDIENCE}
    refused = {
        "TLS_CERT_FILE set without TLS_KEY_FILE": {"TLS_CERT_FILE": str(cert)},
        "AUTH_ISSUER, AUTH_AUDIENCE set without AUTH_JWKS_FILE": auth | {"AUTH_JWKS_FILE": ""},
        "cannot be read: No such file": auth | {"AUTH_JWKS_FILE": str(tmp_path / "gone.json")},
        "holds no keys": auth | {"AUTH_JWKS_FILE": str(tmp_path / "empty.json")},
        "must be a JSON Web Key Set": auth | {"AUTH_JWKS_FILE": str(cert)},
        "must be a PEM private key": {"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(cert)},
        "must be a PEM certificate chain": {"TLS_CERT_FILE": str(key), "TLS_KEY_FILE": str(key)},
    }
    if os.geteuid() != 0:  # root reads a file of mode 000
        refused["cannot be read: Permission denied"] = {
            "TLS_CERT_FILE": str(cert),
            "TLS_KEY_FILE": str(tmp_path / "unreadable.pem"),
        }
    for expected, env in refused.items():
        with pytest.raises(ConfigError, match=expected):
            check(_settings(**env))
    assert not check(_settings()).auth
    assert not check(_settings()).tls
    on = check(_settings(**auth, TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key)))
    assert on.auth
    assert on.tls
    assert on.public_paths == PUBLIC


def test_public_paths_must_be_paths() -> None:
    assert _settings(AUTH_PUBLIC_PATHS="/health, /metrics").auth_public_paths == (
        "/health",
        "/metrics",
    )
    assert _settings(AUTH_PUBLIC_PATHS="").auth_public_paths == ()
    with pytest.raises(ConfigError, match="AUTH_PUBLIC_PATHS"):
        _settings(AUTH_PUBLIC_PATHS="health")


def test_make_run_refuses_a_missing_key_file_with_one_line(tmp_path: Path) -> None:
    result = refused_start(
        [sys.executable, "-m", "devstack", "run"],
        TLS_CERT_FILE=str(tmp_path / "cert.pem"),
        TLS_KEY_FILE=str(tmp_path / "key.pem"),
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: TLS_CERT_FILE")
    assert "No such file" in lines[0]


def test_off_by_default_renders_the_committed_file_unchanged() -> None:
    plain = envoy.render(listen_port=0)
    assert envoy.render(listen_port=0, security=check(_settings())) == plain
    chain = plain["static_resources"]["listeners"][0]["filter_chains"][0]
    assert "transport_socket" not in chain
    names = [f["name"] for f in chain["filters"][0]["typed_config"]["http_filters"]]
    assert "envoy.filters.http.jwt_authn" not in names


def test_rendered_config_is_valid_for_envoy(tmp_path: Path) -> None:
    import yaml

    write_jwks(tmp_path / "jwks.json", {"k": rsa_key()})
    cert, key = self_signed(tmp_path)
    security = EdgeSecurity(
        jwks_file=tmp_path / "jwks.json",
        issuer=ISSUER,
        audiences=(AUDIENCE,),
        public_paths=PUBLIC,
        tls_cert_file=cert,
        tls_key_file=key,
    )
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(envoy.render(listen_port=0, security=security)))
    result = envoy.validate(path)
    assert result.returncode == 0, result.stderr[-2000:]


# --- clients -------------------------------------------------------------------------------------


def test_python_client_sends_its_token_over_tls(edge: Edge) -> None:
    roots = edge.cert.read_bytes()
    target = f"localhost:{edge.proxy.port}"
    with AnalyticsClient(target, token=token(edge.rsa, "rsa-1"), root_certificates=roots) as client:
        assert client.list_model_health().total_models >= 0
        watch = client.watch_model_health()
        first = next(iter(watch))
        assert first.HasField("data")
    anonymous = AnalyticsClient(target, root_certificates=roots)
    with anonymous, pytest.raises(AnalyticsError) as raised:
        anonymous.list_model_health()
    assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert MESSAGE in str(raised.value)


def test_cli_takes_token_and_ca(
    edge: Edge, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = ["--target", f"localhost:{edge.proxy.port}", "--ca", str(edge.cert)]
    good = token(edge.ec, "ec-1")
    assert cli.main([*target, "--token", good, "--json", "health", "models"]) == 0
    assert "total_models" in json.loads(capsys.readouterr().out)
    monkeypatch.setenv("MLANALYTICS_TOKEN", good)
    assert cli.main([*target, "--json", "health", "models"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("MLANALYTICS_TOKEN", _bad_tokens(edge)["expired"] or "")
    assert cli.main([*target, "health", "models"]) == 1
    assert MESSAGE in capsys.readouterr().err
    assert cli.main(["--ca", str(edge.cert.parent / "missing.pem"), "health"]) == 2
    assert "No such file" in capsys.readouterr().err


def test_openapi_declares_an_optional_bearer_scheme() -> None:
    doc = json.loads(resources.files("mlanalytics.v1").joinpath("openapi.json").read_text())
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["security"] == [{}, {"bearerAuth": []}]  # optional: off by default
    assert doc["paths"]["/health"]["get"]["security"] == [{}]
    assert doc["paths"]["/dashboard"]["get"]["security"] == [{}]
    assert doc["paths"]["/dashboard/{asset}"]["get"]["security"] == [{}]
    assert "security" not in doc["paths"]["/api/health/models"]["get"]
