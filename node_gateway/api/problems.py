"""RFC 9457 problem details: every error the API returns, with a stable `code`.

Services raise `GatewayError` subclasses; routes never build error responses themselves. The
handlers installed by `install_problem_handlers` turn domain errors, the SDK adapters' refusals
of a source document (clients.adapters.AdapterError, which carry their own status and code),
FastAPI's validation errors and Starlette's HTTP errors into `application/problem+json`, and
anything unexpected into a 500 problem that names no internals (and is logged).
`document_problems` makes the OpenAPI document say so, listing every code the answers carry.
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
from node_gateway.errors import GatewayError, GatewayFault, problem_codes

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
HTTP_ERROR = "http_error"  # an HTTP status without a code of its own
LEDGER_UNAVAILABLE = "ledger_unavailable"
TOO_DEEP = "too_deep"  # a JSON body nested deeper than the limit (api.limits)


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


def problem_body(
    status: int, code: str, title: str, detail: str, instance: str, **extra: Any
) -> dict[str, Any]:
    """The members of an RFC 9457 problem (and any `extra` ones)."""
    return {
        "type": f"https://crossreturn.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        **extra,
    }


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
    body = problem_body(status, code, title, detail, instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    """A GatewayError: its own status, code, title, extra members and headers."""
    assert isinstance(exc, GatewayError)
    if isinstance(exc, GatewayFault):
        return await _unexpected(request, exc)
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        request.url.path,
        headers=exc.headers or None,
        **exc.extra,
    )


async def _source(request: Request, exc: Exception) -> JSONResponse:
    """An adapter's refusal of a source document, with each problem it found."""
    assert isinstance(exc, AdapterError)
    return problem(
        exc.status,
        exc.code,
        exc.title,
        str(exc),
        request.url.path,
        errors=exc.reported,
        errorCount=len(exc.problems),
    )


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation: 422 `invalid_request` with each path and rule."""
    assert isinstance(exc, RequestValidationError)
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


async def _http(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's HTTP errors (no route, wrong method …), coded by status."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, HTTP_ERROR)
    title = code.replace("_", " ").capitalize()
    return problem(exc.status_code, code, title, str(exc.detail), request.url.path)


async def _ledger(request: Request, exc: Exception) -> JSONResponse:
    """The ledger cannot be reached: 503, nothing written (logged)."""
    log.warning("ledger unavailable on %s: %s", request.url.path, exc)
    return problem(
        503,
        LEDGER_UNAVAILABLE,
        "Ledger unavailable",
        "the ledger cannot be reached right now; nothing was written, retry later",
        request.url.path,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: a 500 that names no internals (logged with its traceback)."""
    log.exception("unexpected error on %s", request.url.path)
    return problem(
        500,
        "internal_error",
        "Internal error",
        "the gateway could not complete the request; it was logged",
        request.url.path,
    )


_HANDLERS: dict[type[Exception], Any] = {
    GatewayError: _domain,
    AdapterError: _source,
    RequestValidationError: _invalid,
    StarletteHTTPException: _http,
    LedgerError: _ledger,
    Exception: _unexpected,
}


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error of `app` through problem details."""
    for exc_class, handler in _HANDLERS.items():
        app.add_exception_handler(exc_class, handler)


def _adapter_codes(cls: type[AdapterError] = AdapterError) -> set[str]:
    """The codes of the SDK adapters' refusals (AdapterError and its subclasses)."""
    return {cls.code}.union(*(_adapter_codes(sub) for sub in cls.__subclasses__()))


def all_problem_codes() -> list[str]:
    """Every `code` a problem answer of the gateway can carry, sorted: its own errors'
    (node_gateway.errors), the adapters', and those of the HTTP layer itself."""
    codes = set(problem_codes()) | _adapter_codes() | set(_HTTP_CODES.values())
    return sorted(codes | {HTTP_ERROR, LEDGER_UNAVAILABLE, TOO_DEEP})


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
            schemas["Problem"]["properties"]["code"]["enum"] = all_problem_codes()
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
