"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from node_gateway.api.deps import Allow, DbDep
from node_gateway.services.auth import Principal
from node_gateway.services.metrics import render
from node_gateway.services.rate_limit import RateLimiter

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is up")
def health() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/ready", summary="The gateway can take writes", response_model=None)
def ready(request: Request) -> Any:
    """200 when every readiness check passes, 503 with the failing checks otherwise."""
    checks: dict[str, bool] = {
        name: bool(check()) for name, check in request.app.state.readiness.items()
    }
    status = 200 if all(checks.values()) else 503
    return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(
    request: Request,
    db: DbDep,
    who: Annotated[Principal, Depends(Allow("admin", "system", limited=False))],
) -> str:
    """Outbox, batches, returns per state, index position, rate-limited requests per key
    (scrape with a system key; the scrape itself is not rate limited)."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    refused = limiter.refused() if limiter is not None else {}
    return render(getattr(request.app.state, "context", None), db, refused)
