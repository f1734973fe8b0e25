"""What every audience's command group shares: how to reach a gateway, the output layer
(rich tables for people, `--json` for scripts), and the one place errors become a one-line
message and an exit code.

Exit codes (documented in README and `crossreturn --help`):

    0  done
    1  the command ran and found a problem (a check failed, an operation failed, anomalies)
    2  bad usage or an unusable input file
    3  the gateway or the ledger cannot be reached, or is unavailable (503)
    4  the API key or the keystore password was refused (401, 403, wrong password)
    5  the gateway refused the request (400, 404, 409, 422 …: the problem's code is shown)
    6  timed out waiting for an operation or a state
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table

from clients.errors import (
    ApiError,
    AuthenticationFailed,
    CrossReturnError,
    Forbidden,
    GatewayUnreachable,
    InputFileError,
    KeystoreError,
    LedgerError,
    OperationFailed,
    ServiceUnavailable,
    WaitTimeout,
)
from clients.http import GatewayClient

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_AUTH = 4
EXIT_REFUSED = 5
EXIT_TIMEOUT = 6

P = ParamSpec("P")
R = TypeVar("R")


def exit_code(exc: CrossReturnError) -> int:
    """The documented exit code of an SDK error."""
    if isinstance(exc, AuthenticationFailed | Forbidden | KeystoreError):
        return EXIT_AUTH
    if isinstance(exc, GatewayUnreachable | ServiceUnavailable | LedgerError):
        return EXIT_UNAVAILABLE
    if isinstance(exc, InputFileError):
        return EXIT_USAGE
    if isinstance(exc, WaitTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, OperationFailed):
        return EXIT_PROBLEM
    if isinstance(exc, ApiError):
        return EXIT_REFUSED
    return EXIT_PROBLEM


def hint(exc: CrossReturnError) -> str:
    """What to do about it, in a few words (appended to the one-line message)."""
    if isinstance(exc, AuthenticationFailed):
        return "check --api-key / CROSSRETURN_API_KEY, or ask the gateway's admin for a key"
    if isinstance(exc, Forbidden):
        return "this key's role may not do that"
    if isinstance(exc, GatewayUnreachable):
        return "check --gateway / CROSSRETURN_GATEWAY and that the gateway runs"
    if isinstance(exc, ServiceUnavailable):
        return "the gateway's ledger node or a peer gateway is down; retry later"
    if isinstance(exc, KeystoreError):
        return "check the keystore file and its password"
    return ""


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print `error: message` on stderr and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn SDK errors raised by a command into one line on stderr and the exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CrossReturnError as exc:
            extra = hint(exc)
            fail(f"{exc}" + (f" — {extra}" if extra else ""), exit_code(exc))
            raise  # unreachable: fail() exits

    return wrapper


# ---------------------------------------------------------------------- reaching a gateway

GATEWAY = click.option(
    "--gateway",
    envvar="CROSSRETURN_GATEWAY",
    required=True,
    metavar="URL",
    help="the gateway's base URL, e.g. http://127.0.0.1:8200 [env CROSSRETURN_GATEWAY]",
)
API_KEY = click.option(
    "--api-key",
    envvar="CROSSRETURN_API_KEY",
    required=True,
    metavar="KEY",
    help="your API key at that gateway [env CROSSRETURN_API_KEY]",
)
TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=60.0,
    show_default=True,
    help="seconds to wait for the ledger",
)
AS_JSON = click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")


def gateway_options(fn: Callable[P, R]) -> Callable[P, R]:
    """Add --gateway and --api-key (both also from the environment)."""
    return GATEWAY(API_KEY(fn))


def connect(gateway: str, api_key: str) -> GatewayClient:
    """A client of `gateway` with `api_key`."""
    if not gateway.startswith(("http://", "https://")):
        fail(f"--gateway must be an http(s) URL, got {gateway!r}")
    return GatewayClient(gateway, api_key)


# ---------------------------------------------------------------------- output

_console: Console | None = None


def console() -> Console:
    """The rich console the CLI prints to (stdout; plain text when not a terminal)."""
    global _console
    if _console is None:
        _console = Console(highlight=False, soft_wrap=True)
    return _console


def emit_json(data: Any) -> None:
    """Print `data` as one JSON document."""
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A rich table with these columns and rows (None shown as '-')."""
    t = Table(title=title, show_lines=False, header_style="bold")
    for name in columns:
        t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*("-" if cell is None else str(cell) for cell in row))
    return t


def show(renderable: Any) -> None:
    """Print a rich renderable (table, text) for people."""
    console().print(renderable)


def short(hex_id: str | None, keep: int = 10) -> str:
    """A 0x-id shortened for tables (`0x1234abcd…`); --json always has the full id."""
    if not hex_id:
        return "-"
    return hex_id if len(hex_id) <= keep + 2 else hex_id[: keep + 2] + "…"
