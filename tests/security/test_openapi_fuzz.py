"""Generated input against every operation of the return centre's live gateway.

Schemathesis derives requests from the gateway's own OpenAPI document: valid ones (positive)
and ones that break the schema (negative: wrong types, missing fields, out-of-range values).
Each goes through a TestClient with the API key of a role the route admits (the route x role
matrix of tests/gateway/test_auth.py), so it reaches the handler instead of stopping at 403.

The oracle, for every response:
- never a 5xx;
- a problem+json carries `type`, `title`, `status` (equal to the HTTP status) and `code`;
- anything else is a documented status, with a documented content type, whose body matches
  the documented schema.

Runs are deterministic (`derandomize`) and small; `CROSSRETURN_SOAK=1` raises the count.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from node_gateway.api.problems import PROBLEM_JSON
from tests.gateway.test_auth import MATRIX
from tests.utils.gateway import CENTRE, GatewayWorld

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Operation]
SOAK = os.environ.get("CROSSRETURN_SOAK") == "1"
MAX_EXAMPLES = 500 if SOAK else 25
ANSWERS: Counter[str] = Counter()  # generated requests sent, by status class, for the soak report

# Operations without an API key: the probes, and the gateway-to-gateway disclosure route. That
# one authenticates a peer by a signature over the exact request (tests/gateway/test_peer.py);
# generated requests cannot carry one, so here it only shows that every unsigned body, however
# malformed, is refused with a problem and never reaches the handler.
KEYLESS = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("POST", "/peer/v1/disclosures"),
    ("POST", "/peer/v1/declarations"),
}
OPERATIONS = sorted(set(MATRIX) | KEYLESS)


def _role(method: str, path: str) -> str | None:
    """A role the route admits (the first by name, so runs are repeatable); None: no key."""
    if (method, path) in KEYLESS:
        return None
    return min(role for role, status in MATRIX[(method, path)].items() if status != 403)


@pytest.fixture(scope="module", autouse=True)
def soak_report() -> Iterator[None]:
    """Write how many generated requests were answered with what, for scripts/soak.py."""
    ANSWERS.clear()
    yield
    where = os.environ.get("CROSSRETURN_SOAK_REPORT")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        figures = {
            "operations": len(OPERATIONS),
            "maxExamplesPerOperation": MAX_EXAMPLES,
            "requests": sum(ANSWERS.values()),
            "answers": dict(sorted(ANSWERS.items())),
        }
        (Path(where) / "openapi-fuzz.json").write_text(json.dumps(figures, indent=2))


@pytest.fixture(scope="module")
def schema(gw: GatewayWorld) -> BaseSchema:
    """The centre's OpenAPI document, as schemathesis reads it."""
    return schemathesis.openapi.from_dict(gw.consortium.gateways[CENTRE].app.openapi())


def _operations(schema: BaseSchema) -> list[Operation]:
    """Every operation of the document (a part schemathesis cannot read fails the test)."""
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        found.append(result.ok())
    return found


def _operation(schema: BaseSchema, method: str, path: str) -> Operation:
    for op in _operations(schema):
        if op.method.upper() == method and op.path == path:
            return op
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def _cases(op: Operation) -> st.SearchStrategy[AnyCase]:
    """Valid requests and, when the operation takes any input, requests that break its schema
    (an operation without inputs has no negative case)."""
    positive = op.as_strategy(generation_mode=GenerationMode.POSITIVE)
    inputs = (op.path_parameters, op.query, op.headers, op.cookies)
    if not op.body and not any(len(p) for p in inputs):
        return positive
    return st.one_of(positive, op.as_strategy(generation_mode=GenerationMode.NEGATIVE))


def _send(client: httpx.Client, case: AnyCase, headers: dict[str, str]) -> httpx.Response:
    """Send `case` as schemathesis would, through the gateway's in-process TestClient."""
    kw = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
    body: dict[str, Any] = {}
    if "json" in kw:
        body["json"] = kw["json"]
    elif kw.get("data") is not None:
        data = kw["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    r: httpx.Response = client.request(
        kw["method"],
        kw["url"],
        params=kw.get("params"),
        headers=kw.get("headers"),
        cookies=kw.get("cookies") or None,
        **body,
    )
    ANSWERS[f"{r.status_code // 100}xx"] += 1
    return r


def assert_answer_conforms(case: AnyCase, r: httpx.Response, headers: dict[str, str]) -> None:
    """The oracle of the module docstring."""
    assert r.status_code < 500, f"{case.method} {case.formatted_path}: {r.status_code} {r.text}"
    if r.headers.get("content-type") == PROBLEM_JSON:
        body = r.json()
        assert isinstance(body, dict), r.text
        assert {"type", "title", "status", "code"} <= set(body), body
        assert body["status"] == r.status_code, body
        assert isinstance(body["code"], str) and body["code"], body
        return
    try:
        case.validate_response(
            r,
            checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
            headers=headers,
        )
    except FailureGroup as failures:
        raise AssertionError(str(failures)) from None


def test_every_documented_operation_is_fuzzed(schema: BaseSchema) -> None:
    documented = {(op.method.upper(), op.path) for op in _operations(schema)}
    assert documented == set(OPERATIONS)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda v: str(v))
def test_generated_request_answers_without_server_error(
    gw: GatewayWorld, schema: BaseSchema, method: str, path: str
) -> None:
    op = _operation(schema, method, path)
    role = _role(method, path)
    headers = {} if role is None else gw.headers(CENTRE, role)
    client = gw.clients[CENTRE]

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(op))
    def check(case: AnyCase) -> None:
        assert_answer_conforms(case, _send(client, case, headers), headers)

    check()
