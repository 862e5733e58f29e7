"""Settings added for hardening: the gRPC port's own bind address, the cache's byte bound and the
thread count that admission control needs."""

from __future__ import annotations

import pytest

from server.config import ConfigError, Settings


class TestHardeningSettings:
    def test_defaults(self) -> None:
        settings = Settings.from_env({})
        assert settings.grpc_host == "127.0.0.1"  # the direct gRPC port is loopback-only
        assert settings.service_host == "0.0.0.0"  # Envoy's public port is not
        assert settings.cache_max_bytes == 32 * 1024 * 1024

    def test_read_from_the_environment(self) -> None:
        settings = Settings.from_env(
            {"GRPC_HOST": "10.0.0.5", "CACHE_MAX_BYTES": "1048576", "GRPC_MAX_WORKERS": "5"}
        )
        assert settings.grpc_host == "10.0.0.5"
        assert settings.cache_max_bytes == 1048576
        assert settings.grpc_max_workers == 5

    def test_grpc_host_does_not_follow_service_host(self) -> None:
        assert Settings.from_env({"SERVICE_HOST": "0.0.0.0"}).grpc_host == "127.0.0.1"

    @pytest.mark.parametrize(
        ("name", "value"),
        [("CACHE_MAX_BYTES", "-1"), ("CACHE_MAX_BYTES", "lots"), ("GRPC_MAX_WORKERS", "4")],
    )
    def test_bad_values_are_one_line_errors(self, name: str, value: str) -> None:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})
