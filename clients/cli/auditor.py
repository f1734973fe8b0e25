"""`crossreturn auditor`: trace a case, report a period, verify a disclosed document — each
checked by the auditor's own verifier against the ledger (clients.auditor)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.progress import Progress
from rich.table import Table

from clients.auditor import Auditor, load_document
from clients.cli.common import (
    AS_JSON,
    EXIT_PROBLEM,
    connect,
    console,
    emit_json,
    fail,
    gateway_options,
    handles_errors,
    short,
    show,
    table,
)
from clients.errors import InputFileError

P = ParamSpec("P")
R = TypeVar("R")


@click.group(short_help="Trace cases, report periods, verify documents (auditors).")
def auditor() -> None:
    """Audit against the ledger itself: every step and every amount is checked by your own
    verifier, not taken on a gateway's word.

    The ledger is read at --rpc (your ledger node); on an embedded ledger, by default, through
    the read-only JSON-RPC front of --gateway. Documents come from each area's gateway with
    your API key there: --gateway/--api-key for one, --area-key CODE=KEY for the others.
    """


RPC = click.option(
    "--rpc",
    envvar="CROSSRETURN_RPC",
    metavar="URL",
    help="your ledger node's JSON-RPC URL [env CROSSRETURN_RPC]; default: the gateway's "
    "read-only front of an embedded ledger",
)
AREA_KEYS = click.option(
    "--area-key",
    "area_keys",
    multiple=True,
    metavar="CODE=KEY",
    envvar="CROSSRETURN_AREA_KEYS",
    help="your API key at another customs area's gateway, e.g. 3100=… (repeatable) "
    "[env CROSSRETURN_AREA_KEYS, space-separated]",
)
MANIFEST = click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="a deployment manifest (chainId, addresses) to pin the contracts instead of asking "
    "the gateway",
)


def ledger_options(fn: Callable[P, R]) -> Callable[P, R]:
    """--gateway/--api-key, --rpc, --area-key, --manifest."""
    return gateway_options(RPC(AREA_KEYS(MANIFEST(fn))))


def _area_keys(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        for item in pair.split():
            code, sep, key = item.partition("=")
            if not sep or not (code.isdigit() and len(code) == 4) or not key:
                fail(f"--area-key wants CODE=KEY with a 4-digit customs code, got {item!r}")
            out[code] = key
    return out


@contextmanager
def _session(
    gateway: str, api_key: str, rpc: str | None, area_keys: tuple[str, ...], manifest: Path | None
) -> Iterator[Auditor]:
    keys = _area_keys(area_keys)
    with connect(gateway, api_key) as home:
        me = home.whoami()
        if me.get("role") != "auditor":
            fail(f"the key at {gateway} is a {me.get('role')} key, not an auditor's", 4)
        info = home.get("/v1/ledger")
        code = str((me.get("gateway") or {}).get("customsCode") or "")
        if code:
            keys.setdefault(code, api_key)
        addresses = info["addresses"]
        chain_id = int(info["chainId"])
        if manifest is not None:
            try:
                pinned = json.loads(manifest.read_text())
                addresses, chain_id = pinned["addresses"], int(pinned["chainId"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise InputFileError(str(manifest), f"not a deployment manifest: {exc}") from exc
        rpc_key = None
        if rpc is None:
            if not info.get("rpc"):
                fail("this gateway's ledger is a node: give its JSON-RPC URL with --rpc")
            rpc, rpc_key = gateway.rstrip("/") + str(info["rpc"]), api_key
        session = Auditor.over_rpc(rpc, addresses, keys, rpc_key)
        on_chain = session.chain_id()
        if on_chain != chain_id:
            fail(f"the ledger at {rpc} is chain {on_chain}, the contracts are on {chain_id}", 3)
        try:
            yield session
        finally:
            session.close()


# ---------------------------------------------------------------------- trace

_MARK = {"verified": "✔ verified", "failed": "✘ FAILED", "not_obtained": "· not obtained"}


@auditor.command(short_help="A case's timeline, every step verified against the ledger.")
@click.argument("subject", metavar="CASE_OR_RETURN")
@ledger_options
@AS_JSON
@handles_errors
def trace(
    subject: str,
    gateway: str,
    api_key: str,
    rpc: str | None,
    area_keys: tuple[str, ...],
    manifest: Path | None,
    as_json: bool,
) -> None:
    """Every ledger step of the case (or of the return's case): who, when, tx hash, block,
    digest — and whether you obtained that step's document and it verified. Exit 1 when a
    document fails verification.

    \b
    Example:
      crossreturn auditor trace 0x5f3a… --gateway http://127.0.0.1:8200 --api-key … \\
        --area-key 3100=… --area-key 4600=…
    """
    if not (subject.startswith("0x") and len(subject) == 66):
        fail(f"{subject!r} is not a case or return id (0x and 64 hex digits)")
    with _session(gateway, api_key, rpc, area_keys, manifest) as session:
        result = session.trace(subject)
    if as_json:
        emit_json(result)
    else:
        rows = [
            (
                s["step"],
                s["who"],
                s["time"],
                s["block"],
                short(s["txHash"]),
                short(s["digest"]),
                _MARK.get((s["verification"] or {}).get("status", ""), "-"),
            )
            for s in result["steps"]
        ]
        cols = ("step", "who", "when (UTC)", "block", "tx", "digest", "document")
        show(table(f"Case {result['caseId']} (origin {result['originCode']})", cols, rows))
        summary = result["summary"]
        show(
            f"{summary['verified']} verified, {summary['failed']} failed, "
            f"{summary['not_obtained']} not obtained — ledger block {result['ledgerBlock']}"
        )
        for problem in result["problems"]:
            show(f"[yellow]note:[/] {problem}")
    if result["summary"]["failed"]:
        raise SystemExit(EXIT_PROBLEM)


# ---------------------------------------------------------------------- report


def _timestamp(text: str, name: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--{name} wants a date (2026-11-01), a time (2026-11-01T08:00) or unix seconds")
        raise
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    fields = [
        "originCode",
        "period",
        "returns",
        "items",
        "valueNotLevied",
        "valueRefunded",
        "taxNotLevied",
        "taxRefunded",
        "valueKnown",
        "cases",
    ]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in report["totals"]:
        writer.writerow({**row, "cases": " ".join(row["cases"])})
    return buf.getvalue()


_TOTAL_COLUMNS = {
    "origin": "originCode",
    "week": "period",
    "returns": "returns",
    "items": "items",
    "not levied": "valueNotLevied",
    "refunded": "valueRefunded",
    "tax n/l": "taxNotLevied",
    "tax ref.": "taxRefunded",
}


def _report_card_table(card: dict[str, Any]) -> Table:
    return table(
        "Report card",
        ("returns inspected", "pieces inspected", "pieces released", "value released (CNY)"),
        [
            (
                card["returnsInspected"],
                card["piecesInspected"],
                card["piecesReleased"],
                card["valueReleased"] + ("" if card["valueKnown"] else " (partial)"),
            )
        ],
    )


def _totals_table(totals: list[dict[str, Any]]) -> Table:
    return table(
        "Totals per origin area and week of application",
        (*_TOTAL_COLUMNS, "cases"),
        [(*(t[key] for key in _TOTAL_COLUMNS.values()), len(t["cases"])) for t in totals],
    )


def _show_report(report: dict[str, Any]) -> None:
    show(_report_card_table(report["reportCard"]))
    show(_totals_table(report["totals"]))
    if report["anomalies"]:
        show(
            table(
                f"Anomalies ({len(report['anomalies'])})",
                ("kind", "origin", "return", "detail"),
                [
                    (a["kind"], a["originCode"], short(a["returnId"]), a["detail"])
                    for a in report["anomalies"]
                ],
            )
        )
    times = [t["days"] for t in report["settlementTimes"]]
    if times:
        show(
            f"application → settlement: {len(times)} returns, median "
            f"{sorted(times)[len(times) // 2]:.1f} d, max {max(times):.1f} d"
        )
    show(
        f"amounts verified for {report['valuesVerified']} cases; "
        f"{len(report['valuesUnverified'])} without verified amounts — ledger block "
        f"{report['ledgerBlock']}"
    )


@auditor.command(short_help="Totals, report card and anomalies of a period.")
@click.option("--from", "from_", required=True, metavar="DATE", help="start (inclusive)")
@click.option("--to", "to", required=True, metavar="DATE", help="end (exclusive)")
@click.option("--area", metavar="CODE", help="only returns of this origin customs area")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--recognition-days", type=click.IntRange(1, 365), default=7, show_default=True)
@ledger_options
@AS_JSON
@handles_errors
def report(
    from_: str,
    to: str,
    area: str | None,
    fmt: str,
    recognition_days: int,
    gateway: str,
    api_key: str,
    rpc: str | None,
    area_keys: tuple[str, ...],
    manifest: Path | None,
    as_json: bool,
) -> None:
    """Over the returns applied for in [--from, --to): per origin area and week the returns,
    items, value and tax not levied / refunded (each total lists its cases); the report card
    (pieces inspected and released, value); days from application to settlement; anomalies
    (not inspected within the arrival window, not recognised within --recognition-days,
    disputes, settlements without recognition). Amounts count only from tax assessments you
    verified yourself.

    \b
    Example:
      crossreturn auditor report --from 2026-11-01 --to 2026-12-01 --format csv \\
        --gateway http://127.0.0.1:8201 --api-key … --area-key 4600=…
    """
    if area is not None and not (area.isdigit() and len(area) == 4):
        fail(f"--area wants a 4-digit customs code, got {area!r}")
    start, end = _timestamp(from_, "from"), _timestamp(to, "to")
    if end <= start:
        fail("--to must be after --from")
    fmt = "json" if as_json else fmt
    with _session(gateway, api_key, rpc, area_keys, manifest) as session:
        if fmt == "table":
            with Progress(console=console(), transient=True) as bar:
                task = bar.add_task("verifying amounts", total=None)
                result = session.report(
                    start,
                    end,
                    area,
                    recognition_days,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        else:
            result = session.report(start, end, area, recognition_days)
    if fmt == "json":
        emit_json(result)
    elif fmt == "csv":
        click.echo(_csv(result), nl=False)
    else:
        _show_report(result)
        for problem in result["problems"]:
            show(f"[yellow]note:[/] {problem}")


# ---------------------------------------------------------------------- verify


@auditor.command(short_help="Check a disclosed document against the ledger.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@ledger_options
@AS_JSON
@handles_errors
def verify(
    file: Path,
    gateway: str,
    api_key: str,
    rpc: str | None,
    area_keys: tuple[str, ...],
    manifest: Path | None,
    as_json: bool,
) -> None:
    """Verify a disclosed document (JSON: the document, or an API answer holding it under
    `document`) with your own verifier: integrity, anchored, not revoked, issuer, ledger
    state — every check named. Exit 1 when any check fails.

    \b
    Example:
      crossreturn auditor verify settlement.json --gateway http://127.0.0.1:8201 --api-key …
    """
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(str(file), f"cannot read: {exc}") from exc
    except ValueError as exc:
        raise InputFileError(str(file), f"not JSON: {exc}") from exc
    document = load_document(data, str(file))
    with _session(gateway, api_key, rpc, area_keys, manifest) as session:
        result = session.verify(document)
    if as_json:
        emit_json(result.to_json())
    else:
        rows = [("✔" if c.passed else "✘", c.name, c.detail) for c in result.checks]
        title = f"{result.doc_type} 0x{document.digest.hex()}"
        show(table(title, ("", "check", "detail"), rows))
        show("verified" if result.ok else "[bold red]NOT verified[/]")
    if not result.ok:
        raise SystemExit(EXIT_PROBLEM)
