"""The console's routes: the page, its assets and the gateway profile, served without a key,
with the headers that keep the page to its own scripts; nothing else is served from static/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node_gateway.config import GatewaySettings
from node_gateway.console import ASSETS, STATIC_DIR
from node_gateway.main import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = GatewaySettings(
        area_label="customs-2900", customs_code="2900", role="return_centre", data_dir=tmp_path
    )
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.connections.close()


def test_page_is_served_without_a_key_and_confined(client: TestClient) -> None:
    r = client.get("/console")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/console/static/app.js">' in r.text


def test_every_file_the_page_loads_is_served(client: TestClient) -> None:
    page = client.get("/console").text
    wanted = set(re.findall(r'(?:src|href)="/console/static/([^"]+)"', page))
    for module in STATIC_DIR.glob("*.js"):
        wanted |= set(re.findall(r'from "\./([^"]+)"', module.read_text()))
    assert wanted == set(ASSETS)  # every import is an asset, and every asset is used
    for name in wanted:
        r = client.get(f"/console/static/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith(ASSETS[name])


@pytest.mark.parametrize("name", ["index.html", "missing.js", "..%2F__init__.py", "app.js.map"])
def test_anything_else_under_static_is_not_found(client: TestClient, name: str) -> None:
    r = client.get(f"/console/static/{name}")
    assert r.status_code in (404, 422)
    assert r.headers["content-type"] == "application/problem+json"


def test_gateway_profile_names_the_area(client: TestClient) -> None:
    assert client.get("/console/gateway.json").json() == {
        "customsCode": "2900",
        "label": "customs-2900",
        "role": "return_centre",
    }


def test_console_stays_out_of_the_api_description(client: TestClient) -> None:
    assert not [p for p in client.get("/openapi.json").json()["paths"] if "console" in p]
