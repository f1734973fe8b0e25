"""RFC 9457 problem details: every error the API returns, with a stable `code`.

Services raise `GatewayError` subclasses; routes never build error responses themselves. The
handlers installed by `install_problem_handlers` turn domain errors, the SDK adapters' refusals
of a source document (clients.adapters.AdapterError, which carry their own status and code),
FastAPI's validation errors and Starlette's HTTP errors into `application/problem+json`, and
anything unexpected into a 500 problem that names no internals (and is logged).
`document_problems` makes the OpenAPI document say so.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from clients.adapters.errors import AdapterError
from clients.errors import LedgerError
from node_gateway.errors import GatewayError, GatewayFault

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("crossreturn.gateway")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


# The error answers every operation documents (FastAPI's own 422 body is never sent).
_ERROR_RESPONSES = {
    "422": "Invalid request or record; `errors`, if present, lists each path and rule",
    "4XX": "Refused; `code` says why",
    "5XX": "Internal error, or the ledger is unavailable (503 `ledger_unavailable`)",
}


class Problem(BaseModel):
    """An RFC 9457 problem: the body of every error answer. Some codes add members, e.g.
    `errors` (invalid_request, invalid_record, invalid_source), `caseId` or `retryAfter`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="the problem type: https://crossreturn.example/problems/<code>")
    title: str = Field(description="a short summary of the problem type")
    status: int = Field(ge=400, le=599, description="the HTTP status of the answer")
    detail: str = Field(description="what went wrong with this request")
    instance: str = Field(description="the request path")
    code: str = Field(description="the stable, machine-readable problem code")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem response (with `headers`, if given)."""
    body = {
        "type": f"https://crossreturn.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error of `app` through problem details."""

    @app.exception_handler(GatewayError)
    async def domain(request: Request, exc: GatewayError) -> JSONResponse:
        if isinstance(exc, GatewayFault):
            return await unexpected(request, exc)
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            request.url.path,
            headers=exc.headers or None,
            **exc.extra,
        )

    @app.exception_handler(AdapterError)
    async def source(request: Request, exc: AdapterError) -> JSONResponse:
        return problem(
            exc.status,
            exc.code,
            exc.title,
            str(exc),
            request.url.path,
            errors=exc.reported,
            errorCount=len(exc.problems),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "path": "/" + "/".join(str(p) for p in e.get("loc", ())[1:]),
                "rule": e.get("type", "invalid"),
                "message": e.get("msg", ""),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        return problem(
            422, "invalid_request", "Invalid request", detail, request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        title = code.replace("_", " ").capitalize()
        return problem(exc.status_code, code, title, str(exc.detail), request.url.path)

    @app.exception_handler(LedgerError)
    async def ledger(request: Request, exc: LedgerError) -> JSONResponse:
        log.warning("ledger unavailable on %s: %s", request.url.path, exc)
        return problem(
            503,
            "ledger_unavailable",
            "Ledger unavailable",
            "the ledger cannot be reached right now; nothing was written, retry later",
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(
            500,
            "internal_error",
            "Internal error",
            "the gateway could not complete the request; it was logged",
            request.url.path,
        )


def document_problems(app: FastAPI) -> None:
    """Make `app`'s OpenAPI document declare its error answers as `Problem`s: application/
    problem+json for 422 (in place of FastAPI's HTTPValidationError), 4XX and 5XX."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            schemas["Problem"] = Problem.model_json_schema()
            ref = "#/components/schemas/Problem"
            for operations in doc["paths"].values():
                for operation in operations.values():
                    responses = operation["responses"]
                    for status, description in _ERROR_RESPONSES.items():
                        if status == "422" and status not in responses:
                            continue  # takes no input, so FastAPI declared no 422
                        responses[status] = {
                            "description": description,
                            "content": {PROBLEM_JSON: {"schema": {"$ref": ref}}},
                        }
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
