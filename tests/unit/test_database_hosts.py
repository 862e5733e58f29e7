"""Several database hosts: parsing POSTGRES_HOST/POSTGRES_PORT lists and the libpq options."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from conftest import refused_start
from devstack.processes import SERVER_COMMAND
from server.config import ConfigError, Settings
from server.db import conninfo, multi_host_options

# The three messages of a bad host or port list, in full; each case fills in its values.
COUNTS = (
    "POSTGRES_PORT lists {} for {} in POSTGRES_HOST: give one port for every host, or one per"
    " host in the same order"
)
HOSTS = (
    "POSTGRES_HOST must be a host name, address or socket directory, or a comma-separated list"
    " of them, got {}"
)
PORTS = (
    "POSTGRES_PORT must be an integer in 1..65535, or a comma-separated list of them (one per"
    " POSTGRES_HOST), got {}"
)


class TestHostLists:
    def test_one_host_is_as_before(self) -> None:
        settings = Settings.from_env({"POSTGRES_HOST": "db.internal", "POSTGRES_PORT": "6543"})
        assert settings.postgres_addresses == (("db.internal", 6543),)
        assert (settings.postgres_host, settings.postgres_port) == ("db.internal", 6543)
        parts = conninfo_to_dict(conninfo(settings))
        assert (parts["host"], parts["port"]) == ("db.internal", "6543")
        assert "target_session_attrs" not in parts
        assert "load_balance_hosts" not in parts

    def test_one_port_serves_every_host(self) -> None:
        settings = Settings.from_env({"POSTGRES_HOST": "a, b ,c", "POSTGRES_PORT": "5433"})
        assert settings.postgres_addresses == (("a", 5433), ("b", 5433), ("c", 5433))

    def test_a_port_per_host_in_order(self) -> None:
        settings = Settings.from_env(
            {"POSTGRES_HOST": "primary,replica", "POSTGRES_PORT": "5432, 5433"}
        )
        assert settings.postgres_addresses == (("primary", 5432), ("replica", 5433))
        parts = conninfo_to_dict(conninfo(settings))
        assert (parts["host"], parts["port"]) == ("primary,replica", "5432,5433")

    def test_the_same_host_twice_on_two_ports(self) -> None:
        settings = Settings.from_env(
            {"POSTGRES_HOST": "127.0.0.1,127.0.0.1", "POSTGRES_PORT": "1,2"}
        )
        assert settings.postgres_addresses == (("127.0.0.1", 1), ("127.0.0.1", 2))

    def test_settings_built_in_code_take_a_host_list(self) -> None:
        settings = Settings(postgres_host="a,b", postgres_port=5432)
        assert settings.postgres_addresses == (("a", 5432), ("b", 5432))
        with pytest.raises(ConfigError, match="POSTGRES_PORT lists 3 ports for 2 hosts"):
            _ = Settings(postgres_host="a,b", postgres_ports=(1, 2, 3)).postgres_addresses

    def test_a_port_list_without_a_host_is_ignored_like_a_port(self) -> None:
        # Unset POSTGRES_HOST: `make run` embeds PostgreSQL and never reads the port.
        assert Settings.from_env({"POSTGRES_PORT": "1,2"}).postgres_addresses == ()

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            (
                {"POSTGRES_HOST": "a,b,c", "POSTGRES_PORT": "5432,5433"},
                COUNTS.format("2 ports", "3 hosts"),
            ),
            (
                {"POSTGRES_HOST": "a", "POSTGRES_PORT": "5432,5433"},
                COUNTS.format("2 ports", "1 host"),
            ),
            ({"POSTGRES_HOST": "a,,b"}, HOSTS.format("'a,,b'")),
            ({"POSTGRES_HOST": "a,b c"}, HOSTS.format("'a,b c'")),
            ({"POSTGRES_HOST": "a,b", "POSTGRES_PORT": "5432,"}, PORTS.format("'5432,'")),
            ({"POSTGRES_HOST": "a,b", "POSTGRES_PORT": "5432,70000"}, PORTS.format("'5432,70000'")),
        ],
    )
    def test_bad_lists_say_what_is_wrong_in_one_line(
        self, env: dict[str, str], expected: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env(env)
        assert str(caught.value) == expected

    def test_a_bad_list_stops_the_start_with_one_line(self) -> None:
        result = refused_start(SERVER_COMMAND, POSTGRES_HOST="a,b,c", POSTGRES_PORT="1,2")
        assert result.stderr.strip().splitlines() == [
            "configuration error: " + COUNTS.format("2 ports", "3 hosts")
        ]


class TestMultiHostOptions:
    def test_one_host_needs_none(self) -> None:
        assert multi_host_options(1, 180000) == {}

    @pytest.mark.parametrize(
        ("libpq", "expected"),
        [
            (130000, {}),
            (140000, {"target_session_attrs": "prefer-standby"}),
            (150007, {"target_session_attrs": "prefer-standby"}),
            (160000, {"target_session_attrs": "prefer-standby", "load_balance_hosts": "random"}),
        ],
    )
    def test_only_what_the_libpq_knows(self, libpq: int, expected: dict[str, str]) -> None:
        assert multi_host_options(2, libpq) == expected

    def test_the_bundled_libpq_knows_both(self) -> None:
        # psycopg[binary] bundles its own libpq (version 18 in psycopg-binary 3.3.9). If a build
        # links an older one, the service still fails over, in host order (see above).
        assert psycopg.pq.version() >= 160000
        parts = conninfo_to_dict(conninfo(Settings(postgres_host="a,b")))
        assert parts["target_session_attrs"] == "prefer-standby"
        assert parts["load_balance_hosts"] == "random"
        # libpq itself accepts the string (it is parsed, not connected).
        assert psycopg.pq.Conninfo.parse(conninfo(Settings(postgres_host="a,b")).encode())
