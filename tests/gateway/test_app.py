"""The app factory, problem details on every error, the body limit and readiness."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from clients.adapters.errors import AdapterError
from node_gateway.api.problems import PROBLEM_JSON, Problem
from node_gateway.config import GatewaySettings
from node_gateway.errors import GatewayError
from node_gateway.main import create_app


class Conflict(GatewayError):
    status = 409
    code = "return_exists"
    title = "Return exists"


class Item(BaseModel):
    qty: int


def make_app(data_dir: Path, ready: bool = True, max_body: int = 2048) -> FastAPI:
    settings = GatewaySettings(
        data_dir=data_dir, area_label="customs-2900", customs_code="2900", max_body_bytes=max_body
    )
    app = create_app(settings, readiness={"ledger": lambda: ready, "store": lambda: True})

    @app.post("/v1/test/items")
    def post_item(item: Item) -> dict[str, int]:
        return {"qty": item.qty}

    @app.post("/v1/test/conflict")
    def conflict() -> None:
        raise Conflict("return 0xab exists", returnId="0xab")

    @app.get("/v1/test/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    return app


_DIRS: list[Path] = []


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path) -> Iterator[None]:
    _DIRS.append(tmp_path)
    yield
    _DIRS.pop()


def client(**kw: object) -> TestClient:
    """A client of a fresh app whose database lives in the test's tmp dir."""
    return TestClient(make_app(_DIRS[-1], **kw), raise_server_exceptions=False)  # type: ignore[arg-type]


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    r = response  # httpx.Response
    assert r.status_code == status  # type: ignore[attr-defined]
    assert r.headers["content-type"] == PROBLEM_JSON  # type: ignore[attr-defined]
    body: dict[str, object] = r.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail", "instance"} <= set(body)
    return body


def test_health_and_ready() -> None:
    assert client().get("/health").json() == {"status": "ok"}
    r = client().get("/ready")
    assert r.status_code == 200 and r.json() == {
        "ready": True,
        "checks": {"ledger": True, "store": True},
    }


def test_ready_is_503_when_a_check_fails() -> None:
    r = client(ready=False).get("/ready")
    assert r.status_code == 503
    assert r.json()["checks"]["ledger"] is False


def test_unknown_route_is_problem_404() -> None:
    assert_problem(client().get("/v1/nothing"), 404, "not_found")


def test_wrong_method_is_problem_405() -> None:
    assert_problem(client().delete("/health"), 405, "method_not_allowed")


def test_malformed_json_is_problem_422() -> None:
    r = client().post(
        "/v1/test/items", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 422, "invalid_request")


def test_wrong_type_names_the_path() -> None:
    body = assert_problem(
        client().post("/v1/test/items", json={"qty": "many"}), 422, "invalid_request"
    )
    assert body["errors"][0]["path"] == "/qty"  # type: ignore[index]


def test_domain_error_keeps_code_and_extra_fields() -> None:
    body = assert_problem(client().post("/v1/test/conflict"), 409, "return_exists")
    assert body["returnId"] == "0xab"


def test_oversized_body_is_problem_413_declared_or_streamed() -> None:
    c = client(max_body=1024)
    assert_problem(c.post("/v1/test/items", content=b"x" * 5000), 413, "body_too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 500

    assert_problem(c.post("/v1/test/items", content=chunks()), 413, "body_too_large")


def test_unexpected_error_is_problem_500_without_internals() -> None:
    body = assert_problem(client().get("/v1/test/boom"), 500, "internal_error")
    assert "passwd" not in str(body) and "Traceback" not in str(body)


def test_openapi_lists_health_routes() -> None:
    paths = client().get("/openapi.json").json()["paths"]
    assert {"/health", "/ready"} <= set(paths)


def test_openapi_documents_every_error_as_problem_json() -> None:
    r = client().get("/openapi.json")
    assert "HTTPValidationError" not in r.text and "ValidationError" not in r.text
    doc = r.json()
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) > 30
    for name, operation in operations:
        responses = operation["responses"]
        errors = ["4XX", "5XX"]
        if operation.get("parameters") or operation.get("requestBody"):
            errors.append("422")  # in place of FastAPI's HTTPValidationError
        else:
            assert "422" not in responses, name  # no input, so never a validation error
        for status in errors:
            assert responses[status]["content"] == problem, f"{name} {status}"
    schema = doc["components"]["schemas"]["Problem"]
    assert set(schema["required"]) == {"type", "title", "status", "detail", "instance", "code"}
    assert schema["additionalProperties"] is True


def _subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_openapi_lists_every_problem_code_as_enum() -> None:
    doc = client().get("/openapi.json").json()
    listed = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert listed == sorted(set(listed))
    defined = {cls.code for cls in _subclasses(GatewayError)}
    adapters = {cls.code for cls in _subclasses(AdapterError)} | {AdapterError.code}
    http = {"not_found", "method_not_allowed", "invalid_request", "body_too_large", "too_deep"}
    assert defined | adapters | http | {"ledger_unavailable", "internal_error"} <= set(listed)


def test_problem_answers_fit_the_documented_problem_schema() -> None:
    c = client()
    answers = [
        (c.post("/v1/test/items", json={"qty": "many"}), "errors"),
        (c.post("/v1/test/conflict"), "returnId"),
        (c.get("/v1/test/boom"), None),
    ]
    for r, extra in answers:
        assert r.headers["content-type"] == PROBLEM_JSON
        body = Problem.model_validate(r.json())
        assert body.status == r.status_code
        if extra:
            assert extra in (body.model_extra or {})


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_deeply_nested_json_is_problem_422_and_the_process_survives(
    content_type: str | None,
) -> None:
    # 200,000 levels would overflow the C stack inside json.loads under py-evm's recursion
    # limit and kill the process (a segfault, not an exception).
    import eth  # noqa: F401 - as in every gateway process: raises the recursion limit

    assert sys.getrecursionlimit() >= 100_000
    headers = {"content-type": content_type} if content_type else {}
    body = b"[" * 200_000 + b"]" * 200_000
    c = client(max_body=1_000_000)
    r = c.post("/v1/test/items", content=body, headers=headers)
    assert_problem(r, 422, "too_deep")
    assert c.post("/v1/test/items", json={"qty": 2}).json() == {"qty": 2}


def test_json_depth_skips_brackets_inside_strings() -> None:
    from node_gateway.json_guard import json_depth

    assert json_depth(b'{"a": "[[[[[[", "b": [1, {"c": "]]]\\"[["}]}') == 3
    assert json_depth(b"[]") == 1 and json_depth(b"7") == 0
