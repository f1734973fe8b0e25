"""API keys: issue, authenticate, revoke; the route x role matrix; the admin keys CLI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from node_gateway.api.deps import Allow
from node_gateway.cli import main
from node_gateway.config import GatewaySettings
from node_gateway.main import create_app
from node_gateway.services.auth import ROLES, AuthError, authenticate, issue_key, keys, revoke
from node_gateway.store import migrate, open_db

# Routes anyone may call without a key; every other route must declare its roles.
PUBLIC = {"/health", "/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The route x role matrix: expected status per role (declared once, here).
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/v1/whoami"): dict.fromkeys(ROLES, 200),
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_db(tmp_path / "gateway.db")
    migrate(conn)
    yield conn
    conn.close()


def test_issue_and_authenticate(db: sqlite3.Connection) -> None:
    key_id, key = issue_key(db, "customs-2900", "officer")
    principal = authenticate(db, key)
    assert (principal.member_id, principal.role, principal.key_id) == (
        "customs-2900",
        "officer",
        key_id,
    )
    stored = keys(db)[0]
    assert key.split("_")[-1] not in stored.key_hash and len(stored.key_hash) == 64


@pytest.mark.parametrize(
    ("presented", "message"),
    [
        (None, "no API key"),
        ("", "no API key"),
        ("Bearer x", "malformed"),
        ("cr_abc", "malformed"),
        ("cr_0000000000000000_wrong", "unknown"),
    ],
)
def test_authenticate_refuses_bad_keys(
    db: sqlite3.Connection, presented: str | None, message: str
) -> None:
    with pytest.raises(AuthError, match=message):
        authenticate(db, presented)


def test_wrong_secret_for_existing_id_is_unknown(db: sqlite3.Connection) -> None:
    key_id, _ = issue_key(db, "customs-2900", "admin")
    with pytest.raises(AuthError, match="unknown"):
        authenticate(db, f"cr_{key_id}_guess")


def test_revoked_key_is_refused(db: sqlite3.Connection) -> None:
    key_id, key = issue_key(db, "platform-a", "platform")
    assert revoke(db, key_id) is True
    assert revoke(db, key_id) is False
    with pytest.raises(AuthError, match="revoked"):
        authenticate(db, key)


def test_issue_key_rejects_unknown_role(db: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="role"):
        issue_key(db, "x", "superuser")


# ---------------------------------------------------------------- the route x role matrix


@pytest.fixture
def app_and_keys(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = GatewaySettings(area_label="customs-2900", customs_code="2900", data_dir=tmp_path)
    app = create_app(settings)
    conn = app.state.connections.get()
    role_keys = {role: issue_key(conn, f"member-{role}", role)[1] for role in ROLES}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, role_keys
    app.state.connections.close()


def _declared_roles(route: APIRoute) -> frozenset[str] | None:
    for dep in route.dependant.dependencies:
        if isinstance(dep.call, Allow):
            return dep.call.roles
    return None


def test_every_route_declares_roles_and_is_in_the_matrix(
    app_and_keys: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = app_and_keys
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    for route in routes:
        if route.path in PUBLIC:
            continue
        assert _declared_roles(route) is not None, f"{route.path} declares no roles"
        for method in route.methods or ():
            assert (method, route.path) in MATRIX, f"{method} {route.path} missing from MATRIX"


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_route_role_matrix(
    app_and_keys: tuple[TestClient, dict[str, str]], method: str, path: str
) -> None:
    client, role_keys = app_and_keys
    for role, expected in MATRIX[(method, path)].items():
        r = client.request(method, path, headers={"Authorization": f"Bearer {role_keys[role]}"})
        assert r.status_code == expected, (role, r.text)
    r = client.request(method, path)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = client.request(method, path, headers={"X-API-Key": "cr_0_bad"})
    assert r.status_code == 401


def test_whoami_names_member_and_role(app_and_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, role_keys = app_and_keys
    body = client.get("/v1/whoami", headers={"X-API-Key": role_keys["auditor"]}).json()
    assert body["member_id"] == "member-auditor" and body["role"] == "auditor"


def test_allow_without_roles_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        Allow()


# ---------------------------------------------------------------- CLI


def test_admin_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    db_path = str(tmp_path / "gateway-2900.db")
    runner = CliRunner()
    created = runner.invoke(
        main,
        [
            "admin",
            "keys",
            "create",
            "--db",
            db_path,
            "--member",
            "platform-a",
            "--role",
            "platform",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    info = json.loads(created.output)
    listed = runner.invoke(main, ["admin", "keys", "list", "--db", db_path, "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows[0]["keyId"] == info["keyId"] and info["key"] not in listed.output
    assert (
        runner.invoke(main, ["admin", "keys", "revoke", "--db", db_path, info["keyId"]]).exit_code
        == 0
    )
    again = runner.invoke(main, ["admin", "keys", "revoke", "--db", db_path, info["keyId"]])
    assert again.exit_code == 1
    bad_role = runner.invoke(
        main, ["admin", "keys", "create", "--db", db_path, "--member", "x", "--role", "root"]
    )
    assert bad_role.exit_code == 2 and "Traceback" not in bad_role.output
