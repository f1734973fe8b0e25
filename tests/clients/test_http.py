"""The gateway API client against a mock transport: problems become typed errors, retries
happen only where repeating is harmless (and reuse the Idempotency-Key), waits end as they
should, lists are paged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clients.errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    CrossReturnError,
    Forbidden,
    GatewayUnreachable,
    NotFound,
    OperationFailed,
    RateLimited,
    ServiceUnavailable,
    WaitTimeout,
)
from clients.http import GatewayClient

BASE = "http://gateway.test"
PROBLEM_JSON = "application/problem+json"
RETURN_ID = "0x" + "ab" * 32

Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    """A fake clock that `sleep` advances: retries and waits take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def gateway(handler: Handler, clock: Clock | None = None, retries: int = 3) -> GatewayClient:
    """A client whose every request goes to `handler`."""
    clock = clock or Clock()
    http = httpx.Client(transport=httpx.MockTransport(handler), base_url=BASE)
    return GatewayClient(
        BASE, "cr_test_key", retries=retries, client=http, sleep=clock.sleep, clock=clock
    )


def problem(status: int, code: str, detail: str = "", **extra: Any) -> httpx.Response:
    body = {"type": f"https://x/{code}", "title": code.title(), "status": status}
    body |= {"detail": detail, "code": code, "instance": "/v1/x", **extra}
    return httpx.Response(status, json=body, headers={"content-type": PROBLEM_JSON})


class Recorder:
    """A handler answering from a script of responses (or exceptions), recording requests."""

    def __init__(self, *script: httpx.Response | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def keys(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.requests]


# ---------------------------------------------------------------------- problems


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, AuthenticationFailed),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, BadRequest),
        (422, BadRequest),
        (500, ApiError),
    ],
)
def test_request_problem_raises_class_of_status(status: int, cls: type[ApiError]) -> None:
    errors = [{"path": "/lines/0/qty", "rule": "qty", "message": "must be between 1 and 9"}]
    rec = Recorder(problem(status, "some_code", "what went wrong", errors=errors))
    with pytest.raises(cls) as caught:
        gateway(rec).get("/v1/returns")
    exc = caught.value
    assert type(exc) is cls
    assert (exc.status, exc.code, exc.detail) == (status, "some_code", "what went wrong")
    assert exc.errors == errors
    assert exc.problem["instance"] == "/v1/x"
    assert str(exc) == f"some_code ({status}): what went wrong"
    assert len(rec.requests) == 1  # a refusal is final: never retried


def test_request_problem_without_json_keeps_status_and_text() -> None:
    rec = Recorder(httpx.Response(400, text="<html>bad things</html>\nmore"))
    with pytest.raises(BadRequest) as caught:
        gateway(rec).get("/v1/whoami")
    assert caught.value.code == "http_400"
    assert caught.value.detail == "<html>bad things</html>"


def test_request_sends_bearer_key_and_drops_none_params() -> None:
    rec = Recorder(httpx.Response(200, json={"items": [], "next": None}))
    gateway(rec).list_returns(state="applied", area=None)
    (request,) = rec.requests
    assert request.headers["authorization"] == "Bearer cr_test_key"
    assert dict(request.url.params) == {"state": "applied"}
    assert "idempotency-key" not in request.headers  # reads carry none


def test_request_answer_without_json_is_unreachable() -> None:
    rec = Recorder(httpx.Response(200, text="<html>captive portal</html>"))
    with pytest.raises(GatewayUnreachable, match="without JSON"):
        gateway(rec).whoami()


def test_request_empty_answer_returns_none() -> None:
    rec = Recorder(httpx.Response(204))
    assert gateway(rec).request("GET", "/v1/nothing") is None


# ---------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_retries_on_transient_status(status: int) -> None:
    clock = Clock()
    rec = Recorder(problem(status, "busy"), problem(status, "busy"), httpx.Response(200, json={}))
    assert gateway(rec, clock).get("/v1/whoami") == {}
    assert len(rec.requests) == 3
    assert clock.sleeps == [0.25, 0.5]  # exponential backoff


def test_get_retries_on_connect_error_then_succeeds() -> None:
    clock = Clock()
    rec = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": True}))
    assert gateway(rec, clock).get("/v1/whoami") == {"ok": True}
    assert len(rec.requests) == 2 and clock.sleeps == [0.25]


def test_post_retries_with_same_idempotency_key() -> None:
    rec = Recorder(
        httpx.ConnectError("refused"),
        problem(503, "ledger_unavailable"),
        problem(502, "peer_unavailable"),
        httpx.Response(202, json={"operation": {"id": 7}}),
    )
    answer = gateway(rec).post("/v1/returns", {"a": 1})
    assert answer == {"operation": {"id": 7}}
    keys = rec.keys()
    assert len(keys) == 4 and keys[0] and len(set(keys)) == 1
    assert all(json.loads(r.content) == {"a": 1} for r in rec.requests)


def test_post_uses_given_idempotency_key() -> None:
    rec = Recorder(problem(504, "timeout"), httpx.Response(202, json={}))
    gateway(rec).apply({"terms": {}}, idempotency_key="apply-1")
    assert rec.keys() == ["apply-1", "apply-1"]


def test_post_separate_calls_get_fresh_keys() -> None:
    rec = Recorder(httpx.Response(202, json={}))
    client = gateway(rec)
    client.post("/v1/x", {})
    client.post("/v1/x", {})
    first, second = rec.keys()
    assert first and second and first != second


def test_retry_honours_retry_after_seconds() -> None:
    clock = Clock()
    busy = problem(429, "rate_limited")
    busy.headers["Retry-After"] = "7"
    rec = Recorder(busy, httpx.Response(200, json={}))
    gateway(rec, clock).get("/v1/whoami")
    assert clock.sleeps == [7.0]


def test_retry_caps_retry_after_at_thirty_seconds() -> None:
    clock = Clock()
    busy = problem(503, "ledger_unavailable")
    busy.headers["Retry-After"] = "3600"
    rec = Recorder(busy, httpx.Response(200, json={}))
    gateway(rec, clock).get("/v1/whoami")
    assert clock.sleeps == [30.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_post_no_retry_on_client_error(status: int) -> None:
    rec = Recorder(problem(status, "refused"), httpx.Response(202, json={}))
    with pytest.raises(ApiError):
        gateway(rec).post("/v1/returns", {})
    assert len(rec.requests) == 1


def test_request_unreachable_after_last_attempt() -> None:
    clock = Clock()
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(GatewayUnreachable) as caught:
        gateway(rec, clock, retries=2).post("/v1/returns", {})
    assert len(rec.requests) == 3 and clock.sleeps == [0.25, 0.5]
    assert caught.value.url == BASE
    assert caught.value.reason == "connection refused or host unknown"
    assert len(set(rec.keys())) == 1


def test_request_timeout_is_unreachable_timed_out() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(GatewayUnreachable, match="timed out"):
        gateway(rec, retries=0).get("/v1/whoami")


def test_request_transient_status_after_last_attempt_raises_its_problem() -> None:
    rec = Recorder(problem(429, "rate_limited", "slow down", retryAfter=3))
    with pytest.raises(RateLimited) as caught:
        gateway(rec, retries=1).get("/v1/whoami")
    assert len(rec.requests) == 2
    assert caught.value.retry_after == 3.0


def test_request_502_after_retries_is_service_unavailable() -> None:
    rec = Recorder(problem(502, "peer_unavailable", "peer 3100 down"))
    with pytest.raises(ServiceUnavailable) as caught:
        gateway(rec, retries=1).get("/v1/cases/x")
    assert caught.value.code == "peer_unavailable"


def test_ready_false_when_unreachable_or_refused() -> None:
    assert gateway(Recorder(httpx.Response(200, json={"ready": True}))).ready()
    assert not gateway(Recorder(problem(503, "not_ready")), retries=0).ready()
    assert not gateway(Recorder(httpx.ConnectError("x")), retries=0).ready()


def test_every_error_is_a_crossreturn_error() -> None:
    for exc in (
        GatewayUnreachable(BASE, "x"),
        OperationFailed({"id": 1}),
        WaitTimeout("x", 1),
        BadRequest(400, "c", "t", "d", {}),
    ):
        assert isinstance(exc, CrossReturnError)


# ---------------------------------------------------------------------- waiting


def operations(*statuses: str, error: str | None = None) -> Recorder:
    base = {"id": 5, "txHash": "0x11", "block": 9, "error": error}
    return Recorder(*(httpx.Response(200, json=base | {"status": s}) for s in statuses))


def test_wait_returns_confirmed_operation() -> None:
    rec = operations("pending", "sent", "confirmed")
    seen: list[str] = []
    op = gateway(rec).wait({"id": 5}, on_poll=lambda o: seen.append(o["status"]))
    assert op["status"] == "confirmed" and op["block"] == 9
    assert seen == ["pending", "sent", "confirmed"]
    assert all(r.url.path == "/v1/operations/5" for r in rec.requests)


def test_wait_failed_raises_operation_failed() -> None:
    rec = operations("sent", "failed", error="LinesAlreadySettled(...)")
    with pytest.raises(OperationFailed, match="LinesAlreadySettled") as caught:
        gateway(rec).wait(5)
    assert caught.value.operation["status"] == "failed"


def test_wait_never_final_raises_wait_timeout() -> None:
    clock = Clock()
    rec = operations("sent")
    with pytest.raises(WaitTimeout) as caught:
        gateway(rec, clock).wait(5, timeout=2.0, poll=0.5)
    assert caught.value.last is not None and caught.value.last["status"] == "sent"
    assert caught.value.timeout_s == 2.0
    assert len(rec.requests) == 5  # at t = 0, 0.5, 1, 1.5, 2


def test_wait_state_polls_through_404_until_state() -> None:
    rec = Recorder(
        problem(404, "not_found"),
        httpx.Response(200, json={"ledger": None}),
        httpx.Response(200, json={"ledger": {"state": "applied"}}),
    )
    view = gateway(rec).wait_state(RETURN_ID, {"applied"})
    assert view["ledger"]["state"] == "applied" and len(rec.requests) == 3


def test_wait_state_other_error_raises() -> None:
    rec = Recorder(problem(403, "forbidden"))
    with pytest.raises(Forbidden):
        gateway(rec).wait_state(RETURN_ID, {"applied"})


def test_wait_state_timeout_keeps_last_view() -> None:
    rec = Recorder(httpx.Response(200, json={"ledger": {"state": "applied"}}))
    with pytest.raises(WaitTimeout) as caught:
        gateway(rec).wait_state(RETURN_ID, {"settled"}, timeout=1.0)
    assert caught.value.last == {"ledger": {"state": "applied"}}


# ---------------------------------------------------------------------- paging


def test_iter_returns_pages_by_last_return_id() -> None:
    ids = [f"0x{n:064x}" for n in range(1, 6)]

    def handler(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after", "")
        limit = int(request.url.params["limit"])
        rest = [i for i in ids if i > after][:limit]
        return httpx.Response(200, json={"items": [{"returnId": i} for i in rest], "next": None})

    calls: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return handler(request)

    rows = list(gateway(recording).iter_returns(page=2, state="applied"))
    assert [r["returnId"] for r in rows] == ids
    assert [c.url.params.get("after") for c in calls] == [None, ids[1], ids[3]]
    assert all(c.url.params["state"] == "applied" for c in calls)


def test_iter_returns_stops_after_exact_last_page() -> None:
    ids = [f"0x{n:064x}" for n in range(1, 5)]
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        after = request.url.params.get("after", "")
        rest = [i for i in ids if i > after][:2]
        return httpx.Response(200, json={"items": [{"returnId": i} for i in rest]})

    assert len(list(gateway(handler).iter_returns(page=2))) == 4
    assert len(calls) == 3  # the third page is empty
