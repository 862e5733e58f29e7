"""The layout's rules, checked on the source: each kind of work stays in its folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = sorted((ROOT / "server").rglob("*.py"))
ANALYTICS = sorted((ROOT / "analytics").rglob("*.py"))
CLIENT = sorted(
    p
    for p in (ROOT / "clients" / "python" / "mlanalytics").rglob("*.py")
    if "v1" not in p.relative_to(ROOT / "clients" / "python" / "mlanalytics").parts
)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` counts as a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _generated(imported: set[str]) -> set[str]:
    return {name for name in imported if name.startswith("mlanalytics.v1")}


@pytest.mark.parametrize("path", SERVER, ids=_relative)
def test_only_server_api_imports_generated_code(path: Path) -> None:
    if _relative(path).startswith("server/api/"):
        return
    assert not _generated(_imports(path))


@pytest.mark.parametrize("path", SERVER, ids=_relative)
def test_no_module_both_computes_and_builds_messages(path: Path) -> None:
    imported = _imports(path)
    calls_analytics = any(
        name.startswith("analytics.") and name.rsplit(".", 1)[-1][:1].islower() for name in imported
    )
    assert not (calls_analytics and _generated(imported)), "analytics functions and protobuf"


@pytest.mark.parametrize("path", SERVER, ids=_relative)
def test_only_repositories_and_db_run_sql(path: Path) -> None:
    name = _relative(path)
    if name.startswith("server/repositories/") or name == "server/db.py":
        return
    assert not {"psycopg", "psycopg.sql"} & _imports(path)
    assert ".execute(" not in path.read_text()


@pytest.mark.parametrize("path", ANALYTICS, ids=_relative)
def test_analytics_is_pure(path: Path) -> None:
    imported = _imports(path)
    assert not {n for n in imported if n.split(".")[0] in {"grpc", "psycopg", "server"}}
    assert not _generated(imported)


@pytest.mark.parametrize("path", SERVER, ids=_relative)
def test_the_server_uses_only_the_generated_code_of_the_client_package(path: Path) -> None:
    hand_written = {
        name
        for name in _imports(path)
        if name.split(".")[0] == "mlanalytics" and not name.startswith("mlanalytics.v1")
    }
    assert not hand_written, "the server imports the hand-written client"


def test_the_client_package_is_found() -> None:
    assert {p.name for p in CLIENT} >= {"client.py", "cli.py", "parameters.py", "openapi.py"}


@pytest.mark.parametrize("path", CLIENT, ids=_relative)
def test_the_client_imports_neither_the_server_nor_the_local_stack(path: Path) -> None:
    imported = {name.split(".")[0] for name in _imports(path)}
    assert not imported & {"server", "devstack", "analytics", "bench"}
