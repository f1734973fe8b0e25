"""The standalone verifier: checks a disclosed document against the ledger by itself.

It plays the role oa-verify plays for OpenAttestation. Given a disclosed document (with its
`anchor` evidence) and a web3 connection to the contracts, it runs five named checks, never
skipping one silently:

- `integrity`: the digest recomputed from the revealed fields and withheld leaves is the claimed
  one, `/docType` is revealed with the document's claimed type as its value, and no path is
  revealed twice;
- `anchored`: the digest is on the ledger — a tax record's case-header / payment leaf proven under
  a root of the right kind anchored by the claimed origin area, or a return step's event
  carrying this digest;
- `not_revoked`: neither that root nor the leaf was revoked (for a return step: the case's
  tax record);
- `issuer`: the party that vouches for the document is an active member of the right kind
  (the origin customs area, the return centre, the platform that signed);
- `ledger_state`: the case / return state on ReturnLedger agrees with the document (case header
  fields, return state; an application's and an inspection report's lines against the applied
  lines, the report's results against its InspectionRecorded event's acceptedMask, a
  settlement's lines and kind against the LinesSettled event carrying its digest).

Ledger answers are cached in a `LedgerView` (per root, per area's revocations, per case and per
return), so re-verifying thousands of documents costs few ledger calls. This module and
`ledger_bindings` are the only places in clients/ that import web3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from clients.audit import jsonable
from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf
from clients.commitments.merkle import process_proof
from clients.ledger_bindings import (
    BatchKind,
    Contracts,
    MemberKind,
    MemberStatus,
    ReturnState,
    SettlementKind,
    decode_log,
    event_record,
    event_topic,
)

CHECKS = ("integrity", "anchored", "not_revoked", "issuer", "ledger_state")
STEP_EVENTS = {
    "return_application": ("ReturnApplied", "applicationDigest"),
    "arrival": ("ArrivalRecorded", "arrivalDigest"),
    "inspection_report": ("InspectionRecorded", "reportDigest"),
    "settlement": ("LinesSettled", "settlementDigest"),
}
_STATE_AFTER = {
    "return_application": ReturnState.APPLIED,
    "arrival": ReturnState.ARRIVED,
    "inspection_report": ReturnState.INSPECTED,
    "recognition": ReturnState.DISPUTED,  # disputed, recognised or settled since
}
_SETTLEMENT_KINDS = {SettlementKind.NOT_LEVIED: "not_levied", SettlementKind.REFUNDED: "refunded"}
MAX_GNUM = 128  # line masks are uint128


@dataclass(frozen=True)
class Check:
    """One named check and its outcome."""

    name: str
    passed: bool
    detail: str


@dataclass
class VerificationResult:
    """Every check run on one document."""

    doc_type: str
    digest: bytes
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return len(self.checks) == len(CHECKS) and all(c.passed for c in self.checks)

    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "docType": self.doc_type,
            "digest": "0x" + self.digest.hex(),
            "ok": self.ok,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
        }


@dataclass(frozen=True)
class RootInfo:
    """An anchored batch root as TaxAnchor stores it for the area that anchored it."""

    area_code: int
    kind: BatchKind
    leaf_count: int
    anchored_at: int
    revoked_reason: int


class LedgerView:
    """Cached reads of the three contracts, pinned to one block for a consistent picture."""

    def __init__(
        self,
        contracts: Contracts,
        block: int | None = None,
        log_source: Callable[[int, int], list[Any] | None] | None = None,
    ) -> None:
        self.c = contracts
        # Where logs come from: the node's eth_getLogs by default; a source that already holds
        # the chain's logs (the embedded ledger) may answer instead (None: ask the node).
        self._log_source = log_source
        self.w3: Web3 = contracts.w3
        self.block = block if block is not None else int(self.w3.eth.block_number)
        self._roots: dict[tuple[int, bytes], RootInfo | None] = {}
        self._revoked: dict[int, dict[bytes, int]] = {}
        self._members: dict[bytes, tuple[MemberKind, MemberStatus, int]] = {}
        self._accounts: dict[str, bytes] = {}
        self._codes: dict[int, bytes] = {}
        self._cases: dict[bytes, dict[str, Any]] | None = None
        self._return_events: dict[bytes, list[tuple[str, dict[str, Any]]]] = {}
        self._returns: dict[bytes, tuple[Any, ...]] = {}
        self._times: dict[int, int] = {}
        self._raw_logs: list[Any] | None = None

    def _logs(self, address: str, topics: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        held = self._log_source(0, self.block) if self._log_source is not None else None
        if held is not None:
            wanted = to_checksum_address(address)
            matching = [
                log
                for log in held
                if to_checksum_address(log["address"]) == wanted and _topics_match(log, topics)
            ]
            decoded_held = (decode_log(self.c, log) for log in matching)
            return [d for d in decoded_held if d is not None]
        logs = self.w3.eth.get_logs(
            {
                "address": to_checksum_address(address),
                "fromBlock": 0,
                "toBlock": self.block,
                "topics": topics,
            }
        )
        decoded = (decode_log(self.c, log) for log in logs)
        return [d for d in decoded if d is not None]

    def events(self, topics: list[Any] | None = None) -> list[dict[str, Any]]:
        """Every CrossReturn event up to the pinned block (optionally filtered by topics), as
        event records in ledger order: block, logIndex, txHash, contract, event, args (0x-hex,
        with the block's time as `blockTime`) — the shape clients.audit reads."""
        if self._raw_logs is None:
            held = self._log_source(0, self.block) if self._log_source is not None else None
            if held is None:
                held = self.w3.eth.get_logs(
                    {
                        "address": list(self.c.addresses().values()),  # type: ignore[typeddict-item]
                        "fromBlock": 0,
                        "toBlock": self.block,
                    }
                )
            self._raw_logs = list(held)
        records = []
        for log in self._raw_logs:
            if topics is not None and not _topics_match(log, topics):
                continue
            record = event_record(self.c, log)
            if record is not None:
                records.append(record)
        self._load_block_times({r["block"] for r in records})
        out = [
            {**r, "args": {**jsonable(r["args"]), "blockTime": self._times[r["block"]]}}
            for r in records
        ]
        return sorted(out, key=lambda e: (e["block"], e["logIndex"]))

    def _load_block_times(self, numbers: set[int]) -> None:
        missing = sorted(n for n in numbers if n not in self._times)
        for start in range(0, len(missing), 100):  # batched: one round trip per 100 blocks
            chunk = missing[start : start + 100]
            with self.w3.batch_requests() as batch:
                for n in chunk:
                    batch.add(self.w3.eth.get_block(n))
                blocks = batch.execute()
            for n, block in zip(chunk, blocks, strict=True):
                self._times[n] = int(block["timestamp"])  # type: ignore[typeddict-item]

    def block_time(self, number: int) -> int:
        """A block's timestamp (cached)."""
        if number not in self._times:
            self._times[number] = int(self.w3.eth.get_block(number)["timestamp"])
        return self._times[number]

    def root(self, area_code: int, root: bytes) -> RootInfo | None:
        """A root's record as the customs area `area_code` anchored it, or None when that area
        never did (roots are per area: another area's anchoring of the same bytes is not it)."""
        key = (area_code, root)
        if key not in self._roots:
            fn = self.c.tax_anchor.functions.getRoot(area_code, root)
            kind, leaf_count, anchored_at, reason = fn.call(block_identifier=self.block)
            self._roots[key] = (
                RootInfo(area_code, BatchKind(kind), leaf_count, anchored_at, reason)
                if kind
                else None
            )
        return self._roots[key]

    def revoked_leaves(self, area_code: int) -> dict[bytes, int]:
        """Leaves the area revoked, with their reasons (one log query per area)."""
        if area_code not in self._revoked:
            topic = "0x" + area_code.to_bytes(32, "big").hex()
            events = self._logs(self.c.tax_anchor.address, [None, topic])
            self._revoked[area_code] = {
                args["leaf"]: args["reason"] for name, args in events if name == "LeafRevoked"
            }
        return self._revoked[area_code]

    def member(self, member_id: bytes) -> tuple[MemberKind, MemberStatus, int]:
        """A member's kind, status and customs code."""
        if member_id not in self._members:
            kind, status, code = self.c.consortium.functions.memberInfo(member_id).call(
                block_identifier=self.block
            )
            self._members[member_id] = (MemberKind(kind), MemberStatus(status), code)
        return self._members[member_id]

    def gateway_url(self, member_id: bytes) -> str:
        """The gateway URL a member registered in its profile ('' if none)."""
        member = self.c.consortium.functions.getMember(member_id).call(block_identifier=self.block)
        return str(member[7])

    def customs_member(self, code: int) -> bytes:
        """The customs area holding a customs code (zero bytes if none)."""
        if code not in self._codes:
            member = self.c.consortium.functions.customsMember(code).call(
                block_identifier=self.block
            )
            self._codes[code] = bytes(member)
        return self._codes[code]

    def member_of_account(self, account: str) -> bytes:
        """The member id an account belongs to (zero bytes if none)."""
        if account not in self._accounts:
            info = self.c.consortium.functions.accountInfo(account).call(
                block_identifier=self.block
            )
            self._accounts[account] = bytes(info[0])
        return self._accounts[account]

    def case_opened(self, case_id: bytes) -> dict[str, Any] | None:
        """The CaseOpened event of a case (all cases are loaded with one query)."""
        if self._cases is None:
            topic = "0x" + event_topic("ReturnLedger", "CaseOpened").hex()
            events = self._logs(self.c.return_ledger.address, [topic])
            self._cases = {args["caseId"]: args for _, args in events}
        return self._cases.get(case_id)

    def return_events(self, return_id: bytes) -> list[tuple[str, dict[str, Any]]]:
        """Every ReturnLedger event of one return, in ledger order."""
        if return_id not in self._return_events:
            self._return_events[return_id] = self._logs(
                self.c.return_ledger.address, [None, "0x" + return_id.hex()]
            )
        return self._return_events[return_id]

    def return_record(self, return_id: bytes) -> tuple[Any, ...]:
        """ReturnLedger.getReturn at the pinned block."""
        if return_id not in self._returns:
            self._returns[return_id] = tuple(
                self.c.return_ledger.functions.getReturn(return_id).call(
                    block_identifier=self.block
                )
            )
        return self._returns[return_id]


def _topics_match(log: Any, topics: list[Any]) -> bool:
    """eth_getLogs' topic filter: position by position, None matches anything."""
    have = ["0x" + bytes(t).hex() for t in log["topics"]]
    for i, want in enumerate(topics):
        if want is None:
            continue
        if i >= len(have) or have[i] != str(want).lower():
            return False
    return True


class _Failed(Exception):
    """A check failed; the message says why."""


def _b32(value: Any, name: str) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise _Failed(f"anchor.{name} is not a 32-byte hex value")


def _int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _Failed(f"anchor.{name} is not a non-negative integer")


def _proof(anchor: dict[str, Any]) -> list[bytes]:
    proof = anchor.get("proof")
    if not isinstance(proof, list):
        raise _Failed("anchor.proof is missing")
    return [_b32(p, f"proof[{i}]") for i, p in enumerate(proof)]


def case_header_from_anchor(anchor: dict[str, Any]) -> CaseHeader:
    """The case header carried in a tax assessment's anchor evidence."""
    h = anchor.get("caseHeader")
    if not isinstance(h, dict):
        raise _Failed("anchor.caseHeader is missing")
    return CaseHeader(
        case_id=_b32(h.get("caseId"), "caseHeader.caseId"),
        origin_area=_b32(h.get("originArea"), "caseHeader.originArea"),
        platform=_b32(h.get("platform"), "caseHeader.platform"),
        release_time=_int(h.get("releaseTime"), "caseHeader.releaseTime"),
        line_count=_int(h.get("lineCount"), "caseHeader.lineCount"),
        record_digest=_b32(h.get("recordDigest"), "caseHeader.recordDigest"),
        pieces=_pieces(h.get("pieces")),
    )


def _pieces(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _Failed("anchor.caseHeader.pieces is missing")
    return tuple(_int(n, f"caseHeader.pieces[{i}]") for i, n in enumerate(value))


def case_anchor(header: CaseHeader, root: bytes, proof: Iterable[bytes]) -> dict[str, Any]:
    """The anchor evidence of a tax assessment (JSON-compatible)."""
    return {
        "kind": "case",
        "caseHeader": {
            "caseId": "0x" + header.case_id.hex(),
            "originArea": "0x" + header.origin_area.hex(),
            "platform": "0x" + header.platform.hex(),
            "releaseTime": header.release_time,
            "lineCount": header.line_count,
            "pieces": list(header.pieces),
            "recordDigest": "0x" + header.record_digest.hex(),
        },
        "root": "0x" + root.hex(),
        "proof": ["0x" + p.hex() for p in proof],
    }


def payment_anchor(
    case_id: bytes, origin_code: int, root: bytes, proof: Iterable[bytes]
) -> dict[str, Any]:
    """The anchor evidence of a tax payment record for one case."""
    return {
        "kind": "payment",
        "caseId": "0x" + case_id.hex(),
        "originCode": origin_code,
        "root": "0x" + root.hex(),
        "proof": ["0x" + p.hex() for p in proof],
    }


def return_anchor(return_id: bytes) -> dict[str, Any]:
    """The anchor evidence of a return step's document."""
    return {"kind": "return", "returnId": "0x" + return_id.hex()}


class Verifier:
    """Runs the five checks on disclosed documents against one LedgerView."""

    def __init__(self, view: LedgerView) -> None:
        self.view = view

    def verify(self, doc: DisclosedDocument) -> VerificationResult:
        """Every check on one document; each names why it failed."""
        result = VerificationResult(doc.doc_type, doc.digest)
        try:
            doc.check_revealed()
            computed = doc.compute_digest()
            integrity = Check(
                "integrity",
                computed == doc.digest,
                "digest recomputed from the revealed fields and withheld leaves"
                if computed == doc.digest
                else f"recomputed 0x{computed.hex()} differs from the claimed digest",
            )
        except CommitmentError as exc:
            integrity = Check("integrity", False, str(exc))
        result.checks.append(integrity)
        steps = self._steps_for(doc)
        context: dict[str, Any] = {}
        for name, step in zip(CHECKS[1:], steps, strict=True):
            try:
                detail = step(doc, context)
                result.checks.append(Check(name, True, detail))
            except _Failed as exc:
                result.checks.append(Check(name, False, str(exc)))
            except Exception as exc:  # a ledger or evidence problem still names its check
                result.checks.append(Check(name, False, f"could not check: {exc!r}"))
        return result

    def verify_all(self, docs: Iterable[DisclosedDocument]) -> list[VerificationResult]:
        """Verify many documents with shared caches."""
        return [self.verify(d) for d in docs]

    # ------------------------------------------------------------ dispatch

    def _steps_for(self, doc: DisclosedDocument) -> list[Any]:
        if doc.doc_type == "tax_assessment":
            return [
                self._case_anchored,
                self._case_not_revoked,
                self._origin_issuer,
                self._case_state,
            ]
        if doc.doc_type == "tax_payment":
            return [
                self._payment_anchored,
                self._payment_not_revoked,
                self._origin_issuer,
                self._payment_state,
            ]
        if doc.doc_type in STEP_EVENTS or doc.doc_type == "recognition":
            return [
                self._step_anchored,
                self._step_not_revoked,
                self._step_issuer,
                self._step_state,
            ]
        unknown = _unknown_type(doc.doc_type)
        return [unknown] * 4

    # ------------------------------------------------------------ tax assessment

    def _tax_root(self, root: bytes, kind: BatchKind, origin_code: int) -> RootInfo:
        # Under the origin only: another area's anchoring of the same bytes vouches for nothing.
        info = self.view.root(origin_code, root)
        if info is None:
            raise _Failed(f"root 0x{root.hex()} was never anchored by the origin {origin_code:04d}")
        if info.kind != kind:
            raise _Failed(f"root holds a {info.kind.name.lower()} batch, not {kind.name.lower()}")
        return info

    def _case_anchored(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        header = case_header_from_anchor(doc.anchor)
        ctx["header"] = header
        if header.record_digest != doc.digest:
            raise _Failed("the case header's recordDigest is not this document's digest")
        root = _b32(doc.anchor.get("root"), "root")
        if process_proof(header.leaf(), _proof(doc.anchor)) != root:
            raise _Failed("the proof does not lead from the case header leaf to the root")
        code = self.view.member(header.origin_area)[2]
        ctx["origin"], ctx["origin_code"] = header.origin_area, code
        info = self._tax_root(root, BatchKind.ASSESSMENT, code)
        ctx["root"], ctx["leaf"], ctx["root_info"] = root, header.leaf(), info
        return f"case header under assessment root 0x{root.hex()[:12]}… of {code:04d}"

    def _case_not_revoked(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        if "root_info" not in ctx:
            raise _Failed("not anchored, so revocation cannot be checked")
        return self._not_revoked(ctx["root_info"], ctx["leaf"])

    def _not_revoked(self, info: RootInfo, leaf: bytes) -> str:
        if info.revoked_reason:
            raise _Failed(f"the batch root was revoked (reason {info.revoked_reason})")
        reason = self.view.revoked_leaves(info.area_code).get(leaf)
        if reason:
            raise _Failed(f"the record was revoked by {info.area_code:04d} (reason {reason})")
        return "neither the batch root nor the record is revoked"

    def _origin_issuer(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        origin: bytes | None = ctx.get("origin")
        if origin is None:
            raise _Failed("no origin area could be read from the evidence")
        return self._active(origin, MemberKind.CUSTOMS, "origin area")

    def _active(self, member: bytes, kind: MemberKind, role: str) -> str:
        actual, status, code = self.view.member(member)
        if actual == MemberKind.NONE:
            raise _Failed(f"the {role} 0x{member.hex()[:16]}… is not a member")
        if actual != kind:
            raise _Failed(f"the {role} is a {actual.name.lower()}, not {kind.name.lower()}")
        if status != MemberStatus.ACTIVE:
            raise _Failed(f"the {role} is suspended")
        label = member.rstrip(b"\0").decode("ascii", "replace")
        return f"the {role} {label} is an active {kind.name.lower()} member"

    def _case_state(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        header: CaseHeader | None = ctx.get("header")
        if header is None:
            raise _Failed("no case header to compare")
        revealed = doc.values()
        code = revealed.get("/customsCode")
        if code is not None and "origin_code" in ctx and code != f"{ctx['origin_code']:04d}":
            raise _Failed(f"revealed customsCode {code} is not the origin's code")
        segments = {p[7:].partition("/")[0] for p in revealed if p.startswith("/lines/")}
        indices = [i for i in map(_index, segments) if i is not None]
        if indices and max(indices) >= header.line_count:
            raise _Failed("the document reveals more lines than the case header's lineCount")
        opened = self.view.case_opened(header.case_id)
        if opened is None:
            return "case not opened on ReturnLedger (no return applied for yet)"
        expected = (header.origin_area, header.platform, header.release_time, header.line_count)
        actual = (
            opened["originArea"],
            opened["platform"],
            opened["releaseTime"],
            opened["lineCount"],
        )
        if actual != expected or opened["recordDigest"] != header.record_digest:
            raise _Failed("the case opened on ReturnLedger has another header")
        return "case open on ReturnLedger with this header"

    # ------------------------------------------------------------ tax payment

    def _payment_anchored(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        case_id = _b32(doc.anchor.get("caseId"), "caseId")
        code = _int(doc.anchor.get("originCode"), "originCode")
        root = _b32(doc.anchor.get("root"), "root")
        leaf = payment_leaf(case_id, code, doc.digest)
        if process_proof(leaf, _proof(doc.anchor)) != root:
            raise _Failed("the proof does not lead from the payment leaf to the root")
        ctx["root_info"] = self._tax_root(root, BatchKind.PAYMENT, code)
        ctx["leaf"], ctx["case_id"], ctx["origin_code"] = leaf, case_id, code
        ctx["origin"] = self.view.customs_member(code)
        return f"payment leaf of the case under payment root 0x{root.hex()[:12]}… of {code:04d}"

    def _payment_not_revoked(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        return self._case_not_revoked(doc, ctx)

    def _payment_state(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        if "case_id" not in ctx:
            raise _Failed("no case to compare")
        opened = self.view.case_opened(ctx["case_id"])
        if opened is None:
            return "case not opened on ReturnLedger (no return applied for yet)"
        origin_code = self.view.member(opened["originArea"])[2]
        if origin_code != ctx["origin_code"]:
            raise _Failed("the case's origin is not the payment's customs area")
        return "payment belongs to an open case of the same origin"

    # ------------------------------------------------------------ return steps

    def _step_anchored(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        return_id = _b32(doc.anchor.get("returnId"), "returnId")
        revealed_id = doc.values().get("/returnId")
        if revealed_id is not None and revealed_id != "0x" + return_id.hex():
            raise _Failed("the revealed returnId differs from the evidence")
        events = self.view.return_events(return_id)
        ctx["return_id"], ctx["events"] = return_id, events
        wanted = (
            {("ReturnRecognized", "decisionDigest"), ("ReturnDisputed", "reasonDigest")}
            if doc.doc_type == "recognition"
            else {STEP_EVENTS[doc.doc_type]}
        )
        for name, args in events:
            for event_name, key in wanted:
                if name == event_name and args[key] == doc.digest:
                    ctx["event"] = (name, args)
                    return f"{name} of the return carries this digest"
        raise _Failed("no event of this return carries this digest")

    def _step_not_revoked(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        case_id = self._case_of_return(ctx)
        opened = self.view.case_opened(case_id)
        if opened is None:
            raise _Failed("the return's case is not open on ReturnLedger")
        header = CaseHeader(
            case_id,
            opened["originArea"],
            opened["platform"],
            opened["releaseTime"],
            opened["lineCount"],
            opened["recordDigest"],
            tuple(opened["pieces"]),
        )
        origin_code = self.view.member(opened["originArea"])[2]
        info = self.view.root(origin_code, opened["assessmentRoot"])
        if info is None:
            raise _Failed("the case's assessment root is not anchored")
        ctx["opened"] = opened
        return "the case's tax record: " + self._not_revoked(info, header.leaf())

    def _case_of_return(self, ctx: dict[str, Any]) -> bytes:
        if "return_id" not in ctx:
            raise _Failed("no return id in the evidence")
        record = self.view.return_record(ctx["return_id"])
        if record[4] == ReturnState.NONE:
            raise _Failed("the return is unknown on ReturnLedger")
        return bytes(record[0])

    def _step_issuer(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        opened = ctx.get("opened")
        if opened is None or "event" not in ctx:
            raise _Failed("the step is not anchored, so its issuer cannot be named")
        record = self.view.return_record(ctx["return_id"])
        if doc.doc_type == "return_application":
            signer = ctx["event"][1]["signer"]
            if self.view.member_of_account(signer) != opened["platform"]:
                raise _Failed("the signer is no longer an account of the case's platform")
            return self._active(opened["platform"], MemberKind.PLATFORM, "platform")
        if doc.doc_type in ("arrival", "inspection_report"):
            centre = self.view.customs_member(record[8])
            return self._active(centre, MemberKind.CUSTOMS, "return centre")
        return self._active(opened["originArea"], MemberKind.CUSTOMS, "origin area")

    def _step_state(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        if "return_id" not in ctx:
            raise _Failed("no return id in the evidence")
        record = self.view.return_record(ctx["return_id"])
        state = ReturnState(record[4])
        applied = record[1]
        values = doc.values()
        lines = _revealed_lines(values)
        if doc.doc_type == "settlement":
            return self._settlement_state(doc, ctx, state, values, lines)
        if state < _STATE_AFTER[doc.doc_type]:
            raise _Failed(f"the return is only {state.name.lower()} on ReturnLedger")
        if doc.doc_type == "return_application":
            _check_lines(lines, applied, "the return", "is not in the return on ReturnLedger")
        if doc.doc_type == "inspection_report":
            event = ctx.get("event")
            if event is None or event[0] != "InspectionRecorded":
                raise _Failed("no InspectionRecorded event carries this digest")
            gnums = _check_lines(
                lines,
                applied,
                "the return",
                "is in the report but not in the return on ReturnLedger",
            )
            accepted = event[1]["acceptedMask"]
            for index, line in sorted(lines.items()):
                if "result" not in line:
                    continue
                gnum = gnums.get(index)
                if gnum is None:
                    raise _Failed(f"line {index}'s result is revealed without its gnum")
                on_ledger = "accepted" if accepted >> (gnum - 1) & 1 else "rejected"
                if line["result"] != on_ledger:
                    raise _Failed(
                        f"line {gnum} is {line['result']} here but {on_ledger} on the ledger"
                    )
        return f"return is {state.name.lower()} on ReturnLedger, consistent with the document"

    def _settlement_state(
        self,
        doc: DisclosedDocument,
        ctx: dict[str, Any],
        state: ReturnState,
        values: dict[str, Any],
        lines: dict[int, dict[str, Any]],
    ) -> str:
        """Compare with the one LinesSettled event that anchored this document's digest."""
        events = [
            args
            for name, args in ctx.get("events", [])
            if name == "LinesSettled" and args["settlementDigest"] == doc.digest
        ]
        if not events:
            raise _Failed("no LinesSettled event carries this digest")
        if len(events) > 1:
            raise _Failed(
                f"{len(events)} LinesSettled events carry this digest; "
                "a settlement document belongs to one"
            )
        event = events[0]
        _check_lines(
            lines,
            event["lineMask"],
            "its LinesSettled event",
            "is not settled by this document's LinesSettled event",
        )
        kind = values.get("/kind")
        on_ledger = _SETTLEMENT_KINDS.get(event["kind"], f"kind {event['kind']}")
        if kind is not None and kind != on_ledger:
            raise _Failed(f"the document says {kind}, its LinesSettled event {on_ledger}")
        return (
            f"return {state.name.lower()}; revealed lines and kind match the LinesSettled event "
            "carrying this digest"
        )


def _revealed_lines(values: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Revealed fields of elements of the `lines` array: index -> {field: value}. Paths deeper
    than /lines/<index>/<field>, or whose segment is an object key ("~2…"), are not lines."""
    lines: dict[int, dict[str, Any]] = {}
    for path, value in values.items():
        if path.startswith("/lines/"):
            segment, _, name = path[7:].partition("/")
            index = _index(segment)
            if index is not None and name and "/" not in name:
                line = lines.get(index)
                if line is None:
                    line = lines[index] = {}
                line[name] = value
    return lines


_INDICES = {str(i): i for i in range(MAX_GNUM)}  # the common indices, parsed once


def _index(segment: str) -> int | None:
    """An RFC 6901 array index (0 or a decimal without a leading zero), or None."""
    index = _INDICES.get(segment)
    if index is not None:
        return index
    if segment.isascii() and segment.isdigit() and (segment == "0" or segment[0] != "0"):
        return int(segment)
    return None


def _check_lines(
    lines: dict[int, dict[str, Any]], mask: int, holder: str, missing: str
) -> dict[int, int]:
    """The revealed lines must be lines of `mask`: each revealed gnum in it and listed once, and
    no line index beyond the mask's line count. Returns index -> gnum of the revealed gnums."""
    gnums: dict[int, int] = {}
    seen: set[int] = set()
    for index, line in sorted(lines.items()):
        if "gnum" not in line:
            continue
        gnum = line["gnum"]
        if type(gnum) is not int or not 1 <= gnum <= MAX_GNUM:
            raise _Failed(f"line {index}'s gnum {gnum!r} is not a line number")
        if not mask >> (gnum - 1) & 1:
            raise _Failed(f"line {gnum} {missing}")
        if gnum in seen:
            raise _Failed(f"line {gnum} appears twice in the document")
        seen.add(gnum)
        gnums[index] = gnum
    count = mask.bit_count()
    beyond = [index for index in lines if index >= count]
    if beyond:
        raise _Failed(f"the document has line index {max(beyond)} but {holder} has {count} lines")
    return gnums


def _unknown_type(doc_type: str) -> Any:
    def fail(doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        raise _Failed(f"unknown document type {doc_type!r}")

    return fail
