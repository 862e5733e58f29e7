"""`make run`'s banner: http:// and grpcurl -plaintext by default; with TLS, https:// and a
grpcurl (and curl) that trusts the certificate when it is self-signed for localhost, or skips the
check when it cannot be verified for localhost from here; with tokens, the header to send."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.certificates import self_signed
from devstack.edge_security import EdgeSecurity, self_signed_for_localhost
from devstack.run import banner
from edgekeys import AUDIENCE, ISSUER

WHERE = "PostgreSQL at db:5432 (read-only)"
ADMIN = "http://127.0.0.1:9901"


def _lines(security: EdgeSecurity) -> dict[str, str]:
    """The banner's lines by their first word."""
    text = banner(security, 8004, [50051], WHERE, ADMIN)
    assert "ML Analytics Service is up" in text
    return {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}


def test_plain() -> None:
    lines = _lines(EdgeSecurity())
    assert "http://localhost:8004/docs" in lines["docs"]
    assert "http://localhost:8004/dashboard" in lines["desk"]
    assert "http://localhost:8004/   (try /api/health/models)" in lines["REST"]
    assert lines["gRPC"].endswith("grpcurl -plaintext localhost:8004 list)")
    assert "localhost:50051 direct" in lines["gRPC"]
    assert "https://" not in "".join(lines.values())
    assert "TLS" not in lines
    assert "auth" not in lines
    assert lines["data"] == f"  data  {WHERE}"
    assert lines["envoy"].startswith(f"  envoy {ADMIN}/clusters")


def test_tls_with_a_certificate_self_signed_for_localhost(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    assert self_signed_for_localhost(cert)
    lines = _lines(EdgeSecurity(tls_cert_file=cert, tls_key_file=key))
    for name, path in (("docs", "/docs"), ("desk", "/dashboard"), ("REST", "/")):
        assert f"https://localhost:8004{path}" in lines[name]
        assert "http://localhost" not in lines[name]
    assert f"curl --cacert {cert} https://localhost:8004/api/health/models" in lines["REST"]
    assert lines["gRPC"].endswith(f"grpcurl -cacert {cert} localhost:8004 list)")
    assert "-plaintext" not in lines["gRPC"]
    assert str(cert) in lines["TLS"]
    assert "auth" not in lines


def test_tls_with_a_certificate_for_another_name(tmp_path: Path) -> None:
    """Not valid for localhost (the banner's address): grpcurl and curl are told not to check."""
    cert, key = self_signed(tmp_path, host="desk.example")
    assert not self_signed_for_localhost(cert)
    lines = _lines(EdgeSecurity(tls_cert_file=cert, tls_key_file=key))
    assert "https://localhost:8004/dashboard" in lines["desk"]
    assert "curl --insecure https://localhost:8004/api/health/models" in lines["REST"]
    assert lines["gRPC"].endswith("grpcurl -insecure localhost:8004 list)")
    assert "-cacert" not in lines["gRPC"]


def test_tokens(tmp_path: Path) -> None:
    public = ("/health", "/dashboard")
    security = EdgeSecurity(
        jwks_file=tmp_path / "jwks.json", issuer=ISSUER, audiences=(AUDIENCE,), public_paths=public
    )
    lines = _lines(security)
    header = '-H "authorization: Bearer $TOKEN"'
    assert lines["gRPC"].endswith(f"grpcurl -plaintext {header} localhost:8004 list)")
    assert f"curl {header} http://localhost:8004/api/health/models" in lines["REST"]
    assert ISSUER in lines["auth"]
    assert "/health, /dashboard" in lines["auth"]


@pytest.mark.parametrize("content", [b"", b"not a certificate"])
def test_a_file_that_is_no_certificate_is_not_trusted(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "cert.pem").write_bytes(content)
    assert not self_signed_for_localhost(tmp_path / "cert.pem")
    assert not self_signed_for_localhost(tmp_path / "missing.pem")
