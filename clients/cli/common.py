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
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from clients.bindings import ReturnState
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
from clients.keystore import load_account

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
    if isinstance(exc, Forbidden) and exc.code == "forbidden":
        return "this key's role may not do that"
    if isinstance(exc, GatewayUnreachable):
        return "check --gateway / CROSSRETURN_GATEWAY and that the gateway runs"
    if isinstance(exc, ServiceUnavailable):
        return "the gateway's ledger node or a peer gateway is down; retry later"
    if isinstance(exc, KeystoreError):
        return "check the keystore file and its password"
    return ""


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
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


class HexId(click.ParamType):  # type: ignore[type-arg]
    """A case or return id as a person pastes it (any case, surrounding blanks), passed on in
    the one spelling the gateway accepts: 0x and 64 lowercase hex digits."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The id in lowercase, or a usage error naming the parameter."""
        text = str(value).strip().lower()
        if not _HEX32.fullmatch(text):
            self.fail(f"{value!r} is not an id: expected 0x and 64 hex digits", param, ctx)
        return text


_HEX32 = re.compile(r"0x[0-9a-f]{64}")
HEX_ID = HexId()


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
WAIT = click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="wait until the ledger confirms the write",
)


def gateway_options(fn: Callable[P, R]) -> Callable[P, R]:
    """Add --gateway and --api-key (both also from the environment)."""
    return GATEWAY(API_KEY(fn))


def connect(gateway: str, api_key: str) -> GatewayClient:
    """A client of `gateway` with `api_key`."""
    if not gateway.startswith(("http://", "https://")):
        fail(f"--gateway must be an http(s) URL, got {gateway!r}")
    return GatewayClient(gateway, api_key)


# ---------------------------------------------------------------------- keystores

PASSWORD_ENV = "CROSSRETURN_KEYSTORE_PASSWORD"
KEYSTORE = click.option(
    "--keystore",
    envvar="CROSSRETURN_KEYSTORE",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="your encrypted signing key (v3 keystore JSON) [env CROSSRETURN_KEYSTORE]",
)
PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help=f"read the keystore password from FILE's first line; else env {PASSWORD_ENV}, "
    "else a hidden prompt (never give a password on the command line)",
)


def read_password(password_file: Path | None, confirm: bool = False) -> str:
    """The keystore password: from `password_file`, else the environment, else a hidden
    prompt (asked twice when `confirm`, as for a new keystore)."""
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputFileError(str(password_file), f"cannot read it: {reason}") from None
        first = text.splitlines()[0] if text else ""
        if not first:
            raise InputFileError(str(password_file), "the password file's first line is empty")
        return first
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    password: str = click.prompt(
        "Keystore password", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return password


def unlock(keystore: Path, password_file: Path | None) -> LocalAccount:
    """The account of `keystore`, unlocked with the password from its sources."""
    return load_account(keystore, read_password(password_file))


# ---------------------------------------------------------------------- returns

# The ledger states of a return, in the order a return goes through them.
RETURN_STATES = tuple(s.name.lower() for s in ReturnState if s is not ReturnState.NONE)


def reached(view: dict[str, Any], state: str) -> bool:
    """Whether a return view's ledger state is `state` or one after it."""
    ledger = view.get("ledger")
    if not ledger or ledger.get("state") not in RETURN_STATES:
        return False
    return RETURN_STATES.index(ledger["state"]) >= RETURN_STATES.index(state)


def lines(gnums: Iterable[int] | None) -> str:
    """Line numbers for people: `1, 2` ('-' for none)."""
    shown = ", ".join(str(g) for g in gnums or ())
    return shown or "-"


def when(ts: int | None) -> str | None:
    """A ledger timestamp as ISO 8601 (UTC)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- output

_console: Console | None = None


PIPED_WIDTH = 200  # wide enough that a table of 0x-ids never folds an id


def console() -> Console:
    """The rich console the CLI prints to (stdout; plain text when not a terminal, then
    PIPED_WIDTH columns wide unless COLUMNS says otherwise, so ids stay whole for grep)."""
    global _console
    if _console is None:
        piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
        _console = Console(highlight=False, soft_wrap=True, width=PIPED_WIDTH if piped else None)
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


def fields(title: str | None, pairs: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table of named values (None shown as '-')."""
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    for name, value in pairs:
        t.add_row(name, "-" if value is None else str(value))
    return t


def operation_fields(operation: dict[str, Any]) -> list[tuple[str, Any]]:
    """What people need of an operation: id, kind, status, block, tx hash, error."""
    found = [
        ("operation", operation.get("id")),
        ("kind", operation.get("kind")),
        ("status", operation.get("status")),
        ("block", operation.get("block")),
        ("tx hash", operation.get("txHash")),
    ]
    if operation.get("error"):
        found.append(("error", operation["error"]))
    return found


def show(renderable: Any) -> None:
    """Print a rich renderable (table, text) for people."""
    console().print(renderable)


def short(hex_id: str | None, keep: int = 10) -> str:
    """A 0x-id shortened for tables (`0x1234abcd…`); --json always has the full id."""
    if not hex_id:
        return "-"
    return hex_id if len(hex_id) <= keep + 2 else hex_id[: keep + 2] + "…"
