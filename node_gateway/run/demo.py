"""The demo story: tax records released in Ningbo and Zhengzhou, returns sent to the Hangzhou
return centre and carried to every state of their life. `crossreturn demo` runs it to the end;
`crossreturn up --demo` loads it once into a served consortium.

It goes through the same services the API routes call (as the area's system and officers, and
the platform signing its own applications), so the data is exactly what the API would produce.
Source documents are written under DIR/messages/ as canonical JSON.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clients.applications import application_body
from clients.records import canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
    sample_settlement_record,
    sample_tax_assessment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import DeclarationMismatch, PiecesExceedDeclared
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_records
from node_gateway.services.auth import Principal
from node_gateway.store import Vault, index, records

STAGES = ("applied", "arrived", "inspected", "disputed", "recognized", "settled")
ORIGINS = ("3100", "4600")


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def run_story(
    c: Consortium,
    records_per_origin: int = 520,
    returns_per_stage: int = 9,
    auto_returns: int = 12,
    messages: Path | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    check: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Load the demo data into a (fresh) consortium; returns a summary. `check` is called
    between steps (every record, application and return step): it may raise to stop the story
    there, at a safe point (`crossreturn up` stops on Ctrl-C this way)."""
    rng = random.Random(2900)
    centre = c.centre
    now = centre.ledger.now()
    release = _when(now - 2 * 86400)
    system = {
        code: Principal(gw.settings.area_label, "system", "demo") for code, gw in c.gateways.items()
    }
    officer = {
        code: Principal(gw.settings.area_label, "officer", "demo")
        for code, gw in c.gateways.items()
    }
    platform = Principal(PLATFORM, "platform", "demo")
    if messages is not None:
        messages.mkdir(parents=True, exist_ok=True)

    def keep(name: str, doc: dict[str, Any]) -> None:
        if messages is not None:
            (messages / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")

    assessments: dict[str, list[Any]] = {}
    for code in ORIGINS:
        gw = c.gateways[code]
        items = []
        for serial in range(1, records_per_origin + 1):
            check()
            a = sample_tax_assessment(serial, code, lines=rng.randint(1, 4))
            a = a.model_copy(update={"release_time": release + timedelta(seconds=serial)})
            items.append(a)
            keep(f"tax_assessment-{a.invt_no}.json", canonical(a))
        conn = gw.connections.get()
        for start in range(0, len(items), 500):
            check()
            chunk = items[start : start + 500]
            tax_records.ingest(
                gw.context, conn, [{"platform": PLATFORM, "record": canonical(a)} for a in chunk]
            )
        assessments[code] = items
        progress(f"{code}: {len(items)} tax records accepted")
    check()
    c.drain()
    progress("tax record batches anchored")

    # Zhengzhou (officer-only recognition) carries returns to every state by hand; Ningbo
    # (automatic recognition) recognises and settles by itself. One application asks back
    # more pieces than were declared: Hangzhou refuses it before it reaches the ledger, and
    # the platform applies again for part of the declared pieces (settled pro rata).
    total = returns_per_stage * len(STAGES)
    cases: list[tuple[str, Any, str]] = []
    auto: list[tuple[str, Any, str]] = []

    def apply(code: str, a: Any, gnums: list[int], qty: dict[int, int] | None = None) -> str:
        check()
        app = sample_return_application(a, gnums=gnums, qty=qty)
        app = app.model_copy(update={"applied_time": _when(now)})
        gw = c.gateways[code]
        case_id = tax_records.case_id_of(gw.context, a.invt_no)
        body = application_body(
            tax_records.header_of(gw.context, gw.connections.get(), case_id),
            app,
            centre.context.member_hex,
            c.client_key(PLATFORM),
            deadline=now + 7 * 86400,
        )
        keep(f"return_application-{a.invt_no}.json", canonical(app))
        done = returns.apply(
            centre.context,
            centre.connections.get(),
            platform,
            ReturnApplicationIn.model_validate(body).to_input(),
        )
        return str(done["returnId"])

    for i in range(total):
        a = assessments["4600"][i]
        gnums = [line.gnum for line in a.lines]
        cases.append((apply("4600", a, gnums[: max(1, len(gnums) - i % 2)]), a, "4600"))
    for i in range(auto_returns):
        a = assessments["3100"][i]
        gnums = [line.gnum for line in a.lines]
        part = None
        if i == auto_returns - 1:
            try:
                apply("3100", a, gnums, {gnums[0]: a.lines[0].qty + 3})
            except (DeclarationMismatch, PiecesExceedDeclared) as refused:
                progress(f"2900 refused an application of {a.invt_no}: {refused.detail}")
            # then it returns only part of its first line's pieces: settled pro rata
            part = {gnums[0]: max(1, a.lines[0].qty - 1)}
        auto.append((apply("3100", a, gnums, part), a, "3100"))
    check()
    c.drain()
    progress(f"{total + auto_returns} return applications on the ledger")

    def step(stage: str, fn: Callable[[str, Any, str], None]) -> None:
        first = STAGES.index(stage) * returns_per_stage
        for return_id, a, code in cases[first:]:
            check()
            fn(return_id, a, code)
        check()
        c.drain()
        progress(f"{len(cases) - first} returns {stage}")

    cconn = centre.connections.get()
    applied = {rid: sorted(int(g) for g in _lines(rid, c)) for rid, _, _ in cases + auto}

    def arrive(rid: str, a: Any, code: str) -> None:
        app = sample_return_application(a)
        rec = sample_arrival_record(app, rid).model_copy(update={"arrived_time": _when(now)})
        returns.arrival(centre.context, cconn, officer["2900"], rid, canonical(rec))

    def inspect(rid: str, a: Any, code: str) -> None:
        lines = applied[rid]
        accepted = lines if len(lines) == 1 else lines[:-1]
        rec = sample_inspection_report(rid, lines, accepted=accepted, inspected_time=_when(now))
        returns.inspection(centre.context, cconn, officer["2900"], rid, canonical(rec))

    def dispute(rid: str, a: Any, code: str) -> None:
        rec = sample_recognition_decision(rid, code, "disputed", "officer", _when(now))
        gw = c.gateways[code]
        returns.decide(
            gw.context, gw.connections.get(), officer[code], rid, canonical(rec), "disputed"
        )

    def recognize(rid: str, a: Any, code: str) -> None:
        rec = sample_recognition_decision(rid, code, "recognized", "officer", _when(now))
        gw = c.gateways[code]
        returns.decide(
            gw.context, gw.connections.get(), officer[code], rid, canonical(rec), "recognized"
        )

    def settle(rid: str, a: Any, code: str) -> None:
        lines = applied[rid]
        accepted = lines if len(lines) == 1 else lines[:-1]
        rec = sample_settlement_record(a, rid, accepted, settled_time=_when(now))
        gw = c.gateways[code]
        returns.settle(gw.context, gw.connections.get(), system[code], rid, canonical(rec))

    step("arrived", arrive)
    step("inspected", inspect)
    step("disputed", dispute)
    step("recognized", recognize)
    step("settled", settle)

    for rid, a, code in auto:
        check()
        arrive(rid, a, code)
    check()
    c.drain()
    for rid, a, code in auto:
        check()
        inspect(rid, a, code)
    check()
    c.drain()  # Ningbo's engine fetches the reports from Hangzhou and decides
    check()
    c.drain()
    progress(f"{len(auto)} Ningbo returns decided automatically")
    return summary(c)


def _lines(return_id: str, c: Consortium) -> list[int]:
    r = c.centre.ledger.get_return(bytes.fromhex(return_id[2:]))
    assert r is not None
    return [bit + 1 for bit in range(r.line_mask.bit_length()) if r.line_mask >> bit & 1]


def _automatic(c: Consortium) -> dict[str, int]:
    """Decisions Ningbo's engine took (from its vault: mode "automatic")."""

    gw = c.gateways["3100"]
    conn = gw.connections.get()
    vault = Vault(conn, gw.context.keyring)
    found: Counter[str] = Counter()
    for record_id in records.documents_of_type(conn, "recognition"):
        record = vault.get(record_id)["record"]
        if record["mode"] == "automatic":
            found[record["decision"]] += 1
    return dict(sorted(found.items()))


def summary(c: Consortium) -> dict[str, Any]:
    """Counts per area and state, from each gateway's index and store."""
    conn = c.centre.connections.get()
    states = index.state_counts(conn)
    tax_records = {
        code: records.count_tax_records(gw.connections.get()) for code, gw in c.gateways.items()
    }
    automatic = _automatic(c)
    return {
        "head": c.chain.head(),
        "automaticRecognition": automatic,
        "taxRecords": tax_records,
        "returns": dict(sorted(states.items())),
        "returnsTotal": sum(states.values()),
    }
