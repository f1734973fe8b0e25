"""A return's story from the ledger's events: its steps, pieces and settlements (`stories`),
a case's timeline (`timeline`), and the amounts disclosed to the auditor per line
(`LineValue`). Events come in the index's shape — `{"event", "block", "logIndex", "txHash",
"args": {..., "blockTime"}}`, ids and digests as 0x-hex."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clients.records.checks import pro_rata
from clients.records.lines import lines_of

DAY = 86_400
ARRIVAL_WINDOW_DAYS = 45  # governed on the ledger; callers pass the ledger's value
RECOGNITION_DAYS = 7  # an inspection not decided on within this many days is flagged

# The document digest each step anchors, by event.
STEP_DIGESTS = {
    "CaseOpened": "recordDigest",
    "ReturnApplied": "applicationDigest",
    "ArrivalRecorded": "arrivalDigest",
    "InspectionRecorded": "reportDigest",
    "ReturnRecognized": "decisionDigest",
    "ReturnDisputed": "reasonDigest",
    "LinesSettled": "settlementDigest",
    # a disclosure names the (anchored) document it covered, checked like the step's own
    "DisclosureLogged": "documentDigest",
}
STEP_NAMES = {
    "RootAnchored": "tax assessed (batch anchored)",
    "CaseOpened": "case opened",
    "ReturnApplied": "return applied",
    "ArrivalRecorded": "arrived",
    "InspectionRecorded": "inspected",
    "ReturnRecognized": "recognised",
    "ReturnDisputed": "disputed",
    "LinesSettled": "settled",
    "DisclosureLogged": "disclosed",
}
SETTLEMENT_KINDS = {1: "not_levied", 2: "refunded"}
ANOMALY_KINDS = (
    "not_inspected_in_window",
    "not_recognised_in_days",
    "disputed",
    "settled_without_recognition",
)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def jsonable(value: Any) -> Any:
    """Decoded event values as JSON: bytes as 0x-hex, integers beyond 2**53 as strings."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


@dataclass(frozen=True)
class LineValue:
    """What one line of a case is worth, from its disclosed tax assessment."""

    qty: int
    value: Decimal  # the line's total price
    tax: Decimal  # customs duty + VAT + consumption tax
    taxes: tuple[Decimal, ...] = ()  # (customs duty, VAT, consumption tax) when disclosed

    def part(self, before: int, pieces: int | None) -> tuple[Decimal, Decimal]:
        """(value, tax) that settling `pieces` after `before` pieces gives back: each tax and
        the value pro rata, as the origin settles (clients.records.checks.pro_rata); the whole
        line when `pieces` is None (a settlement event without piece counts)."""
        if pieces is None:
            return self.value, self.tax
        value = pro_rata(self.value, self.qty, before, pieces)
        tax = sum((pro_rata(t, self.qty, before, pieces) for t in self.taxes or (self.tax,)), ZERO)
        return value, tax


CaseValues = Mapping[str, Mapping[int, LineValue]]  # case id -> gnum -> value
LineValues = Mapping[int, LineValue]  # gnum -> value, of one case


def values_from_assessment(revealed: Mapping[str, Any]) -> dict[int, LineValue]:
    """Line values from a tax assessment's revealed fields (JSON pointer -> value), as a
    disclosed document shows them; lines without a revealed price are left out."""
    lines: dict[int, dict[str, Any]] = defaultdict(dict)
    for path, value in revealed.items():
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            lines[int(parts[1])][parts[2]] = value
    out: dict[int, LineValue] = {}
    for line in lines.values():
        try:
            taxes = tuple(Decimal(str(line[k])) for k in ("customsDuty", "vat", "consumptionTax"))
            out[int(line["gnum"])] = LineValue(
                int(line["qty"]), Decimal(str(line["totalPrice"])), sum(taxes, ZERO), taxes
            )
        except (KeyError, ArithmeticError, ValueError):
            continue
    return out


def values_from_record(record: Mapping[str, Any]) -> dict[int, LineValue]:
    """Line values from a whole canonical tax assessment (as its holder keeps it)."""
    lines = record.get("lines") or []
    return values_from_assessment(
        {f"/lines/{i}/{k}": v for i, line in enumerate(lines) for k, v in dict(line).items()}
    )


# ---------------------------------------------------------------------- a return's story


@dataclass
class Step:
    """One ledger step: what happened, by whom, when, where on the ledger, which document."""

    name: str
    event: str
    who: str  # member id (0x-hex) or label when known
    at: int
    block: int
    tx_hash: str
    digest: str | None
    return_id: str | None = None
    verification: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The step as the trace and the API show it."""
        return {
            "step": self.name,
            "event": self.event,
            "who": self.who,
            "at": self.at,
            "time": iso_time(self.at),
            "block": self.block,
            "txHash": self.tx_hash,
            "digest": self.digest,
            "returnId": self.return_id,
            "verification": self.verification,
        }


def iso_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else ""


@dataclass
class ReturnStory:
    """What the ledger says happened to one return."""

    return_id: str
    case_id: str
    origin: str = ""  # origin area member id
    centre: str = ""
    platform: str = ""
    release_time: int = 0
    line_mask: int = 0
    applied_at: int = 0
    arrived_at: int | None = None
    late: bool = False
    inspected_at: int | None = None
    accepted_mask: int = 0
    recognized_at: int | None = None
    disputed_at: list[int] = field(default_factory=list)
    settlements: list[tuple[int, int, str]] = field(default_factory=list)  # (at, mask, kind)
    # pieces per line from the events (empty for events without piece counts)
    applied_pieces: dict[int, int] = field(default_factory=dict)
    accepted_pieces: dict[int, int] = field(default_factory=dict)
    # per settlement: (kind, {gnum: (pieces of the case's line settled before, pieces or None)})
    parts: list[tuple[str, dict[int, tuple[int, int | None]]]] = field(default_factory=list)
    settled_before_recognition: bool = False

    @property
    def settled_at(self) -> int | None:
        """When its first lines were settled."""
        return self.settlements[0][0] if self.settlements else None


def _when(ev: Mapping[str, Any]) -> int:
    return int(ev["args"].get("blockTime") or 0)


def _ordered(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(events, key=lambda e: (int(e["block"]), int(e["logIndex"])))


def stories(events: Iterable[Mapping[str, Any]]) -> dict[str, ReturnStory]:
    """Every return's story from ReturnLedger events (any order; replayed in ledger order)."""
    cases: dict[str, Mapping[str, Any]] = {}
    out: dict[str, ReturnStory] = {}
    settled: dict[str, dict[int, int]] = defaultdict(dict)  # case -> gnum -> pieces so far
    for ev in _ordered(events):
        name, a = ev["event"], ev["args"]
        if name == "CaseOpened":
            cases[a["caseId"]] = a
            continue
        rid = a.get("returnId")
        if rid is None:
            continue
        if name == "ReturnApplied":
            case = cases.get(a["caseId"], {})
            out[rid] = ReturnStory(
                return_id=rid,
                case_id=a["caseId"],
                origin=str(case.get("originArea", "")),
                centre=str(a["returnCentre"]),
                platform=str(case.get("platform", "")),
                release_time=int(case.get("releaseTime", 0)),
                line_mask=int(a["lineMask"]),
                applied_at=_when(ev),
                applied_pieces=_counts(a["lineMask"], a.get("pieces")),
            )
            continue
        story = out.get(rid)
        if story is None:
            continue
        if name == "ArrivalRecorded":
            story.arrived_at, story.late = _when(ev), bool(a["late"])
        elif name == "InspectionRecorded":
            story.inspected_at, story.accepted_mask = _when(ev), int(a["acceptedMask"])
            story.accepted_pieces = _counts(a["acceptedMask"], a.get("acceptedPieces"))
        elif name == "ReturnRecognized":
            story.recognized_at = _when(ev)
        elif name == "ReturnDisputed":
            story.disputed_at.append(_when(ev))
        elif name == "LinesSettled":
            if story.recognized_at is None:
                story.settled_before_recognition = True
            kind = SETTLEMENT_KINDS.get(int(a["kind"]), str(a["kind"]))
            story.settlements.append((_when(ev), int(a["lineMask"]), kind))
            counts = _counts(a["lineMask"], a.get("pieces"))
            so_far = settled[story.case_id]
            part: dict[int, tuple[int, int | None]] = {}
            for g in lines_of(int(a["lineMask"])):
                part[g] = (so_far.get(g, 0), counts.get(g))
                so_far[g] = so_far.get(g, 0) + counts.get(g, 0)
            story.parts.append((kind, part))
    return out


def _counts(mask: Any, pieces: Any) -> dict[int, int]:
    """{gnum: pieces} of an event's mask and piece array (empty when it carries none)."""
    if not pieces:
        return {}
    return dict(zip(lines_of(int(mask)), (int(n) for n in pieces), strict=False))


def timeline(
    events: Iterable[Mapping[str, Any]],
    labels: Mapping[str, str] | None = None,
    anchoring: Iterable[Mapping[str, Any]] = (),
) -> list[Step]:
    """A case's steps in ledger order: the anchoring of its tax record (`anchoring`: the
    RootAnchored event of its batch), the case's opening, and each step of each return; `who`
    is the responsible member, by label when `labels` knows it."""
    labels = labels or {}
    origin = platform = ""
    centres: dict[str, str] = {}
    steps: list[Step] = []
    for ev in _ordered([*anchoring, *events]):
        name, a = ev["event"], ev["args"]
        if name not in STEP_NAMES:
            continue
        rid = a.get("returnId")
        if name == "CaseOpened":
            origin, platform = str(a["originArea"]), str(a["platform"])
        if name == "ReturnApplied":
            centres[str(rid)] = str(a["returnCentre"])
        if name == "RootAnchored":
            who = f"area {a.get('areaCode')}"
        elif name in ("ReturnApplied",):
            who = labels.get(platform, platform) + f" (signer {a.get('signer')})"
        elif name in ("ArrivalRecorded", "InspectionRecorded"):
            centre = centres.get(str(rid), "")
            who = labels.get(centre, centre)
        elif name == "DisclosureLogged":
            holder = str(a["holder"])
            who = labels.get(holder, holder)
        else:
            who = labels.get(origin, origin)
        digest_field = STEP_DIGESTS.get(name)
        steps.append(
            Step(
                name=STEP_NAMES[name],
                event=name,
                who=who,
                at=_when(ev),
                block=int(ev["block"]),
                tx_hash=str(ev["txHash"]),
                digest=str(a[digest_field]) if digest_field else None,
                return_id=str(rid) if rid else None,
            )
        )
    return steps


# ---------------------------------------------------------------------- period reports
