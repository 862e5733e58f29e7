"""Who may ask: bearer tokens (Envoy's ``jwt_authn``) and TLS on the public port, both off unless
configured (docs/SECURITY.md).

:class:`EdgeSecurity` is what the ``AUTH_*`` and ``TLS_*`` settings ask of Envoy;
:func:`devstack.envoy.render` applies it to the configuration with :meth:`EdgeSecurity.apply`.
:func:`check` refuses bad settings (a missing or unreadable file, half of a pair) with one line
before anything starts, rather than an Envoy that exits at start-up or answers every call 401.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.config import ConfigError, Settings

#: The name of the token issuer in Envoy's configuration (one provider: the AUTH_* settings).
PROVIDER = "mlanalytics"
_JWT_AUTHN = "envoy.filters.http.jwt_authn"
_HCM = "envoy.filters.network.http_connection_manager"
_CORS = "envoy.filters.http.cors"


@dataclass(frozen=True)
class EdgeSecurity:
    """Tokens (when ``jwks_file`` is set) and TLS (when ``tls_cert_file`` is set) at the edge.

    ``public_paths``: paths served without a token; one ending in ``/`` is a prefix (every method
    of a gRPC service: ``/grpc.health.v1.Health/``), any other an exact path.
    """

    jwks_file: Path | None = None
    issuer: str = ""
    audiences: tuple[str, ...] = ()
    public_paths: tuple[str, ...] = ()
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeSecurity:
        """The AUTH_* and TLS_* settings, as absolute paths (Envoy may run in another folder)."""

        def path(value: str) -> Path | None:
            return Path(value).absolute() if value else None

        return cls(
            jwks_file=path(settings.auth_jwks_file),
            issuer=settings.auth_issuer,
            audiences=settings.auth_audience,
            public_paths=settings.auth_public_paths,
            tls_cert_file=path(settings.tls_cert_file),
            tls_key_file=path(settings.tls_key_file),
        )

    @property
    def auth(self) -> bool:
        return self.jwks_file is not None

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    def apply(self, config: dict[str, Any]) -> None:
        """Add ``jwt_authn`` (before the transcoder: a REST call is refused before it becomes a
        gRPC one) and the listener's TLS to a rendered envoy.yaml."""
        listener = config["static_resources"]["listeners"][0]
        chain = listener["filter_chains"][0]
        if self.auth:
            hcm = next(f for f in chain["filters"] if f["name"] == _HCM)["typed_config"]
            filters = hcm["http_filters"]
            after_cors = next(i for i, f in enumerate(filters) if f["name"] == _CORS) + 1
            filters.insert(after_cors, self._jwt_authn())
        if self.tls:
            chain["transport_socket"] = self._tls()

    def _jwt_authn(self) -> dict[str, Any]:
        assert self.jwks_file is not None
        public = [
            {"match": {"prefix": path} if path.endswith("/") else {"path": path}}
            for path in self.public_paths
        ]
        provider = {
            "issuer": self.issuer,
            "audiences": list(self.audiences),
            # Read once, at start-up: Envoy 1.40's jwt_authn does not re-read a local key set
            # (not even with a watched_directory), so a new key set needs an Envoy restart
            # (docs/SECURITY.md, rotating keys).
            "local_jwks": {"filename": str(self.jwks_file)},
            "forward": False,  # the server never sees the token
            "clock_skew_seconds": 30,  # exp and nbf, give or take this much
        }
        return {
            "name": _JWT_AUTHN,
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3"
                ".JwtAuthentication",
                "providers": {PROVIDER: provider},
                "rules": [
                    *public,
                    {"match": {"prefix": "/"}, "requires": {"provider_name": PROVIDER}},
                ],
                "bypass_cors_preflight": True,
            },
        }

    def _tls(self) -> dict[str, Any]:
        assert self.tls_cert_file is not None
        assert self.tls_key_file is not None
        return {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3"
                ".DownstreamTlsContext",
                "common_tls_context": {
                    "alpn_protocols": ["h2", "http/1.1"],
                    "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                    "tls_certificates": [
                        {
                            "certificate_chain": {"filename": str(self.tls_cert_file)},
                            "private_key": {"filename": str(self.tls_key_file)},
                        }
                    ],
                },
            },
        }


def check(settings: Settings) -> EdgeSecurity:
    """The edge's security settings, checked: :class:`ConfigError` (one line) when one of a pair
    is set without the other or a file is missing, unreadable or not what it should be."""
    security = EdgeSecurity.from_settings(settings)
    auth = {
        "AUTH_JWKS_FILE": settings.auth_jwks_file,
        "AUTH_ISSUER": settings.auth_issuer,
        "AUTH_AUDIENCE": ",".join(settings.auth_audience),
    }
    _all_or_none(auth)
    _all_or_none({"TLS_CERT_FILE": settings.tls_cert_file, "TLS_KEY_FILE": settings.tls_key_file})
    if security.jwks_file is not None:
        text = _read("AUTH_JWKS_FILE", security.jwks_file)
        try:
            keys = json.loads(text)["keys"]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"AUTH_JWKS_FILE ({security.jwks_file}) must be a JSON Web Key Set "
                '({"keys": [...]})'
            ) from None
        if not isinstance(keys, list) or not keys:
            raise ConfigError(f"AUTH_JWKS_FILE ({security.jwks_file}) holds no keys")
    if security.tls_cert_file is not None and security.tls_key_file is not None:
        if "-----BEGIN CERTIFICATE-----" not in _read("TLS_CERT_FILE", security.tls_cert_file):
            raise ConfigError(
                f"TLS_CERT_FILE ({security.tls_cert_file}) must be a PEM certificate chain"
            )
        if "PRIVATE KEY-----" not in _read("TLS_KEY_FILE", security.tls_key_file):
            raise ConfigError(f"TLS_KEY_FILE ({security.tls_key_file}) must be a PEM private key")
    return security


def self_signed_for_localhost(cert_file: Path) -> bool:
    """Whether the first certificate of ``cert_file`` (the leaf) signed itself and names
    ``localhost``: then a client can trust exactly it (grpcurl ``-cacert``, curl ``--cacert``)
    to reach ``localhost``. False for a certificate that does not parse."""
    from cryptography import x509  # make run's banner only (the `local` extra)

    try:
        leaf = x509.load_pem_x509_certificate(cert_file.read_bytes())
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    return leaf.issuer == leaf.subject and "localhost" in names.get_values_for_type(x509.DNSName)


def _all_or_none(values: dict[str, str]) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing and len(missing) < len(values):
        given = [name for name in values if name not in missing]
        raise ConfigError(f"{', '.join(given)} set without {', '.join(missing)}: set all or none")


def _read(name: str, path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise ConfigError(f"{name} ({path}) cannot be read: {reason}") from None
