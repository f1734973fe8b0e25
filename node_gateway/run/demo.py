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
from typing import Any, Literal

from clients.applications import application_body
from clients.records import canonical
from clients.records.lines import lines_of
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
    story = _Story(c, returns_per_stage, messages, progress, check)
    story.ingest_tax_records(records_per_origin)
    story.apply_for_returns(auto_returns)
    story.carry_by_hand()
    story.carry_automatic()
    return summary(c)


# One action of the story on a return: (return id, its tax assessment, the origin area's code).
Action = Callable[[str, Any, str], None]


class _Story:
    """The story's state between its steps: the consortium, the clock, who acts, the cases."""

    def __init__(
        self,
        c: Consortium,
        returns_per_stage: int,
        messages: Path | None,
        progress: Callable[[str], None],
        check: Callable[[], None],
    ) -> None:
        self.c, self.centre = c, c.centre
        self.returns_per_stage = returns_per_stage
        self.messages, self.progress, self.check = messages, progress, check
        self.rng = random.Random(2900)
        self.now = self.centre.ledger.now()
        self.system = {
            code: Principal(gw.settings.area_label, "system", "demo")
            for code, gw in c.gateways.items()
        }
        self.officer = {
            code: Principal(gw.settings.area_label, "officer", "demo")
            for code, gw in c.gateways.items()
        }
        self.platform = Principal(PLATFORM, "platform", "demo")
        self.assessments: dict[str, list[Any]] = {}
        # Zhengzhou (officer-only recognition) carries returns to every state by hand; Ningbo
        # (automatic recognition) recognises and settles by itself.
        self.cases: list[tuple[str, Any, str]] = []
        self.auto: list[tuple[str, Any, str]] = []
        self.applied: dict[str, list[int]] = {}
        if messages is not None:
            messages.mkdir(parents=True, exist_ok=True)

    def keep(self, name: str, doc: dict[str, Any]) -> None:
        """Write a source document under DIR/messages/ (if the story keeps them)."""
        if self.messages is not None:
            text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
            (self.messages / name).write_text(text)

    def drain(self) -> None:
        """Let every area's pipeline catch up (a safe point to stop at, before and after)."""
        self.check()
        self.c.drain()

    def ingest_tax_records(self, per_origin: int) -> None:
        """Release `per_origin` tax records in Ningbo and in Zhengzhou, and anchor them."""
        release = _when(self.now - 2 * 86400)
        for code in ORIGINS:
            gw = self.c.gateways[code]
            items = []
            for serial in range(1, per_origin + 1):
                self.check()
                a = sample_tax_assessment(serial, code, lines=self.rng.randint(1, 4))
                a = a.model_copy(update={"release_time": release + timedelta(seconds=serial)})
                items.append(a)
                self.keep(f"tax_assessment-{a.invt_no}.json", canonical(a))
            conn = gw.connections.get()
            for start in range(0, len(items), 500):
                self.check()
                chunk = [
                    {"platform": PLATFORM, "record": canonical(a)}
                    for a in items[start : start + 500]
                ]
                tax_records.ingest(gw.context, conn, chunk)
            self.assessments[code] = items
            self.progress(f"{code}: {len(items)} tax records accepted")
        self.drain()
        self.progress("tax record batches anchored")

    def apply(self, code: str, a: Any, gnums: list[int], qty: dict[int, int] | None = None) -> str:
        """The platform applies at Hangzhou to return `gnums` of `a`; the new return's id."""
        self.check()
        app = sample_return_application(a, gnums=gnums, qty=qty)
        app = app.model_copy(update={"applied_time": _when(self.now)})
        gw = self.c.gateways[code]
        case_id = tax_records.case_id_of(gw.context, a.invt_no)
        body = application_body(
            tax_records.header_of(gw.context, gw.connections.get(), case_id),
            app,
            self.centre.context.member_hex,
            self.c.client_key(PLATFORM),
            deadline=self.now + 7 * 86400,
        )
        self.keep(f"return_application-{a.invt_no}.json", canonical(app))
        done = returns.apply(
            self.centre.context,
            self.centre.connections.get(),
            self.platform,
            ReturnApplicationIn.model_validate(body).to_input(),
        )
        return str(done["returnId"])

    def apply_for_returns(self, auto_returns: int) -> None:
        """Returns of Zhengzhou records (to be carried by hand) and of Ningbo records (carried
        automatically); one Ningbo application asks back more pieces than were declared:
        Hangzhou refuses it before it reaches the ledger, and the platform applies again for
        part of the declared pieces (settled pro rata)."""
        total = self.returns_per_stage * len(STAGES)
        for i in range(total):
            a = self.assessments["4600"][i]
            gnums = [line.gnum for line in a.lines]
            self.cases.append(
                (self.apply("4600", a, gnums[: max(1, len(gnums) - i % 2)]), a, "4600")
            )
        for i in range(auto_returns):
            a = self.assessments["3100"][i]
            gnums = [line.gnum for line in a.lines]
            part = None
            if i == auto_returns - 1:
                self.refused_application(a, gnums)
                part = {gnums[0]: max(1, a.lines[0].qty - 1)}
            self.auto.append((self.apply("3100", a, gnums, part), a, "3100"))
        self.drain()
        self.progress(f"{total + auto_returns} return applications on the ledger")
        every = self.cases + self.auto
        self.applied = {rid: sorted(int(g) for g in _lines(rid, self.c)) for rid, _, _ in every}

    def refused_application(self, a: Any, gnums: list[int]) -> None:
        """An application for more pieces of its first line than were declared: refused."""
        try:
            self.apply("3100", a, gnums, {gnums[0]: a.lines[0].qty + 3})
        except (DeclarationMismatch, PiecesExceedDeclared) as refused:
            self.progress(f"2900 refused an application of {a.invt_no}: {refused.detail}")

    def carry_by_hand(self) -> None:
        """Carry Zhengzhou's returns through every state, leaving `returns_per_stage` at each."""
        self.step("arrived", self.arrive)
        self.step("inspected", self.inspect)
        self.step("disputed", lambda rid, a, code: self.decide(rid, code, "disputed"))
        self.step("recognized", lambda rid, a, code: self.decide(rid, code, "recognized"))
        self.step("settled", self.settle)

    def carry_automatic(self) -> None:
        """Ningbo's returns arrive and are inspected by hand; its engine decides by itself."""
        for action in (self.arrive, self.inspect):
            for rid, a, code in self.auto:
                self.check()
                action(rid, a, code)
            self.drain()
        self.drain()  # Ningbo's engine fetches the reports from Hangzhou and decides
        self.progress(f"{len(self.auto)} Ningbo returns decided automatically")

    def step(self, stage: str, action: Action) -> None:
        """Take `action` on every hand-carried case from `stage`'s share on."""
        first = STAGES.index(stage) * self.returns_per_stage
        for return_id, a, code in self.cases[first:]:
            self.check()
            action(return_id, a, code)
        self.drain()
        self.progress(f"{len(self.cases) - first} returns {stage}")

    def accepted_lines(self, rid: str) -> list[int]:
        """The lines an inspection accepts: all but the last of several."""
        lines = self.applied[rid]
        return lines if len(lines) == 1 else lines[:-1]

    def arrive(self, rid: str, a: Any, code: str) -> None:
        app = sample_return_application(a)
        rec = sample_arrival_record(app, rid).model_copy(update={"arrived_time": _when(self.now)})
        returns.arrival(
            self.centre.context,
            self.centre.connections.get(),
            self.officer["2900"],
            rid,
            canonical(rec),
        )

    def inspect(self, rid: str, a: Any, code: str) -> None:
        rec = sample_inspection_report(
            rid,
            self.applied[rid],
            accepted=self.accepted_lines(rid),
            inspected_time=_when(self.now),
        )
        returns.inspection(
            self.centre.context,
            self.centre.connections.get(),
            self.officer["2900"],
            rid,
            canonical(rec),
        )

    def decide(self, rid: str, code: str, decision: Literal["recognized", "disputed"]) -> None:
        rec = sample_recognition_decision(rid, code, decision, "officer", _when(self.now))
        gw = self.c.gateways[code]
        returns.decide(
            gw.context, gw.connections.get(), self.officer[code], rid, canonical(rec), decision
        )

    def settle(self, rid: str, a: Any, code: str) -> None:
        rec = sample_settlement_record(
            a, rid, self.accepted_lines(rid), settled_time=_when(self.now)
        )
        gw = self.c.gateways[code]
        returns.settle(gw.context, gw.connections.get(), self.system[code], rid, canonical(rec))


def _lines(return_id: str, c: Consortium) -> list[int]:
    r = c.centre.ledger.get_return(bytes.fromhex(return_id[2:]))
    assert r is not None
    return lines_of(r.line_mask)


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
