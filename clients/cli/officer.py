"""`crossreturn officer`: a customs officer's commands at their own area's gateway — the
work queue, and each step of a return the area is responsible for: arrival and inspection at
the return centre, recognition or dispute and settlement at the origin. Every record is built
here as a canonical record (clients.records) from what the officer types and what the gateway
holds for the return, then posted as one step."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import click

from clients.cli.common import (
    AS_JSON,
    EXIT_REFUSED,
    EXIT_USAGE,
    HEX_ID,
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
    table,
    when,
)
from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.http import GatewayClient
from clients.records import (
    ArrivalRecord,
    DocType,
    InspectionLine,
    InspectionReport,
    RecognitionDecision,
    Record,
    RecordValidationError,
    TaxAssessment,
    canonical,
    parse_record,
    settlement_for,
)
from clients.records.inspection import ACCEPTED_REASON_CODE

# Which side of a return each state waits on, and the step it waits for.
NEXT_STEP = {
    "applied": ("centre", "arrive"),
    "arrived": ("centre", "inspect"),
    "inspected": ("origin", "recognize or dispute"),
    "disputed": ("origin", "recognize"),
    "recognized": ("origin", "settle"),
}
SIDES = {"return_centre": ("centre",), "origin": ("origin",), "both": ("centre", "origin")}

OFFICER = click.option(
    "--officer",
    envvar="CROSSRETURN_OFFICER",
    required=True,
    metavar="CODE",
    help="your officer code, recorded in the document [env CROSSRETURN_OFFICER]",
)


@click.group(short_help="Customs officers: work queue, arrival, inspection, recognition, …")
def officer() -> None:
    """A customs officer's commands at their own area's gateway (--gateway, --api-key with an
    officer's key, or CROSSRETURN_GATEWAY and CROSSRETURN_API_KEY): see the queue of returns
    waiting on the area, record arrival and inspection (return centre), recognise, dispute
    and settle (origin). Each step waits for the ledger unless --no-wait.

    \b
    Example:
      crossreturn officer queue
      crossreturn officer arrive 0x5d1c…e2 --officer 2900-00017
    """


# ---------------------------------------------------------------------- helpers


def _now() -> datetime:
    return datetime.now(UTC).astimezone()


def _build(make: Callable[[], Record]) -> dict[str, Any]:
    """The canonical form of the record `make` builds; invalid input exits 2 naming fields."""
    try:
        return canonical(make())
    except RecordValidationError as exc:
        shown = "; ".join(f"{e.path}: {e.message}" for e in exc.errors[:3])
        fail(f"the record would be invalid: {shown}", EXIT_USAGE)


def _on_ledger(view: dict[str, Any]) -> dict[str, Any]:
    ledger: dict[str, Any] | None = view.get("ledger")
    if not ledger:
        pending = ", ".join(str(op["id"]) for op in view.get("pending") or []) or "none"
        fail(
            f"return {view['returnId']} is not on this gateway's ledger index yet "
            f"(pending operations: {pending})",
            EXIT_REFUSED,
        )
    return ledger


def _document(view: dict[str, Any], doc_type: DocType) -> dict[str, Any]:
    """The whole record of `doc_type` this gateway holds for the return."""
    for item in view.get("documents") or []:
        if item["docType"] == doc_type.value:
            try:
                return DisclosedDocument.from_json(item["document"]).whole()
            except CommitmentError as exc:
                fail(f"the gateway's {doc_type.value} is not usable: {exc}", EXIT_REFUSED)
    fail(f"this gateway holds no {doc_type.value} for return {view['returnId']}", EXIT_REFUSED)


def _gnums(text: str | None, option: str) -> list[int]:
    if not text:
        return []
    try:
        found = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise click.BadParameter("line numbers like 1,2,3", param_hint=option) from None
    if len(set(found)) != len(found):
        raise click.BadParameter("a line is named twice", param_hint=option)
    return found


def _step(
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


def _by(state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda view: reached(view, state)


# ---------------------------------------------------------------------- queue


def _has_work(row: dict[str, Any]) -> bool:
    if row["state"] != "recognized":
        return True
    return bool(set(row["acceptedLines"]) - set(row["settledLines"]))


@officer.command(short_help="Returns waiting on your area, grouped by state.")
@click.option(
    "--state",
    type=click.Choice(tuple(NEXT_STEP)),
    help="only this state (default: every state with work for your area)",
)
@gateway_options
@AS_JSON
@handles_errors
def queue(state: str | None, gateway: str, api_key: str, as_json: bool) -> None:
    """List the returns waiting on your customs area: at a return centre those applied
    (to arrive) and arrived (to inspect); at an origin those inspected or disputed (to
    recognise) and recognised with accepted lines left to settle.

    \b
    Example:
      crossreturn officer queue --gateway http://127.0.0.1:8200
      crossreturn officer queue --state inspected --json
    """
    client = connect(gateway, api_key)
    area = client.whoami()["gateway"]
    sides = SIDES.get(area["role"], ("centre", "origin"))
    states = [state] if state else [s for s, (side, _) in NEXT_STEP.items() if side in sides]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for s in states:
        side = NEXT_STEP[s][0]
        found = client.iter_returns(state=s, area=area["customsCode"], role=side)
        grouped[s] = [r for r in found if state or _has_work(r)]
    if as_json:
        emit_json(grouped)
        return
    if not any(grouped.values()):
        show(f"nothing waits on area {area['customsCode']} ({', '.join(states)})")
        return
    for s, rows in grouped.items():
        if rows:
            show(_queue_table(s, rows))


def _queue_table(state: str, rows: Iterable[dict[str, Any]]) -> Any:
    listed = list(rows)
    return table(
        f"{state}: {len(listed)} to {NEXT_STEP[state][1]}",
        ["return", "origin", "centre", "lines", "accepted", "settled", "applied", "late"],
        [
            (
                r["returnId"],
                r["originCode"],
                r["centreCode"],
                lines(r["lines"]),
                lines(r["acceptedLines"]),
                lines(r["settledLines"]),
                when(r["appliedAt"]),
                "yes" if r["late"] else "",
            )
            for r in listed
        ],
    )


# ---------------------------------------------------------------------- return centre


def _time(value: str | None, option: str) -> datetime:
    if value is None:
        return _now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "an ISO 8601 time like 2026-11-20T10:00:00+08:00", param_hint=option
        ) from None
    return parsed if parsed.tzinfo else parsed.astimezone()


@officer.command(short_help="Record a parcel's arrival at the return centre.")
@click.argument("return_id", type=HEX_ID)
@click.option("--at", "at", metavar="ISO", help="when it arrived (default: now)")
@click.option(
    "--packages",
    type=click.IntRange(1, 999),
    default=1,
    show_default=True,
    help="packages received",
)
@OFFICER
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def arrive(
    return_id: str,
    at: str | None,
    packages: int,
    officer: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Record that the returned parcel of RETURN_ID arrived at the return centre's supervised
    site; its waybill number comes from the application the gateway holds.

    \b
    Example:
      crossreturn officer arrive 0x5d1c…e2 --officer 2900-00017 --packages 1
    """
    arrived = _time(at, "--at")
    client = connect(gateway, api_key)
    view = client.get_return(return_id)
    ledger = _on_ledger(view)
    application = _document(view, DocType.RETURN_APPLICATION)
    record = _build(
        lambda: ArrivalRecord(
            return_id=view["returnId"],
            centre_code=ledger["centreCode"],
            arrived_time=arrived,
            logistics_no=application["logisticsNo"],
            package_count=packages,
            officer=officer,
        )
    )
    _step(client, view["returnId"], "arrival", record, wait, timeout, _by("arrived"), as_json)


def _reason_codes(given: tuple[str, ...], rejected: list[int]) -> dict[int, str]:
    """Reason code per rejected line from `CODE` (every rejected line) or `GNUM=CODE`."""
    codes: dict[int, str] = {}
    default: str | None = None
    for item in given:
        line, sep, value = item.partition("=")
        if not sep:
            default = item
            continue
        try:
            codes[int(line)] = value
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: CODE or GNUM=CODE", param_hint="--reason-code"
            ) from None
    unknown = sorted(set(codes) - set(rejected))
    if unknown:
        raise click.BadParameter(f"lines {unknown} are not rejected", param_hint="--reason-code")
    for gnum in rejected:
        code: str | None = codes.get(gnum, default)
        if code is None:
            raise click.BadParameter(
                f"rejected line {gnum} needs a reason code (CODE or {gnum}=CODE)",
                param_hint="--reason-code",
            )
        if code == ACCEPTED_REASON_CODE:
            raise click.BadParameter(
                f"{ACCEPTED_REASON_CODE} means accepted", param_hint="--reason-code"
            )
        codes[gnum] = code
    return codes


def _evidence(given: tuple[str, ...]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for item in given:
        gnum, sep, digest = item.partition("=")
        if not sep or not gnum.isdigit():
            raise click.BadParameter(f"{item!r}: GNUM=0xDIGEST", param_hint="--evidence")
        found.setdefault(int(gnum), []).append(digest.lower())
    return found


@officer.command(short_help="Record the inspection result of every applied line.")
@click.argument("return_id", type=HEX_ID)
@click.option("--accept", metavar="GNUMS", help="accepted lines, e.g. 1,2")
@click.option("--reject", metavar="GNUMS", help="rejected lines, e.g. 3")
@click.option(
    "--reason-code",
    "reason_codes",
    multiple=True,
    metavar="[GNUM=]CODE",
    help="reason code of rejected lines: CODE for all, GNUM=CODE for one (repeatable)",
)
@click.option(
    "--evidence",
    multiple=True,
    metavar="GNUM=0xDIGEST",
    help="digest of a photo or file kept as evidence for a line (repeatable)",
)
@click.option("--remark", help="a remark for the report")
@OFFICER
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def inspect(
    return_id: str,
    accept: str | None,
    reject: str | None,
    reason_codes: tuple[str, ...],
    evidence: tuple[str, ...],
    remark: str | None,
    officer: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Record the inspection of RETURN_ID: every applied line is either accepted (--accept)
    or rejected (--reject, with a --reason-code).

    \b
    Example:
      crossreturn officer inspect 0x5d1c…e2 --accept 1,2 --reject 3 \\
          --reason-code 11 --remark "seal broken" --officer 2900-00017
    """
    accepted, rejected = _gnums(accept, "--accept"), _gnums(reject, "--reject")
    both = sorted(set(accepted) & set(rejected))
    if both:
        raise click.BadParameter(f"lines {both} are both accepted and rejected")
    codes = _reason_codes(reason_codes, rejected)
    photos = _evidence(evidence)
    client = connect(gateway, api_key)
    view = client.get_return(return_id)
    ledger = _on_ledger(view)
    applied = sorted(ledger["lines"])
    if sorted(accepted + rejected) != applied:
        fail(
            f"the return applied for lines {lines(applied)}: accept or reject each of them "
            f"(got accepted {lines(accepted)}, rejected {lines(rejected)})",
            EXIT_USAGE,
        )
    stray = sorted(set(photos) - set(applied))
    if stray:
        fail(f"--evidence names lines {lines(stray)} the return did not apply for", EXIT_USAGE)
    record = _build(
        lambda: InspectionReport(
            return_id=view["returnId"],
            centre_code=ledger["centreCode"],
            inspected_time=_now(),
            officer=officer,
            lines=[
                InspectionLine(
                    gnum=gnum,
                    result="rejected" if gnum in codes else "accepted",
                    reason_code=codes.get(gnum, ACCEPTED_REASON_CODE),
                    evidence=photos.get(gnum, []),
                )
                for gnum in applied
            ],
            remark=remark,
        )
    )
    _step(client, view["returnId"], "inspection", record, wait, timeout, _by("inspected"), as_json)


# ---------------------------------------------------------------------- origin


def _decide(
    decision: Literal["recognized", "disputed"],
    return_id: str,
    reason: str,
    officer: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    client = connect(gateway, api_key)
    view = client.get_return(return_id)
    ledger = _on_ledger(view)
    record = _build(
        lambda: RecognitionDecision(
            return_id=view["returnId"],
            origin_code=ledger["originCode"],
            decided_time=_now(),
            decision=decision,
            mode="officer",
            officer=officer,
            reason=reason,
        )
    )
    action = "recognition" if decision == "recognized" else "dispute"
    _step(client, view["returnId"], action, record, wait, timeout, _by(decision), as_json)


@officer.command(short_help="Recognise the return centre's inspection result.")
@click.argument("return_id", type=HEX_ID)
@click.option("--reason", default="", help="a note for the decision (optional)")
@OFFICER
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def recognize(
    return_id: str,
    reason: str,
    officer: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """At the origin: recognise the return centre's inspection result of RETURN_ID (an
    inspected or disputed return), so its accepted lines can be settled.

    \b
    Example:
      crossreturn officer recognize 0x5d1c…e2 --officer 3100-00042
    """
    _decide("recognized", return_id, reason, officer, gateway, api_key, wait, timeout, as_json)


@officer.command(short_help="Dispute the return centre's inspection result.")
@click.argument("return_id", type=HEX_ID)
@click.option("--reason", required=True, help="why (committed on the ledger, kept off it)")
@OFFICER
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def dispute(
    return_id: str,
    reason: str,
    officer: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """At the origin: dispute the inspection result of RETURN_ID; the reason goes into the
    decision record, only its digest onto the ledger.

    \b
    Example:
      crossreturn officer dispute 0x5d1c…e2 --reason "goods do not match" --officer 3100-00042
    """
    _decide("disputed", return_id, reason, officer, gateway, api_key, wait, timeout, as_json)


@officer.command(short_help="Settle the tax of accepted lines (not levied / refunded).")
@click.argument("return_id", type=HEX_ID)
@click.option(
    "--kind",
    type=click.Choice(["not_levied", "refunded"]),
    required=True,
    help="not_levied when the tax was never paid, refunded when it was",
)
@click.option("--lines", "only", metavar="GNUMS", help="settle only these accepted lines")
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def settle(
    return_id: str,
    kind: Literal["not_levied", "refunded"],
    only: str | None,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """At the origin: settle the tax of RETURN_ID's accepted lines not settled yet (or of
    --lines): their duty, VAT and consumption tax from the case's tax assessment, not levied
    or refunded, and the buyer's yearly quota given back. The gateway adds the proof of
    payment to a refund itself.

    \b
    Example:
      crossreturn officer settle 0x5d1c…e2 --kind not_levied
    """
    chosen = _gnums(only, "--lines")
    client = connect(gateway, api_key)
    view = client.get_return(return_id)
    ledger = _on_ledger(view)
    left = _pieces_left(ledger)
    open_lines = sorted(left)
    gnums = chosen or open_lines
    if not gnums:
        fail(f"return {return_id} has no accepted piece left to settle", EXIT_USAGE)
    if set(gnums) - set(open_lines):
        fail(
            f"lines {lines(sorted(set(gnums) - set(open_lines)))} are not accepted lines left "
            f"to settle ({lines(open_lines)})",
            EXIT_USAGE,
        )
    case = client.get_case(ledger["caseId"])
    tax = case.get("taxAssessment")
    if not tax:
        fail(f"this gateway holds no tax assessment of case {ledger['caseId']}", EXIT_REFUSED)
    try:
        whole = DisclosedDocument.from_json(tax["document"]).whole()
    except CommitmentError as exc:
        fail(f"the gateway's tax assessment is not usable: {exc}", EXIT_REFUSED)
    assessment = parse_record(DocType.TAX_ASSESSMENT, whole)
    assert isinstance(assessment, TaxAssessment)
    pieces = {g: left[g] for g in gnums}
    before = _settled_in_case(case)
    record = _build(
        lambda: settlement_for(assessment, view["returnId"], pieces, kind, _now(), before)
    )
    settled = set(gnums)
    _step(
        client,
        view["returnId"],
        "settlement",
        record,
        wait,
        timeout,
        lambda v: settled <= set((v.get("ledger") or {}).get("settledLines") or []),
        as_json,
    )


def _pieces_left(ledger: dict[str, Any]) -> dict[int, int]:
    """{gnum: accepted pieces not yet settled} of a return's ledger view."""
    counts = ledger.get("pieces") or {}
    accepted = {int(g): int(n) for g, n in (counts.get("accepted") or {}).items()}
    settled = {int(g): int(n) for g, n in (counts.get("settled") or {}).items()}
    return {g: n - settled.get(g, 0) for g, n in accepted.items() if n > settled.get(g, 0)}


def _settled_in_case(case: dict[str, Any]) -> dict[int, int]:
    """{gnum: pieces} settled over every return of a case view."""
    total: dict[int, int] = {}
    for r in case.get("returns") or []:
        for g, n in ((r.get("pieces") or {}).get("settled") or {}).items():
            total[int(g)] = total.get(int(g), 0) + int(n)
    return total


__all__ = ["officer"]
