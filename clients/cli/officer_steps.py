"""What every `crossreturn officer` step shares: the --officer option, building a canonical
record from what the officer typed, reading the gateway's view of a return, posting one step
and waiting for the ledger."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from clients.cli.common import (
    AS_JSON,
    EXIT_REFUSED,
    EXIT_USAGE,
    TIMEOUT,
    WAIT,
    connect,
    emit_json,
    fail,
    fields,
    gateway_options,
    handles_errors,
    lines,
    operation_fields,
    reached,
    short,
    show,
)
from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.http import GatewayClient
from clients.records import (
    DocType,
    Record,
    RecordValidationError,
    canonical,
)

OFFICER = click.option(
    "--officer",
    envvar="CROSSRETURN_OFFICER",
    required=True,
    metavar="CODE",
    help="your officer code, recorded in the document [env CROSSRETURN_OFFICER]",
)


@dataclass(frozen=True)
class StepOptions:
    """What every step command takes alike: who records it, which gateway, and how to wait
    and print."""

    gateway: str
    api_key: str
    wait: bool
    timeout: float
    as_json: bool
    officer: str = ""

    def client(self) -> GatewayClient:
        """A client of the gateway with the API key."""
        return connect(self.gateway, self.api_key)

    def post(
        self,
        client: GatewayClient,
        return_id: str,
        action: str,
        record: dict[str, Any],
        done: Callable[[dict[str, Any]], bool],
    ) -> None:
        """Post one step and wait and show it as the options say."""
        step(client, return_id, action, record, self.wait, self.timeout, done, self.as_json)


def step_command(fn: Callable[..., None]) -> Callable[..., None]:
    """Give a step command --gateway, --api-key, --wait/--no-wait, --timeout and --json, handed
    to it as one `opts: StepOptions`, and its errors as one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        gateway: str,
        api_key: str,
        wait: bool,
        timeout: float,
        as_json: bool,
        officer: str = "",
        **kwargs: Any,
    ) -> None:
        opts = StepOptions(gateway, api_key, wait, timeout, as_json, officer)
        fn(*args, opts=opts, **kwargs)

    return gateway_options(WAIT(TIMEOUT(AS_JSON(handles_errors(wrapper)))))


def officer_step_command(fn: Callable[..., None]) -> Callable[..., None]:
    """A step command an officer signs: --officer first, then what `step_command` adds."""
    return OFFICER(step_command(fn))


def now() -> datetime:
    return datetime.now(UTC).astimezone()


def build(make: Callable[[], Record]) -> dict[str, Any]:
    """The canonical form of the record `make` builds; invalid input exits 2 naming fields."""
    try:
        return canonical(make())
    except RecordValidationError as exc:
        shown = "; ".join(f"{e.path}: {e.message}" for e in exc.errors[:3])
        fail(f"the record would be invalid: {shown}", EXIT_USAGE)


def on_ledger(view: dict[str, Any]) -> dict[str, Any]:
    ledger: dict[str, Any] | None = view.get("ledger")
    if not ledger:
        pending = ", ".join(str(op["id"]) for op in view.get("pending") or []) or "none"
        fail(
            f"return {view['returnId']} is not on this gateway's ledger index yet "
            f"(pending operations: {pending})",
            EXIT_REFUSED,
        )
    return ledger


def document(view: dict[str, Any], doc_type: DocType) -> dict[str, Any]:
    """The whole record of `doc_type` this gateway holds for the return."""
    for item in view.get("documents") or []:
        if item["docType"] == doc_type.value:
            try:
                return DisclosedDocument.from_json(item["document"]).whole()
            except CommitmentError as exc:
                fail(f"the gateway's {doc_type.value} is not usable: {exc}", EXIT_REFUSED)
    fail(f"this gateway holds no {doc_type.value} for return {view['returnId']}", EXIT_REFUSED)


def parse_gnums(text: str | None, option: str) -> list[int]:
    if not text:
        return []
    try:
        found = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise click.BadParameter("line numbers like 1,2,3", param_hint=option) from None
    if len(set(found)) != len(found):
        raise click.BadParameter("a line is named twice", param_hint=option)
    return found


def step(
    client: GatewayClient,
    return_id: str,
    action: str,
    record: dict[str, Any],
    wait: bool,
    timeout: float,
    done: Callable[[dict[str, Any]], bool],
    as_json: bool,
) -> None:
    """Post one step, wait for the ledger (unless not `wait`) and show the outcome."""
    accepted = client.step(return_id, action, record)
    operation = accepted["operation"]
    ledger: dict[str, Any] | None = None
    if wait:
        operation = client.wait(operation, timeout)
        view = client.wait_return(return_id, done, timeout, f"return {return_id} after {action}")
        ledger = view.get("ledger")
    result = {
        "returnId": return_id,
        "step": action,
        "digest": accepted["digest"],
        "operation": operation,
        "ledger": ledger,
    }
    if as_json:
        emit_json(result)
        return
    pairs = [("return", return_id), ("digest", accepted["digest"]), *operation_fields(operation)]
    if ledger:
        pairs += [
            ("state", ledger["state"]),
            ("accepted lines", lines(ledger["acceptedLines"])),
            ("settled lines", lines(ledger["settledLines"])),
        ]
    else:
        pairs.append(("state", "(not waited for)"))
    show(fields(f"{action} of {short(return_id)}", pairs))


def by(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda view: reached(view, state)


# ---------------------------------------------------------------------- queue


__all__ = ["OFFICER", "build", "by", "document", "parse_gnums", "now", "on_ledger", "step"]
