"""The origin's officer commands: recognise or dispute the return centre's inspection result,
and settle the tax of accepted lines. `crossreturn officer` mounts them."""

from __future__ import annotations

from typing import Any, Literal

import click

from clients.cli.common import (
    EXIT_REFUSED,
    EXIT_USAGE,
    HEX_ID,
    fail,
    lines,
)
from clients.cli.officer_steps import (
    StepOptions,
    build,
    by,
    now,
    officer_step_command,
    on_ledger,
    parse_gnums,
    step_command,
)
from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.records import (
    DocType,
    RecognitionDecision,
    TaxAssessment,
    parse_record,
    settlement_for,
)

# ---------------------------------------------------------------------- origin


def _decide(
    decision: Literal["recognized", "disputed"],
    return_id: str,
    reason: str,
    opts: StepOptions,
) -> None:
    client = opts.client()
    view = client.get_return(return_id)
    ledger = on_ledger(view)
    record = build(
        lambda: RecognitionDecision(
            return_id=view["returnId"],
            origin_code=ledger["originCode"],
            decided_time=now(),
            decision=decision,
            mode="officer",
            officer=opts.officer,
            reason=reason,
        )
    )
    action = "recognition" if decision == "recognized" else "dispute"
    opts.post(client, view["returnId"], action, record, by(decision))


@click.command(short_help="Recognise the return centre's inspection result.")
@click.argument("return_id", type=HEX_ID)
@click.option("--reason", default="", help="a note for the decision (optional)")
@officer_step_command
def recognize(
    return_id: str,
    reason: str,
    opts: StepOptions,
) -> None:
    """At the origin: recognise the return centre's inspection result of RETURN_ID (an
    inspected or disputed return), so its accepted lines can be settled.

    \b
    Example:
      crossreturn officer recognize 0x5d1c…e2 --officer 3100-00042
    """
    _decide("recognized", return_id, reason, opts)


@click.command(short_help="Dispute the return centre's inspection result.")
@click.argument("return_id", type=HEX_ID)
@click.option("--reason", required=True, help="why (committed on the ledger, kept off it)")
@officer_step_command
def dispute(
    return_id: str,
    reason: str,
    opts: StepOptions,
) -> None:
    """At the origin: dispute the inspection result of RETURN_ID; the reason goes into the
    decision record, only its digest onto the ledger.

    \b
    Example:
      crossreturn officer dispute 0x5d1c…e2 --reason "goods do not match" --officer 3100-00042
    """
    _decide("disputed", return_id, reason, opts)


@click.command(short_help="Settle the tax of accepted lines (not levied / refunded).")
@click.argument("return_id", type=HEX_ID)
@click.option(
    "--kind",
    type=click.Choice(["not_levied", "refunded"]),
    required=True,
    help="not_levied when the tax was never paid, refunded when it was",
)
@click.option("--lines", "only", metavar="GNUMS", help="settle only these accepted lines")
@step_command
def settle(
    return_id: str,
    kind: Literal["not_levied", "refunded"],
    only: str | None,
    opts: StepOptions,
) -> None:
    """At the origin: settle the tax of RETURN_ID's accepted lines not settled yet (or of
    --lines): their duty, VAT and consumption tax from the case's tax assessment, not levied
    or refunded, and the buyer's yearly quota given back. The gateway adds the proof of
    payment to a refund itself.

    \b
    Example:
      crossreturn officer settle 0x5d1c…e2 --kind not_levied
    """
    chosen = parse_gnums(only, "--lines")
    client = opts.client()
    view = client.get_return(return_id)
    ledger = on_ledger(view)
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
    record = build(
        lambda: settlement_for(assessment, view["returnId"], pieces, kind, now(), before)
    )
    settled = set(gnums)
    opts.post(
        client,
        view["returnId"],
        "settlement",
        record,
        lambda v: settled <= set((v.get("ledger") or {}).get("settledLines") or []),
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


__all__ = ["dispute", "recognize", "settle"]
