"""The one exception root of the CrossReturn SDK and the errors every part of it shares.

    CrossReturnError
    ├── LedgerError ── ContractRevert          the ledger itself (bindings, verifier)
    ├── ApiError                               a gateway answered with problem+json
    │   ├── BadRequest         400, 413, 422   the request was refused as malformed
    │   ├── AuthenticationFailed 401           no or a revoked / unknown API key
    │   ├── Forbidden          403             the key's role may not do this
    │   ├── NotFound           404
    │   ├── Conflict           409             out of order, duplicate, window closed …
    │   ├── RateLimited        429
    │   └── ServiceUnavailable 502, 503, 504   the gateway's ledger or a peer is down
    ├── GatewayUnreachable                     no answer at all (down, timeout, not HTTP)
    ├── OperationFailed, WaitTimeout           an accepted write failed / did not finish
    ├── KeystoreError                          unreadable keystore or wrong password
    ├── LineMaskError                          a line number or mask out of the ledger's range
    └── InputFileError                         an input file that cannot be used

Every class builds its own one-line message, so a command line can print `str(exc)` as is.
"""

from __future__ import annotations

from typing import Any


class CrossReturnError(Exception):
    """Base class for everything the CrossReturn SDK raises."""


class LedgerError(CrossReturnError):
    """The ledger could not be reached or answered something unusable."""


class ContractRevert(LedgerError):
    """A contract call or transaction reverted; `name` and `args` come from its custom error."""

    def __init__(self, name: str, args: dict[str, Any], raw: bytes = b"") -> None:
        self.name = name
        self.args_dict = args
        self.raw = raw
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(f"{name}({shown})")


class NodeRefused(LedgerError):
    """The node answered but would not take a transaction, and no contract reverted: fees,
    funds, gas limit, nonce, size. Unlike an outage this needs an operator, not patience."""


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)


class ApiError(CrossReturnError):
    """A gateway refused a request with an RFC 9457 problem: `status`, the stable `code`,
    `title`, `detail` and the whole `problem` body (extra members such as `errors`)."""

    def __init__(self, status: int, code: str, title: str, detail: str, problem: dict[str, Any]):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.problem = problem
        super().__init__(f"{code} ({status}): {detail or title}")

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The problem's itemised `errors` (field or element problems), if any."""
        items = self.problem.get("errors")
        return list(items) if isinstance(items, list) else []


class BadRequest(ApiError):
    """400, 413 or 422: the request (body, parameters, source document) was refused."""


class AuthenticationFailed(ApiError):
    """401: the API key is missing, unknown or revoked — ask the gateway's admin for one."""


class Forbidden(ApiError):
    """403: the key's role may not use this route."""


class NotFound(ApiError):
    """404: no such return, case, operation — or not one this key may see."""


class Conflict(ApiError):
    """409: the ledger's rules refuse it now (out of order, duplicate, window closed …)."""


class RateLimited(ApiError):
    """429: too many requests for this key; `retry_after` seconds, when the gateway said."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the gateway asked to wait, if it said."""
        value = self.problem.get("retryAfter")
        return float(value) if isinstance(value, int | float) else None


class ServiceUnavailable(ApiError):
    """503: the gateway is up but its ledger node is not; 502 (`peer_unavailable`): a peer
    gateway it needs is not; 504: a proxy in front of it got no answer."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    422: BadRequest,
    429: RateLimited,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def api_error(status: int, problem: dict[str, Any]) -> ApiError:
    """The ApiError subclass for a problem+json answer of `status`."""
    cls = _BY_STATUS.get(status, ApiError)
    code = str(problem.get("code") or f"http_{status}")
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or "")
    return cls(status, code, title, detail, problem)


class GatewayUnreachable(CrossReturnError):
    """The gateway did not answer (refused, timed out, not an HTTP API) after every retry."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"gateway {url} unreachable: {reason}")


class OperationFailed(CrossReturnError):
    """An accepted write reached a final state other than confirmed (`operation` says why)."""

    def __init__(self, operation: dict[str, Any]) -> None:
        self.operation = operation
        reason = operation.get("error") or operation.get("reason") or "no reason given"
        super().__init__(f"operation {operation.get('id')} failed: {reason}")


class WaitTimeout(CrossReturnError):
    """Waited `timeout_s` for something (an operation, a return state) that did not happen."""

    def __init__(self, what: str, timeout_s: float, last: Any = None) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.last = last
        super().__init__(f"timed out after {timeout_s:g} s waiting for {what}")


class KeystoreError(CrossReturnError):
    """A keystore that cannot be read, or a password that does not open it."""


class LineMaskError(CrossReturnError, ValueError):
    """A line number outside 1..`limit`, or a line mask with bits beyond line `limit` (also a
    ValueError, as the checks it replaces raised)."""

    def __init__(self, value: int, limit: int, what: str = "line number") -> None:
        self.value = value
        self.limit = limit
        super().__init__(f"{what} must be within lines 1..{limit}, got {value}")


class InputFileError(CrossReturnError):
    """An input file that cannot be used: unreadable, not the expected format, invalid."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
