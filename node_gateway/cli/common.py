"""What the operator's command groups share: path options, the gateway database opened for an
operator, and the printing of an accepted write's operation."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from clients.cli.common import fail, fields, operation_fields, show
from clients.http import GatewayClient

F = TypeVar("F", bound=Callable[..., Any])


def directory_option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """A click option naming a directory (which need not exist yet)."""
    return click.option(*decls, type=click.Path(file_okay=False, path_type=Path), **attrs)


def file_option(*decls: str, exists: bool = False, **attrs: Any) -> Callable[[F], F]:
    """A click option naming a file (which must exist if `exists`)."""
    kind = click.Path(dir_okay=False, exists=exists, path_type=Path)
    return click.option(*decls, type=kind, **attrs)


GATEWAY_DB = file_option(
    "--db",
    "db_path",
    required=True,
    help="the gateway's database file (data_dir/gateway-<code>.db)",
)

# An operator's command may run beside a busy gateway: wait longer than the gateway's own 5 s
# for its turn at the write lock rather than fail "database is locked".
OPERATOR_BUSY_TIMEOUT_MS = 30_000


def open_store(path: Path) -> sqlite3.Connection:
    """The gateway database at `path`, migrated; a bad file ends the command (exit 2)."""
    from node_gateway.store import StoreError, migrate, open_db

    try:
        conn = open_db(path, busy_timeout_ms=OPERATOR_BUSY_TIMEOUT_MS)
        migrate(conn)
    except (StoreError, sqlite3.Error, OSError) as exc:
        fail(f"{path}: {exc}")
        raise
    return conn


def accepted_operation(
    client: GatewayClient, accepted: dict[str, Any], wait: bool, timeout: float, as_json: bool
) -> dict[str, Any]:
    """Wait for an accepted write's operation if asked; print it unless --json."""
    operation: dict[str, Any] = accepted["operation"]
    if wait:
        operation = client.wait(operation, timeout=timeout)
    if not as_json:
        show(fields(None, operation_fields(operation)))
    return operation
