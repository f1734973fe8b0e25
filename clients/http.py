"""The gateway API client: one customs area's `/v1` API with one API key.

Every refusal becomes an `clients.errors.ApiError` subclass chosen by status (the problem's
stable `code` kept), a gateway that does not answer becomes `GatewayUnreachable`. Calls are
retried — with exponential backoff — only when repeating them cannot do harm: reads, and
writes that carry an `Idempotency-Key` (every write this client sends carries one, the same
key on every attempt, so the gateway answers a repeat with the first answer).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from clients.errors import (
    ApiError,
    GatewayUnreachable,
    OperationFailed,
    WaitTimeout,
    api_error,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
FINAL_OPERATION_STATES = frozenset({"confirmed", "failed"})


def new_idempotency_key() -> str:
    """A fresh Idempotency-Key (random, 128 bits)."""
    return secrets.token_hex(16)


class GatewayClient:
    """A typed client of one gateway's API (`base_url` without `/v1`), authenticated by one
    API key. Pass `client` to reuse an httpx.Client (tests pass one with a mock transport),
    `sleep` and `clock` to drive retries and waits without real time passing."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.25,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._http = client or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    # ------------------------------------------------------------------ plumbing

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one API request and return its JSON body; raise ApiError on a problem.

        A POST gets a fresh Idempotency-Key unless one is given, so it is retried safely."""
        method = method.upper()
        headers = dict(self._headers)
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.base_url + path
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, url, json=json, params=query, headers=headers)
            except httpx.TransportError as exc:
                if last:
                    raise GatewayUnreachable(self.base_url, _reason(exc)) from exc
                self._sleep(self._delay(attempt, None))
                continue
            if response.status_code < 400:
                return _body(response, self.base_url)
            if response.status_code not in RETRY_STATUSES or last:
                raise _problem(response, self.base_url)
            self._sleep(self._delay(attempt, response))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("Retry-After")
            if after is not None and after.isdigit():
                return min(float(after), 30.0)
        return float(self.backoff * (2**attempt))

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` with query parameters (None values left out)."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any, idempotency_key: str | None = None) -> Any:
        """POST a JSON body with an Idempotency-Key (fresh unless given)."""
        return self.request("POST", path, json=body, idempotency_key=idempotency_key)

    # ------------------------------------------------------------------ session, health

    def whoami(self) -> dict[str, Any]:
        """The member and role of this client's API key."""
        return dict(self.get("/v1/whoami"))

    def ready(self) -> bool:
        """Whether the gateway takes writes now (its `/ready`)."""
        try:
            self.request("GET", "/ready")
        except (ApiError, GatewayUnreachable):
            return False
        return True

    # ------------------------------------------------------------------ tax records

    def submit_tax_records(
        self, records: list[dict[str, Any]], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Accept many tax assessments (`[{"platform", "record"}]`) in one request."""
        return dict(self.post("/v1/tax-records/bulk", {"records": records}, idempotency_key))

    def lookup_case(self, invt_no: str) -> dict[str, Any]:
        """The pseudonymous case id of an inventory list (origin gateway, own platform)."""
        return dict(self.get("/v1/cases/lookup", invtNo=invt_no))

    def case_header(self, case_id: str) -> dict[str, Any]:
        """A case header with its batch root, proof and the EIP-712 domain to sign under."""
        return dict(self.get(f"/v1/cases/{case_id}/header"))

    # ------------------------------------------------------------------ returns

    def apply(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Relay a signed return application (clients.applications.application_body)."""
        return dict(self.post("/v1/returns", body, idempotency_key))

    def step(
        self,
        return_id: str,
        action: str,
        record: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Record a step of a return: arrival, inspection, recognition, dispute, settlement."""
        if action not in ("arrival", "inspection", "recognition", "dispute", "settlement"):
            raise ValueError(f"unknown step {action!r}")
        path = f"/v1/returns/{return_id}/{action}"
        return dict(self.post(path, {"record": record}, idempotency_key))

    def get_return(self, return_id: str) -> dict[str, Any]:
        """A return's ledger state, pending operations and the documents this key may see."""
        return dict(self.get(f"/v1/returns/{return_id}"))

    def list_returns(self, **filters: Any) -> list[dict[str, Any]]:
        """One page of returns (filters: state, area, role origin|centre, from, to, after,
        limit)."""
        page = self.get("/v1/returns", **filters)
        return list(page["items"])

    def iter_returns(self, page: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every return matching `filters`, page by page."""
        after: str | None = None
        while True:
            rows = self.list_returns(**filters, after=after, limit=page)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["returnId"]

    # ------------------------------------------------------------------ cases, audit

    def get_case(self, case_id: str) -> dict[str, Any]:
        """A case's ledger state, its returns and (at its origin) its tax record."""
        return dict(self.get(f"/v1/cases/{case_id}"))

    def trail(self, case_id: str) -> dict[str, Any]:
        """Every ledger step of a case, with the gateway's verification of each."""
        return dict(self.get(f"/v1/cases/{case_id}/trail"))

    def audit_report(self, from_ts: int, to_ts: int, area: str | None = None) -> dict[str, Any]:
        """The gateway's report over [from_ts, to_ts): totals, report card, anomalies."""
        return dict(self.get("/v1/audit/report", **{"from": from_ts, "to": to_ts, "area": area}))

    def verify(self, document: dict[str, Any]) -> dict[str, Any]:
        """The gateway's own verification of a disclosed document (an auditor checks
        independently with clients.verify.Verifier against its own ledger node)."""
        return dict(self.request("POST", "/v1/verify", json={"document": document}))

    # ------------------------------------------------------------------ operations

    def operation(self, op_id: int) -> dict[str, Any]:
        """Where an accepted write stands."""
        return dict(self.get(f"/v1/operations/{int(op_id)}"))

    def wait(
        self,
        operation: dict[str, Any] | int,
        timeout: float = 60.0,
        poll: float = 0.1,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll an operation (its JSON or id) until confirmed; raise OperationFailed if it
        failed, WaitTimeout if neither happened in `timeout` seconds."""
        op_id = int(operation if isinstance(operation, int) else operation["id"])
        deadline = self._clock() + timeout
        while True:
            status = self.operation(op_id)
            if on_poll is not None:
                on_poll(status)
            if status["status"] == "confirmed":
                return status
            if status["status"] == "failed":
                raise OperationFailed(status)
            if self._clock() >= deadline:
                raise WaitTimeout(f"operation {op_id}", timeout, status)
            self._sleep(poll)

    def wait_state(
        self, return_id: str, states: set[str] | frozenset[str], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Poll a return's view until its indexed ledger state is one of `states`."""

        def reached(view: dict[str, Any]) -> bool:
            ledger = view.get("ledger") or {}
            return ledger.get("state") in states

        return self.wait_return(
            return_id, reached, timeout, f"return {return_id} to reach {sorted(states)}"
        )

    def wait_return(
        self,
        return_id: str,
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 60.0,
        what: str | None = None,
    ) -> dict[str, Any]:
        """Poll a return's view (404 taken as not there yet) until `until(view)` holds; raise
        WaitTimeout, naming `what`, if it does not in `timeout` seconds."""
        deadline = self._clock() + timeout
        last: dict[str, Any] | None = None
        while True:
            try:
                last = self.get_return(return_id)
            except ApiError as exc:
                if exc.status != 404:  # 404 until the index has the return
                    raise
            if last is not None and until(last):
                return last
            if self._clock() >= deadline:
                raise WaitTimeout(what or f"return {return_id}", timeout, last)
            self._sleep(0.1)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unknown"
    return type(exc).__name__


def _body(response: httpx.Response, url: str) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise GatewayUnreachable(url, f"answered {response.status_code} without JSON") from exc


def _problem(response: httpx.Response, url: str) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        body = {"title": response.reason_phrase, "detail": text}
    return api_error(response.status_code, body)
