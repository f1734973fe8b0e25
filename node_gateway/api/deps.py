"""Dependencies of the routes: the store connection and role-based authorisation.

Every route declares the roles it admits with `Allow(...)`; the route x role matrix test walks
the app's routes and fails on any route that declares none.
"""

from __future__ import annotations

import sqlite3
from typing import Annotated

from fastapi import Depends, Request

from node_gateway.api.problems import DomainError
from node_gateway.services.auth import AuthError, Principal, authenticate


class Unauthenticated(DomainError):
    """401: no valid API key."""

    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(DomainError):
    """403: the key's role may not use this route."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


def get_db(request: Request) -> sqlite3.Connection:
    """This worker thread's store connection."""
    conn: sqlite3.Connection = request.app.state.connections.get()
    return conn


DbDep = Annotated[sqlite3.Connection, Depends(get_db)]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


class Allow:
    """A dependency admitting callers whose key has one of `roles`."""

    def __init__(self, *roles: str) -> None:
        if not roles:
            raise ValueError("a route must admit at least one role")
        self.roles = frozenset(roles)

    def __call__(self, request: Request, db: DbDep) -> Principal:
        try:
            principal = authenticate(db, _presented_key(request))
        except AuthError as exc:
            raise Unauthenticated(str(exc)) from exc
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(self.roles))
            raise Forbidden(f"role {principal.role!r} may not do this; allowed: {allowed}")
        return principal
