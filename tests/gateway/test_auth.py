"""API keys: issue, authenticate, revoke; the route x role matrix; the admin keys CLI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from clients.bindings import member_id
from node_gateway.api.deps import Allow, peer_signed
from node_gateway.cli.main import main
from node_gateway.config import GatewaySettings
from node_gateway.main import create_app
from node_gateway.services.auth import (
    PREFIX,
    ROLES,
    AuthError,
    authenticate,
    issue_key,
    keys,
    revoke,
)
from node_gateway.store import migrate, open_db
from tests.utils.gateway import CENTRE, UNKNOWN_ID, GatewayWorld

# Routes anyone may call without a key; every other route must declare its roles. The console
# is a static page: its data calls go to the API with the key its user typed.
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
CONSOLE = {"/console", "/console/gateway.json", "/console/static/{name}"}
PUBLIC = {"/health", "/ready", *DOCS, *CONSOLE}


def only(status: int, *roles: str) -> dict[str, int]:
    """`status` for `roles` (they reach the handler), 403 for every other role."""
    return {role: status if role in roles else 403 for role in ROLES}


READERS = ("officer", "system", "platform", "auditor")
# The route x role matrix: expected status per role (declared once, here), for a request the
# handler answers without writing: unknown ids (404), no body or no required query (422).
# It is played against the return centre's live gateway, so an allowed role reaches the handler.
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/v1/whoami"): dict.fromkeys(ROLES, 200),
    ("GET", "/metrics"): only(200, "admin", "system"),
    ("POST", "/v1/tax-records"): only(422, "system", "officer"),
    ("POST", "/v1/tax-records/bulk"): only(422, "system", "officer"),
    ("POST", "/v1/tax-records/ceb"): only(422, "system", "officer"),
    ("POST", "/v1/tax-payments"): only(422, "system", "officer"),
    ("GET", "/v1/cases/lookup"): only(422, *READERS),
    ("GET", "/v1/cases/{case_id}/header"): only(404, *READERS),
    ("GET", "/v1/cases/{case_id}"): only(404, *READERS),
    ("GET", "/v1/cases/{case_id}/trail"): only(404, *READERS),
    ("POST", "/v1/returns"): only(422, "platform"),
    ("GET", "/v1/returns"): only(200, *READERS),
    ("GET", "/v1/returns/{return_id}"): only(404, *READERS),
    ("POST", "/v1/returns/{return_id}/arrival"): only(422, "officer", "system"),
    ("POST", "/v1/returns/{return_id}/inspection"): only(422, "officer", "system"),
    ("POST", "/v1/returns/{return_id}/recognition"): only(422, "officer"),
    ("POST", "/v1/returns/{return_id}/dispute"): only(422, "officer"),
    ("POST", "/v1/returns/{return_id}/settlement"): only(422, "officer", "system"),
    ("GET", "/v1/operations/{op_id}"): dict.fromkeys(ROLES, 404),
    ("POST", "/v1/verify"): dict.fromkeys(ROLES, 422),
    ("GET", "/v1/audit/report"): only(422, "auditor", "officer", "admin"),
    ("GET", "/v1/governance/members"): only(200, "admin", "officer", "auditor"),
    ("GET", "/v1/governance/proposals"): only(200, "admin", "officer", "auditor"),
    ("GET", "/v1/governance/proposals/{proposal_id}"): only(404, "admin", "officer", "auditor"),
    ("POST", "/v1/governance/proposals"): only(422, "admin"),
    ("POST", "/v1/governance/proposals/{proposal_id}/votes"): only(404, "admin"),
    ("GET", "/v1/ledger"): dict.fromkeys(ROLES, 200),
    ("POST", "/v1/ledger/rpc"): dict.fromkeys(ROLES, 422),
}
# What the matrix puts in path parameters: ids no gateway holds.
PATH_PARAMS = {
    "case_id": UNKNOWN_ID,
    "return_id": UNKNOWN_ID,
    "op_id": "999999999",
    "proposal_id": "999999999",
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
    secret = key.removeprefix(f"{PREFIX}{key_id}_")  # url-safe: may itself hold "_"
    assert len(secret) >= 40 and secret not in stored.key_hash and len(stored.key_hash) == 64


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


# Gateway-to-gateway routes: no API key, a signed request instead (tests/gateway/test_peer.py
# covers their refusals). A route is here exactly when it depends on `peer_signed`.
PEER_ROUTES = {("POST", "/peer/v1/disclosures"), ("POST", "/peer/v1/declarations")}


def _peer_signed(route: APIRoute) -> bool:
    return any(dep.call is peer_signed for dep in route.dependant.dependencies)


def _declared_roles(route: APIRoute) -> frozenset[str] | None:
    for dep in route.dependant.dependencies:
        if isinstance(dep.call, Allow):
            return dep.call.roles
    return None


def _app_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """Every API route of `app` by (method, full path). FastAPI keeps included routers nested
    (`app.routes` holds the routers, not their routes), so walk the route contexts."""
    found: dict[tuple[str, str], APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path not in PUBLIC:
            for method in route.methods or ():
                found[(method, str(context.path))] = route
    return found


def test_every_route_declares_roles_and_is_in_the_matrix(gw: GatewayWorld) -> None:
    app = gw.consortium.centre.app
    routes = _app_routes(app)
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path not in PUBLIC
        for method in operations
    }
    assert set(routes) == documented  # the walk above misses no route
    peer = {key for key, route in routes.items() if _peer_signed(route)}
    assert peer == PEER_ROUTES
    for (method, path), route in routes.items():
        if (method, path) in PEER_ROUTES:
            assert _declared_roles(route) is None, f"{path}: a peer route takes no API key"
            continue
        roles = _declared_roles(route)
        assert roles is not None, f"{path} declares no roles"
        assert (method, path) in MATRIX, f"{method} {path} missing from MATRIX"
        admitted = {role for role, status in MATRIX[(method, path)].items() if status != 403}
        assert admitted == roles, f"{method} {path}: MATRIX admits {admitted}, the route {roles}"
    assert set(MATRIX) <= set(routes) - PEER_ROUTES, f"not routes: {set(MATRIX) - set(routes)}"
    assert all(set(expected) == set(ROLES) for expected in MATRIX.values())


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_route_role_matrix(gw: GatewayWorld, method: str, path: str) -> None:
    client = gw.clients[CENTRE]
    url = path.format(**PATH_PARAMS)
    with gw.unchanged():
        for role, expected in MATRIX[(method, path)].items():
            r = client.request(method, url, headers=gw.headers(CENTRE, role))
            assert r.status_code == expected, (role, r.text)
            if expected == 403:
                assert r.json()["code"] == "forbidden"
    r = client.request(method, url)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = client.request(method, url, headers={"X-API-Key": "cr_0_bad"})
    assert r.status_code == 401


def test_whoami_names_member_and_role(app_and_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, role_keys = app_and_keys
    body = client.get("/v1/whoami", headers={"X-API-Key": role_keys["auditor"]}).json()
    assert body["member_id"] == "member-auditor" and body["role"] == "auditor"
    # Without an area context (no ledger), the gateway still names its area from its settings.
    assert body["gateway"] == {
        "memberId": "0x" + member_id("customs-2900").hex(),
        "label": "customs-2900",
        "customsCode": "2900",
        "role": "both",
    }


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
