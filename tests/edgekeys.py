"""Keys, certificates and bearer tokens made by the tests, for Envoy's ``jwt_authn`` and TLS
(docs/SECURITY.md): a JSON Web Key Set file of RSA and EC public keys, JWTs signed by their private
halves (PyJWT), a self-signed certificate for localhost and 127.0.0.1 (cryptography)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

#: The issuer and audience of the tests' tokens (AUTH_ISSUER, AUTH_AUDIENCE).
ISSUER = "https://issuer.test"
AUDIENCE = "mlanalytics"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _jwk(key: PrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        jwk["alg"] = "RS256"
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        jwk["alg"] = "ES256"
    return {**jwk, "kid": kid, "use": "sig"}


def write_jwks(path: Path, keys: dict[str, PrivateKey]) -> None:
    """The public halves of ``keys`` (by key id) as a JSON Web Key Set, replaced atomically."""
    staged = path.with_suffix(".new")
    staged.write_text(json.dumps({"keys": [_jwk(key, kid) for kid, key in keys.items()]}))
    os.replace(staged, path)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key: PrivateKey, kid: str, **claims: Any) -> str:
    """A JWT signed by ``key``: valid for five minutes from now unless ``claims`` say otherwise
    (a claim given as None is left out)."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "desk", "iat": now, "exp": now + 300} | claims
    algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    payload = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})
