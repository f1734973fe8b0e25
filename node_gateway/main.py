"""The gateway's app factory: `create_app(settings)` builds one customs area's FastAPI app."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from node_gateway.api.limits import BodyLimit
from node_gateway.api.problems import document_problems, install_problem_handlers
from node_gateway.api.routes import (
    audit,
    cases,
    console,
    governance,
    health,
    ledger,
    operations,
    peer,
    returns,
    session,
    tax_records,
)
from node_gateway.config import GatewaySettings
from node_gateway.services.context import AreaContext
from node_gateway.services.rate_limit import RateLimiter
from node_gateway.store.pool import ThreadConnections


def create_app(
    settings: GatewaySettings,
    readiness: dict[str, Callable[[], bool]] | None = None,
    connections: ThreadConnections | None = None,
    context: AreaContext | None = None,
) -> FastAPI:
    """One customs area's API; `readiness` names the checks `/ready` runs; `context` carries
    the area's keys and ledger (without it, ledger routes answer 503)."""
    app = FastAPI(
        title=f"CrossReturn gateway {settings.customs_code}",
        version="1",
        description=(
            "One customs area's gateway to the CrossReturn ledger. Every error is an RFC 9457 "
            "problem+json with a stable `code`. Writes answer 202 once durable, with an "
            "operation to poll; send an `Idempotency-Key` header to make a POST safe to retry. "
            "Each API key may send a limited number of requests per second; above it the "
            "answer is 429 `rate_limited` with a `Retry-After` header (whole seconds)."
        ),
    )
    app.state.settings = settings
    app.state.connections = connections or ThreadConnections(settings.database)
    app.state.readiness = readiness or {}
    app.state.context = context
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    install_problem_handlers(app)
    document_problems(app)
    for module in (
        health,
        session,
        tax_records,
        returns,
        cases,
        operations,
        audit,
        ledger,
        peer,
        governance,
        console,
    ):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
