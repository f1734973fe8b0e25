"""Dependencies of the routes: the store connection, role-based authorisation and the per-key
rate limit.

Every route declares the roles it admits with `Allow(...)`; the route x role matrix test walks
the app's routes and fails on any route that declares none. `Allow` also spends one of the
key's tokens (services/rate_limit.py) before the handler runs, so a refused request writes
nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from node_gateway.errors import Forbidden, LedgerUnavailable, Unauthenticated
from node_gateway.services.auth import AuthError, Principal, authenticate
from node_gateway.services.context import AreaContext
from node_gateway.services.idempotency import request_hash, run
from node_gateway.services.rate_limit import RateLimiter
from node_gateway.services.suspension import require_key_member_active


def get_db(request: Request) -> Iterator[sqlite3.Connection]:
    """A store connection for this request alone (FastAPI may run the request's dependencies
    and its handler in different threads, so a per-thread connection could be shared by two
    requests at once)."""
    connections = request.app.state.connections
    conn: sqlite3.Connection = connections.checkout()
    try:
        yield conn
    finally:
        connections.checkin(conn)


DbDep = Annotated[sqlite3.Connection, Depends(get_db)]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


class Allow:
    """A dependency admitting callers whose key has one of `roles` and whose member is not
    suspended on the ledger (services/suspension.py), within the key's rate limit unless
    `limited` is False (the metrics scrape: monitoring must not go blind when a busy key is
    throttled)."""

    def __init__(self, *roles: str, limited: bool = True) -> None:
        if not roles:
            raise ValueError("a route must admit at least one role")
        self.roles = frozenset(roles)
        self.limited = limited

    def __call__(self, request: Request, db: DbDep) -> Principal:
        try:
            principal = authenticate(db, _presented_key(request))
        except AuthError as exc:
            raise Unauthenticated(str(exc)) from exc
        # A member the consortium suspended is refused at once (403 member_suspended).
        require_key_member_active(getattr(request.app.state, "context", None), principal)
        limiter: RateLimiter | None = request.app.state.rate_limiter
        if self.limited and limiter is not None:
            limiter.admit(principal.key_id)
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(self.roles))
            raise Forbidden(f"role {principal.role!r} may not do this; allowed: {allowed}")
        return principal


def get_context(request: Request) -> AreaContext:
    """This gateway's area context (its keys, settings and ledger)."""
    ctx: AreaContext | None = getattr(request.app.state, "context", None)
    if ctx is None:
        raise LedgerUnavailable("this gateway runs without a ledger")
    return ctx


CtxDep = Annotated[AreaContext, Depends(get_context)]


@dataclass(frozen=True)
class WriteRequest:
    """What an idempotent write needs from the HTTP request: its key and its fingerprint."""

    key: str | None
    fingerprint: str


async def get_write_request(request: Request) -> WriteRequest:
    """Read the Idempotency-Key header and fingerprint the request (method, path, body)."""
    body = await request.body()
    return WriteRequest(
        request.headers.get("idempotency-key"),
        request_hash(request.method, request.url.path, body),
    )


WriteDep = Annotated[WriteRequest, Depends(get_write_request)]


def idempotent(
    response: Response,
    db: sqlite3.Connection,
    principal: Principal,
    write: WriteRequest,
    fn: Callable[[], Any],
    status: int = 202,
) -> Any:
    """Run a write once per Idempotency-Key; a repeat gets the first answer (and a header)."""
    code, body, replayed = run(
        db, principal.member_id, write.key, write.fingerprint, lambda: (status, fn())
    )
    response.status_code = code
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return body


class PeerSigned:
    """Marks a gateway-to-gateway route: no API key; the body carries a request signed by a
    registered account of a member (checked by node_gateway.peer.auth). The route x role test
    treats these routes as their own category."""

    def __call__(self) -> None:
        return None


peer_signed = PeerSigned()
