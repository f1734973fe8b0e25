"""`crossreturn officer`: a customs officer's commands at their own area's gateway — the
work queue, and each step of a return the area is responsible for: arrival and inspection at
the return centre, recognition or dispute and settlement at the origin. Every record is built
here as a canonical record (clients.records) from what the officer types and what the gateway
holds for the return, then posted as one step."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import click

from clients.cli.common import (
    AS_JSON,
    EXIT_USAGE,
    HEX_ID,
    connect,
    emit_json,
    fail,
    gateway_options,
    handles_errors,
    lines,
    show,
    table,
    when,
)
from clients.cli.officer_origin import dispute, recognize, settle
from clients.cli.officer_steps import (
    StepOptions,
    build,
    by,
    document,
    now,
    officer_step_command,
    on_ledger,
    parse_gnums,
)
from clients.records import (
    ArrivalRecord,
    DocType,
    InspectionLine,
    InspectionReport,
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
        return now()
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
@officer_step_command
def arrive(
    return_id: str,
    at: str | None,
    packages: int,
    opts: StepOptions,
) -> None:
    """Record that the returned parcel of RETURN_ID arrived at the return centre's supervised
    site; its waybill number comes from the application the gateway holds.

    \b
    Example:
      crossreturn officer arrive 0x5d1c…e2 --officer 2900-00017 --packages 1
    """
    arrived = _time(at, "--at")
    client = opts.client()
    view = client.get_return(return_id)
    ledger = on_ledger(view)
    application = document(view, DocType.RETURN_APPLICATION)
    record = build(
        lambda: ArrivalRecord(
            return_id=view["returnId"],
            centre_code=ledger["centreCode"],
            arrived_time=arrived,
            logistics_no=application["logisticsNo"],
            package_count=packages,
            officer=opts.officer,
        )
    )
    opts.post(client, view["returnId"], "arrival", record, by("arrived"))


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
@officer_step_command
def inspect(
    return_id: str,
    accept: str | None,
    reject: str | None,
    reason_codes: tuple[str, ...],
    evidence: tuple[str, ...],
    remark: str | None,
    opts: StepOptions,
) -> None:
    """Record the inspection of RETURN_ID: every applied line is either accepted (--accept)
    or rejected (--reject, with a --reason-code).

    \b
    Example:
      crossreturn officer inspect 0x5d1c…e2 --accept 1,2 --reject 3 \\
          --reason-code 11 --remark "seal broken" --officer 2900-00017
    """
    accepted, rejected = parse_gnums(accept, "--accept"), parse_gnums(reject, "--reject")
    both = sorted(set(accepted) & set(rejected))
    if both:
        raise click.BadParameter(f"lines {both} are both accepted and rejected")
    codes = _reason_codes(reason_codes, rejected)
    photos = _evidence(evidence)
    client = opts.client()
    view = client.get_return(return_id)
    ledger = on_ledger(view)
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
    record = build(
        lambda: InspectionReport(
            return_id=view["returnId"],
            centre_code=ledger["centreCode"],
            inspected_time=now(),
            officer=opts.officer,
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
    opts.post(client, view["returnId"], "inspection", record, by("inspected"))


for _command in (recognize, dispute, settle):
    officer.add_command(_command)

__all__ = ["officer"]
