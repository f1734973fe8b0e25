"""The gateway's limits, each at its boundary: requests per API key (token bucket, 429 with
Retry-After), body bytes (413), records per bulk request (413) and lines per document (422).

The rate-limit tests install a limiter with a clock of their own on a gateway of the session's
consortium (which runs without one: node_gateway/run/local_consortium.py),
so time moves only when a test
moves it. Refusals over the limits are also covered elsewhere and not repeated here:
tests/gateway/test_app.py (oversized bodies, declared or streamed), tests/gateway/
test_returns_api.py (default bulk size + 1, an oversized bulk body), tests/security/
test_bad_input.py (150 lines) and tests/clients/test_records.py (line counts in the schema).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from pydantic import ValidationError

from clients.errors import RateLimited
from clients.http import GatewayClient
from clients.records import canonical
from clients.records.scalars import MAX_LINES
from node_gateway import errors
from node_gateway.config import GatewaySettings
from node_gateway.main import create_app
from node_gateway.run.local_consortium import PLATFORM
from node_gateway.services.auth import issue_key
from node_gateway.services.rate_limit import RateLimiter
from tests.utils.gateway import NINGBO, GatewayWorld, assert_problem, tax_item

BULK = "/v1/tax-records/bulk"
WHOAMI = "/v1/whoami"


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limit(gw: GatewayWorld, clock: Clock) -> Iterator[RateLimiter]:
    """Ningbo's gateway limited to bursts of 3 and one request every 2 s per key, for this
    test only (monkeypatch cannot restore an attribute of Starlette's `State`)."""
    state = gw.consortium.gateways[NINGBO].app.state
    before = state.rate_limiter
    state.rate_limiter = RateLimiter(per_second=0.5, burst=3, clock=clock)
    try:
        yield state.rate_limiter
    finally:
        state.rate_limiter = before


def _spend(gw: GatewayWorld, role: str, count: int) -> None:
    for _ in range(count):
        r = gw.call(NINGBO, role, "GET", WHOAMI)
        assert r.status_code == 200, r.text


def _key_id(gw: GatewayWorld, role: str) -> str:
    return gw.key(NINGBO, role).split("_")[1]


def _settings(tmp_path: Path, **kw: Any) -> GatewaySettings:
    return GatewaySettings(area_label="customs-2900", customs_code="2900", data_dir=tmp_path, **kw)


# ---------------------------------------------------------------- requests per API key


def test_key_over_its_burst_is_refused_429_with_retry_after(
    gw: GatewayWorld, limit: RateLimiter
) -> None:
    _spend(gw, "system", 3)
    r = gw.call(NINGBO, "system", "GET", WHOAMI)
    body = assert_problem(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "2"  # one token every 2 s, whole seconds
    assert body["retryAfter"] == 2
    assert "0.5 requests per second" in body["detail"]


def test_other_key_is_unaffected_by_a_limited_key(gw: GatewayWorld, limit: RateLimiter) -> None:
    _spend(gw, "system", 3)
    assert_problem(gw.call(NINGBO, "system", "GET", WHOAMI), 429, "rate_limited")
    _spend(gw, "officer", 3)
    assert_problem(gw.call(NINGBO, "officer", "GET", WHOAMI), 429, "rate_limited")


def test_rate_limited_tax_record_is_not_written(
    gw: GatewayWorld, limit: RateLimiter, clock: Clock
) -> None:
    (a,) = gw.assessments(NINGBO)
    _spend(gw, "system", 3)
    with gw.unchanged():
        r = gw.call(
            NINGBO, "system", "POST", "/v1/tax-records", json=tax_item(a), idempotency_key="k1"
        )
        assert_problem(r, 429, "rate_limited")
    lookup = gw.call(NINGBO, "officer", "GET", "/v1/cases/lookup", params={"invtNo": a.invt_no})
    assert_problem(lookup, 404, "not_found")
    # The refusal did not claim the Idempotency-Key: the retry is a first answer, not a replay.
    clock.advance(2.0)
    r = gw.call(NINGBO, "system", "POST", "/v1/tax-records", json=tax_item(a), idempotency_key="k1")
    assert r.status_code == 202, r.text
    assert "Idempotent-Replayed" not in r.headers


def test_tokens_refill_with_time_up_to_the_burst(
    gw: GatewayWorld, limit: RateLimiter, clock: Clock
) -> None:
    _spend(gw, "system", 3)
    clock.advance(1.0)  # half a token
    r = gw.call(NINGBO, "system", "GET", WHOAMI)
    assert_problem(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "1"
    clock.advance(1.0)  # one token
    _spend(gw, "system", 1)
    assert_problem(gw.call(NINGBO, "system", "GET", WHOAMI), 429, "rate_limited")
    clock.advance(3600.0)  # an idle hour fills the bucket, no more
    _spend(gw, "system", 3)
    assert_problem(gw.call(NINGBO, "system", "GET", WHOAMI), 429, "rate_limited")


def test_probes_unauthenticated_requests_and_metrics_are_not_limited(
    gw: GatewayWorld, limit: RateLimiter
) -> None:
    _spend(gw, "system", 3)
    assert_problem(gw.call(NINGBO, "system", "GET", WHOAMI), 429, "rate_limited")
    client = gw.clients[NINGBO]
    for _ in range(5):
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code in (200, 503)
        r = client.get(WHOAMI, headers={"Authorization": "Bearer cr_nobody_secret"})
        assert_problem(r, 401, "unauthenticated")
    metrics = gw.call(NINGBO, "system", "GET", "/metrics")
    assert metrics.status_code == 200, metrics.text
    assert "# TYPE crossreturn_rate_limited_requests_total counter" in metrics.text
    key_id = _key_id(gw, "system")
    assert f'crossreturn_rate_limited_requests_total{{key_id="{key_id}"}} 1' in metrics.text


def test_sdk_client_waits_retry_after_then_succeeds(
    gw: GatewayWorld, limit: RateLimiter, clock: Clock
) -> None:
    _spend(gw, "platform", 3)
    # The session's TestClient is shared: the SDK client is not closed here.
    sdk = GatewayClient(
        "http://testserver",
        gw.key(NINGBO, "platform"),
        client=gw.clients[NINGBO],
        sleep=clock.advance,
        retries=1,
    )
    assert sdk.whoami()["role"] == "platform"
    assert clock.sleeps == [2.0]
    without_retries = GatewayClient(
        "http://testserver", gw.key(NINGBO, "platform"), client=gw.clients[NINGBO], retries=0
    )
    with pytest.raises(RateLimited) as refused:
        without_retries.whoami()
    assert refused.value.code == "rate_limited" and refused.value.retry_after == 2.0


def test_limiter_admits_exactly_the_burst_across_threads() -> None:
    limiter = RateLimiter(per_second=1.0, burst=100, clock=lambda: 0.0)
    admitted: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(50):
            ok = limiter.wait("key") == 0.0
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == 100
    assert limiter.refused() == {"key": 300}


@pytest.mark.parametrize(
    ("per_second", "seconds"), [(4.0, 1), (1.0, 1), (0.5, 2), (0.1, 10), (0.3, 4)]
)
def test_retry_after_is_whole_seconds_until_the_next_token(per_second: float, seconds: int) -> None:
    limiter = RateLimiter(per_second=per_second, burst=1, clock=lambda: 0.0)
    limiter.admit("key")
    with pytest.raises(errors.RateLimited) as refused:
        limiter.admit("key")
    assert refused.value.headers == {"Retry-After": str(seconds)}
    assert refused.value.extra == {"retryAfter": seconds}


def test_rate_limit_settings_build_the_limiter(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, rate_limit_per_second=0.001, rate_limit_burst=2))
    conn = app.state.connections.get()
    keys = {role: issue_key(conn, f"member-{role}", role)[1] for role in ("system", "officer")}
    try:
        with TestClient(app, raise_server_exceptions=False) as client:

            def whoami(role: str) -> Any:
                return client.get(WHOAMI, headers={"Authorization": f"Bearer {keys[role]}"})

            assert [whoami("system").status_code for _ in range(2)] == [200, 200]
            r = whoami("system")
            assert_problem(r, 429, "rate_limited")
            assert int(r.headers["Retry-After"]) >= 1
            assert whoami("officer").status_code == 200
    finally:
        app.state.connections.close()


def test_rate_limit_is_on_by_default_and_zero_turns_it_off(tmp_path: Path) -> None:
    defaults = RateLimiter.from_settings(_settings(tmp_path))
    assert defaults is not None
    assert (defaults.per_second, defaults.burst) == (50.0, 200)
    assert RateLimiter.from_settings(_settings(tmp_path, rate_limit_per_second=0)) is None


@pytest.mark.parametrize(
    "values",
    [
        {"rate_limit_per_second": -1},
        {"rate_limit_per_second": float("nan")},
        {"rate_limit_per_second": float("inf")},
        {"rate_limit_burst": 0},
        {"rate_limit_burst": -5},
    ],
    ids=["negative_rate", "nan_rate", "infinite_rate", "zero_burst", "negative_burst"],
)
def test_rate_limit_settings_out_of_range_refused(tmp_path: Path, values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _settings(tmp_path, **values)


# ---------------------------------------------------------------- body bytes


def test_body_at_max_bytes_accepted_one_more_refused(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, max_body_bytes=1024))

    @app.post("/v1/test/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    plain = {"Content-Type": "text/plain"}
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            r = client.post("/v1/test/echo", content=b"x" * 1024, headers=plain)
            assert r.status_code == 200 and r.json() == {"bytes": 1024}
            r = client.post("/v1/test/echo", content=b"x" * 1025, headers=plain)
            assert_problem(r, 413, "body_too_large")
    finally:
        app.state.connections.close()


# ---------------------------------------------------------------- records per bulk request


def test_bulk_at_max_records_accepted_one_more_refused(
    gw: GatewayWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gw.consortium.gateways[NINGBO].context.settings, "max_bulk_records", 2)
    over = gw.assessments(NINGBO, count=3)
    with gw.unchanged():
        r = gw.ingest(over)
    problem = assert_problem(r, 413, "too_many_records")
    assert "at most 2" in problem["detail"]
    r = gw.ingest(over[:2])
    assert r.status_code == 202, r.text
    assert len(r.json()["accepted"]) == 2


# ---------------------------------------------------------------- lines per document


def test_tax_record_at_max_lines_accepted(gw: GatewayWorld) -> None:
    (a,) = gw.assessments(NINGBO, lines=MAX_LINES)
    r = gw.call(NINGBO, "system", "POST", "/v1/tax-records", json=tax_item(a))
    assert r.status_code == 202, r.text


def test_tax_record_over_max_lines_refused(gw: GatewayWorld) -> None:
    (a,) = gw.assessments(NINGBO, lines=MAX_LINES)
    record = canonical(a)
    record["lines"].append(record["lines"][-1] | {"gnum": MAX_LINES + 1})
    with gw.unchanged():
        body = {"records": [{"platform": PLATFORM, "record": record}]}
        r = gw.call(NINGBO, "system", "POST", BULK, json=body)
    problem = assert_problem(r, 422, "invalid_record")
    assert {"path": "/records/0/record/lines", "rule": "too_many_lines"} in [
        {"path": e["path"], "rule": e["rule"]} for e in problem["errors"]
    ], problem
