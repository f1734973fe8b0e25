"""The gateway's app factory: `create_app(settings)` builds one customs area's FastAPI app."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from node_gateway.api.limits import BodyLimit
from node_gateway.api.problems import install_problem_handlers
from node_gateway.api.routes import health, session
from node_gateway.config import GatewaySettings
from node_gateway.store.pool import ThreadConnections


def create_app(
    settings: GatewaySettings,
    readiness: dict[str, Callable[[], bool]] | None = None,
    connections: ThreadConnections | None = None,
) -> FastAPI:
    """One customs area's API; `readiness` names the checks `/ready` runs."""
    app = FastAPI(
        title=f"CrossReturn gateway {settings.customs_code}",
        version="1",
        description="One customs area's gateway to the CrossReturn ledger.",
    )
    app.state.settings = settings
    app.state.connections = connections or ThreadConnections(settings.database)
    app.state.readiness = readiness or {}
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(session.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
