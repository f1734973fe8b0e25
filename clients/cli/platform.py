"""`crossreturn platform`: the return enterprise's commands — keep its signing key in an
encrypted keystore, apply for returns (a CEB625 return list or a canonical return application,
signed locally, relayed by the return centre's gateway) and follow them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from clients.adapters import AdapterError, read_return_applications
from clients.applications import application_body
from clients.cli.common import (
    AS_JSON,
    EXIT_USAGE,
    HEX_ID,
    KEYSTORE,
    PASSWORD_FILE,
    RETURN_STATES,
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
    read_password,
    short,
    show,
    table,
    unlock,
    when,
)
from clients.errors import InputFileError, WaitTimeout
from clients.http import GatewayClient
from clients.keystore import create_keystore
from clients.records import (
    DocType,
    RecordValidationError,
    ReturnApplication,
    parse_record,
)

CENTRE_ROLES = ("return_centre", "both")
SHOWN_PROBLEMS = 3


@click.group(short_help="Return enterprises: keystores, return applications, status.")
def platform() -> None:
    """What a return enterprise (a platform's agent or broker) does: keep its signing key in
    a keystore, apply for returns at a return centre, follow them. --gateway and --api-key
    name the return centre's gateway and your key there (or CROSSRETURN_GATEWAY and
    CROSSRETURN_API_KEY).

    \b
    Example:
      crossreturn platform keystore create --out platform.json
      crossreturn platform apply return.xml --keystore platform.json \\
          --origin http://127.0.0.1:8201 --origin-api-key $ORIGIN_KEY
      crossreturn platform status --all
    """


# ---------------------------------------------------------------------- keystores


@platform.group(short_help="Encrypted signing keys (v3 keystores).")
def keystore() -> None:
    """Create encrypted keystores holding the return enterprise's signing key.

    Example: crossreturn platform keystore create --out me.json
    """


def _read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a hex text file"
        raise InputFileError(str(path), f"cannot read the key: {reason}") from None
    try:
        key = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise InputFileError(str(path), "not a hex private key") from None
    if len(key) != 32:
        raise InputFileError(str(path), f"a private key has 32 bytes, this one {len(key)}")
    return key


@keystore.command("create", short_help="Create a keystore (new key, or wrap a key file).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="where to write the keystore (never overwritten; mode 0600)",
)
@click.option(
    "--from-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="wrap this raw hex key (e.g. data/consortium/clients/platform-demo.key) instead of "
    "generating a new one",
)
@PASSWORD_FILE
@AS_JSON
@handles_errors
def keystore_create(
    out: Path, from_key_file: Path | None, password_file: Path | None, as_json: bool
) -> None:
    """Encrypt a new signing key, or the raw hex key in --from-key-file, into a v3 keystore
    at --out and print its account address (register that account with your member).

    The password comes from --password-file, env CROSSRETURN_KEYSTORE_PASSWORD or a hidden
    prompt (asked twice).

    \b
    Example:
      crossreturn platform keystore create --out platform.json \\
          --from-key-file data/consortium/clients/platform-demo.key
    """
    key = _read_key_file(from_key_file) if from_key_file is not None else None
    if out.exists():
        fail(f"{out} exists; refusing to overwrite a keystore", EXIT_USAGE)
    password = read_password(password_file, confirm=True)
    address = create_keystore(out, password, key)
    if as_json:
        emit_json({"keystore": str(out), "address": address})
    else:
        show(fields("keystore created", [("file", out), ("address", address)]))


# ---------------------------------------------------------------------- apply


def _problems_line(problems: list[str], total: int) -> str:
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    more = f" (and {total - SHOWN_PROBLEMS} more)" if total > SHOWN_PROBLEMS else ""
    return f"{total} problem{'s' if total != 1 else ''}: {shown}{more}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read: {exc.strerror}") from None


def _is_xml(path: Path, data: bytes) -> bool:
    if path.suffix.lower() in (".xml", ".json"):
        return path.suffix.lower() == ".xml"
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _from_json(path: Path, data: bytes) -> list[ReturnApplication]:
    try:
        loaded = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(str(path), f"not JSON: {exc}") from None
    items = loaded if isinstance(loaded, list) else [loaded]
    if not items or not all(isinstance(item, dict) for item in items):
        raise InputFileError(str(path), "expected a return_application object (or a list)")
    out: list[ReturnApplication] = []
    for i, item in enumerate(items):
        prefix = f"/{i}" if isinstance(loaded, list) else ""
        try:
            record = parse_record(DocType.RETURN_APPLICATION, item)
        except RecordValidationError as exc:
            found = [f"{prefix}{e.path}: {e.message}" for e in exc.errors]
            raise InputFileError(str(path), _problems_line(found, len(found))) from None
        assert isinstance(record, ReturnApplication)
        out.append(record)
    return out


def read_applications(path: Path, data: bytes, centre_code: str) -> list[ReturnApplication]:
    """The return applications in a CEB625 message or a canonical JSON file (one object or a
    list); a CEB625 without returnCustomsCode is addressed to `centre_code`."""
    if not _is_xml(path, data):
        return _from_json(path, data)
    try:
        docs = read_return_applications(data, return_centre_code=centre_code)
    except AdapterError as exc:
        found = [str(p) for p in exc.problems]
        raise InputFileError(str(path), _problems_line(found, len(found))) from None
    out = []
    for doc in docs:
        record = parse_record(DocType.RETURN_APPLICATION, doc)
        assert isinstance(record, ReturnApplication)
        out.append(record)
    return out


def _centre(gateway: GatewayClient) -> dict[str, Any]:
    area: dict[str, Any] = gateway.whoami()["gateway"]
    if area["role"] not in CENTRE_ROLES:
        fail(
            f"{gateway.base_url} is area {area['customsCode']} ({area['role']}), not a return "
            "centre: --gateway must be the return centre's gateway",
            EXIT_USAGE,
        )
    return area


def _anchored_case(origin: GatewayClient, invt_no: str, timeout: float) -> dict[str, Any]:
    """The case header of `invt_no` at its origin, once its batch is anchored."""
    case_id = origin.lookup_case(invt_no)["caseId"]
    deadline = time.monotonic() + timeout
    while True:
        case = origin.case_header(case_id)
        if (
            case.get("anchorStatus") == "anchored"
            and case.get("root")
            and case.get("proof") is not None
        ):
            return case
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"case {case_id} ({invt_no}) to be anchored", timeout, case)
        time.sleep(0.25)


def _apply_one(
    centre: GatewayClient,
    origin: GatewayClient,
    area: dict[str, Any],
    record: ReturnApplication,
    account: LocalAccount,
    valid_for: int,
    wait: bool,
    timeout: float,
) -> dict[str, Any]:
    case = _anchored_case(origin, record.invt_no, timeout)
    body = application_body(
        case, record, area["memberId"], account, deadline=int(time.time()) + valid_for
    )
    accepted = centre.apply(body)
    result: dict[str, Any] = {
        "invtNo": record.invt_no,
        "returnId": accepted["returnId"],
        "caseId": accepted["caseId"],
        "lines": sorted(line.gnum for line in record.lines),
        "digest": accepted["digest"],
        "operation": accepted["operation"],
        "state": None,
    }
    if wait:
        result["operation"] = centre.wait(accepted["operation"], timeout)
        view = centre.wait_return(
            accepted["returnId"],
            lambda v: reached(v, "applied"),
            timeout,
            f"return {accepted['returnId']} on the ledger index",
        )
        result["state"] = view["ledger"]["state"]
    return result


def _show_applied(result: dict[str, Any]) -> None:
    pairs = [
        ("return", result["returnId"]),
        ("case", result["caseId"]),
        ("lines", lines(result["lines"])),
        ("digest", result["digest"]),
        *operation_fields(result["operation"]),
        ("state", result["state"] or "(not waited for)"),
    ]
    show(fields(f"return application {result['invtNo']}", pairs))


ORIGIN = click.option(
    "--origin",
    envvar="CROSSRETURN_ORIGIN",
    required=True,
    metavar="URL",
    help="the origin customs area's gateway, where the case was released [env CROSSRETURN_ORIGIN]",
)
ORIGIN_API_KEY = click.option(
    "--origin-api-key",
    envvar="CROSSRETURN_ORIGIN_API_KEY",
    required=True,
    metavar="KEY",
    help="your API key at the origin's gateway [env CROSSRETURN_ORIGIN_API_KEY]",
)


@platform.command(short_help="Apply for a return: convert, sign locally, send, wait.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@gateway_options
@ORIGIN
@ORIGIN_API_KEY
@KEYSTORE
@PASSWORD_FILE
@click.option(
    "--valid-for",
    type=click.IntRange(60, 30 * 86_400),
    default=86_400,
    show_default=True,
    metavar="SECONDS",
    help="how long the signature stays valid",
)
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def apply(
    file: Path,
    gateway: str,
    api_key: str,
    origin: str,
    origin_api_key: str,
    keystore: Path,
    password_file: Path | None,
    valid_for: int,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Apply for the return(s) in FILE — a CEB625 return list (XML) or a canonical
    return_application JSON (one object or a list) — at the return centre's gateway.

    Each application's case is looked up at the origin's gateway (--origin) by its invtNo,
    the EIP-712 terms are signed here with the keystore's account (the key never leaves this
    machine), the return centre relays the signed application to the ledger, and (unless
    --no-wait) the command waits for the ledger to confirm it.

    Exit codes: 2 unusable FILE, 3 a gateway is unreachable, 4 key or password refused,
    5 application refused (the problem's code is shown), 6 timed out.

    \b
    Example:
      crossreturn platform apply return.xml --keystore platform.json \\
          --gateway http://127.0.0.1:8200 --api-key $CENTRE_KEY \\
          --origin http://127.0.0.1:8201 --origin-api-key $ORIGIN_KEY
    """
    data = _read(file)
    centre = connect(gateway, api_key)
    area = _centre(centre)
    records = read_applications(file, data, area["customsCode"])
    for record in records:
        if record.return_centre_code != area["customsCode"]:
            fail(
                f"{file}: {record.invt_no} is addressed to return centre "
                f"{record.return_centre_code}; {gateway} is {area['customsCode']}",
                EXIT_USAGE,
            )
    account = unlock(keystore, password_file)
    source = connect(origin, origin_api_key)
    results = []
    for record in records:
        result = _apply_one(centre, source, area, record, account, valid_for, wait, timeout)
        results.append(result)
        if not as_json:
            _show_applied(result)  # as each one is done: a later refusal leaves it shown
    if as_json:
        emit_json(results)


# ---------------------------------------------------------------------- status


def _show_return(view: dict[str, Any]) -> None:
    ledger = view.get("ledger") or {}
    show(
        fields(
            f"return {short(view['returnId'])}",
            [
                ("return", view["returnId"]),
                ("case", ledger.get("caseId")),
                ("state", ledger.get("state") or "(not on the ledger yet)"),
                ("origin", ledger.get("originCode")),
                ("return centre", ledger.get("centreCode")),
                ("lines", lines(ledger.get("lines"))),
                ("accepted lines", lines(ledger.get("acceptedLines"))),
                ("settled lines", lines(ledger.get("settledLines"))),
                ("late", ledger.get("late")),
                ("applied at", when(ledger.get("appliedAt"))),
            ],
        )
    )
    pending = view.get("pending") or []
    if pending:
        show(
            table(
                "pending operations",
                ["operation", "kind", "status", "created"],
                [(op["id"], op["kind"], op["status"], op["createdAt"]) for op in pending],
            )
        )
    documents = view.get("documents") or []
    show(
        table(
            "documents",
            ["type", "digest", "operation", "block"],
            [
                (
                    d["docType"],
                    d["digest"],
                    (d.get("operation") or {}).get("status"),
                    (d.get("operation") or {}).get("block"),
                )
                for d in documents
            ],
        )
    )


@platform.command(short_help="A return's state and documents, or all your returns.")
@click.argument("return_id", type=HEX_ID, required=False, metavar="[RETURN_ID]")
@click.option("--all", "all_returns", is_flag=True, help="list every return of yours instead")
@click.option(
    "--state", type=click.Choice(RETURN_STATES), help="with --all: only returns in this state"
)
@gateway_options
@AS_JSON
@handles_errors
def status(
    return_id: str | None,
    all_returns: bool,
    state: str | None,
    gateway: str,
    api_key: str,
    as_json: bool,
) -> None:
    """Show one return as this gateway holds it — ledger state, lines applied, accepted and
    settled, pending operations, the digests of its documents — or, with --all, list every
    return of yours the gateway indexes.

    \b
    Example:
      crossreturn platform status 0x5d1c…e2 --gateway http://127.0.0.1:8200
      crossreturn platform status --all --state inspected --json
    """
    if bool(return_id) == all_returns:
        fail("give either RETURN_ID or --all", EXIT_USAGE)
    client = connect(gateway, api_key)
    if return_id is not None:
        view = client.get_return(return_id)
        if as_json:
            emit_json(view)
        else:
            _show_return(view)
        return
    rows = list(client.iter_returns(state=state))
    if as_json:
        emit_json(rows)
        return
    show(
        table(
            f"{len(rows)} return{'s' if len(rows) != 1 else ''}",
            ["return", "state", "origin", "centre", "lines", "accepted", "settled", "applied"],
            [
                (
                    r["returnId"],
                    r["state"],
                    r["originCode"],
                    r["centreCode"],
                    lines(r["lines"]),
                    lines(r["acceptedLines"]),
                    lines(r["settledLines"]),
                    when(r["appliedAt"]),
                )
                for r in rows
            ],
        )
    )


__all__ = ["platform", "read_applications"]
