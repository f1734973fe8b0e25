"""The Verifier: the four ledger checks after `integrity`, per kind of document (tax
assessment, tax payment, return step), each failing with its reason."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clients.bindings import BatchKind, MemberKind, MemberStatus, ReturnState, SettlementKind
from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf
from clients.commitments.merkle import process_proof
from clients.verify.anchors import b32, case_header_from_anchor, non_negative, proof_of
from clients.verify.ledger_view import LedgerView, RootInfo
from clients.verify.result import CHECKS, Check, CheckFailed, VerificationResult
from clients.verify.revealed import array_index, check_lines, revealed_lines

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
            except CheckFailed as exc:
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
            raise CheckFailed(
                f"root 0x{root.hex()} was never anchored by the origin {origin_code:04d}"
            )
        if info.kind != kind:
            raise CheckFailed(
                f"root holds a {info.kind.name.lower()} batch, not {kind.name.lower()}"
            )
        return info

    def _case_anchored(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        header = case_header_from_anchor(doc.anchor)
        ctx["header"] = header
        if header.record_digest != doc.digest:
            raise CheckFailed("the case header's recordDigest is not this document's digest")
        root = b32(doc.anchor.get("root"), "root")
        if process_proof(header.leaf(), proof_of(doc.anchor)) != root:
            raise CheckFailed("the proof does not lead from the case header leaf to the root")
        code = self.view.member_info(header.origin_area).customs_code
        ctx["origin"], ctx["origin_code"] = header.origin_area, code
        info = self._tax_root(root, BatchKind.ASSESSMENT, code)
        ctx["root"], ctx["leaf"], ctx["root_info"] = root, header.leaf(), info
        return f"case header under assessment root 0x{root.hex()[:12]}… of {code:04d}"

    def _case_not_revoked(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        if "root_info" not in ctx:
            raise CheckFailed("not anchored, so revocation cannot be checked")
        return self._not_revoked(ctx["root_info"], ctx["leaf"])

    def _not_revoked(self, info: RootInfo, leaf: bytes) -> str:
        if info.revoked_reason:
            raise CheckFailed(f"the batch root was revoked (reason {info.revoked_reason})")
        reason = self.view.revoked_leaves(info.area_code).get(leaf)
        if reason:
            raise CheckFailed(f"the record was revoked by {info.area_code:04d} (reason {reason})")
        return "neither the batch root nor the record is revoked"

    def _origin_issuer(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        origin: bytes | None = ctx.get("origin")
        if origin is None:
            raise CheckFailed("no origin area could be read from the evidence")
        return self._active(origin, MemberKind.CUSTOMS, "origin area")

    def _active(self, member: bytes, kind: MemberKind, role: str) -> str:
        info = self.view.member_info(member)
        actual, status = info.kind, info.status
        if actual == MemberKind.NONE:
            raise CheckFailed(f"the {role} 0x{member.hex()[:16]}… is not a member")
        if actual != kind:
            raise CheckFailed(f"the {role} is a {actual.name.lower()}, not {kind.name.lower()}")
        if status != MemberStatus.ACTIVE:
            raise CheckFailed(f"the {role} is suspended")
        label = member.rstrip(b"\0").decode("ascii", "replace")
        return f"the {role} {label} is an active {kind.name.lower()} member"

    def _case_state(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        header: CaseHeader | None = ctx.get("header")
        if header is None:
            raise CheckFailed("no case header to compare")
        revealed = doc.values()
        code = revealed.get("/customsCode")
        if code is not None and "origin_code" in ctx and code != f"{ctx['origin_code']:04d}":
            raise CheckFailed(f"revealed customsCode {code} is not the origin's code")
        segments = {p[7:].partition("/")[0] for p in revealed if p.startswith("/lines/")}
        indices = [i for i in map(array_index, segments) if i is not None]
        if indices and max(indices) >= header.line_count:
            raise CheckFailed("the document reveals more lines than the case header's lineCount")
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
            raise CheckFailed("the case opened on ReturnLedger has another header")
        return "case open on ReturnLedger with this header"

    # ------------------------------------------------------------ tax payment

    def _payment_anchored(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        case_id = b32(doc.anchor.get("caseId"), "caseId")
        code = non_negative(doc.anchor.get("originCode"), "originCode")
        root = b32(doc.anchor.get("root"), "root")
        leaf = payment_leaf(case_id, code, doc.digest)
        if process_proof(leaf, proof_of(doc.anchor)) != root:
            raise CheckFailed("the proof does not lead from the payment leaf to the root")
        ctx["root_info"] = self._tax_root(root, BatchKind.PAYMENT, code)
        ctx["leaf"], ctx["case_id"], ctx["origin_code"] = leaf, case_id, code
        ctx["origin"] = self.view.customs_member(code)
        return f"payment leaf of the case under payment root 0x{root.hex()[:12]}… of {code:04d}"

    def _payment_not_revoked(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        return self._case_not_revoked(doc, ctx)

    def _payment_state(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        if "case_id" not in ctx:
            raise CheckFailed("no case to compare")
        opened = self.view.case_opened(ctx["case_id"])
        if opened is None:
            return "case not opened on ReturnLedger (no return applied for yet)"
        origin_code = self.view.member_info(opened["originArea"]).customs_code
        if origin_code != ctx["origin_code"]:
            raise CheckFailed("the case's origin is not the payment's customs area")
        return "payment belongs to an open case of the same origin"

    # ------------------------------------------------------------ return steps

    def _step_anchored(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        return_id = b32(doc.anchor.get("returnId"), "returnId")
        revealed_id = doc.values().get("/returnId")
        if revealed_id is not None and revealed_id != "0x" + return_id.hex():
            raise CheckFailed("the revealed returnId differs from the evidence")
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
        raise CheckFailed("no event of this return carries this digest")

    def _step_not_revoked(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        case_id = self._case_of_return(ctx)
        opened = self.view.case_opened(case_id)
        if opened is None:
            raise CheckFailed("the return's case is not open on ReturnLedger")
        header = CaseHeader(
            case_id,
            opened["originArea"],
            opened["platform"],
            opened["releaseTime"],
            opened["lineCount"],
            opened["recordDigest"],
            tuple(opened["pieces"]),
        )
        origin_code = self.view.member_info(opened["originArea"]).customs_code
        info = self.view.root(origin_code, opened["assessmentRoot"])
        if info is None:
            raise CheckFailed("the case's assessment root is not anchored")
        ctx["opened"] = opened
        return "the case's tax record: " + self._not_revoked(info, header.leaf())

    def _case_of_return(self, ctx: dict[str, Any]) -> bytes:
        if "return_id" not in ctx:
            raise CheckFailed("no return id in the evidence")
        record = self.view.return_record(ctx["return_id"])
        if record.state == ReturnState.NONE:
            raise CheckFailed("the return is unknown on ReturnLedger")
        return record.case_id

    def _step_issuer(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        opened = ctx.get("opened")
        if opened is None or "event" not in ctx:
            raise CheckFailed("the step is not anchored, so its issuer cannot be named")
        record = self.view.return_record(ctx["return_id"])
        if doc.doc_type == "return_application":
            signer = ctx["event"][1]["signer"]
            if self.view.member_of_account(signer) != opened["platform"]:
                raise CheckFailed("the signer is no longer an account of the case's platform")
            return self._active(opened["platform"], MemberKind.PLATFORM, "platform")
        if doc.doc_type in ("arrival", "inspection_report"):
            centre = self.view.customs_member(record.centre_code)
            return self._active(centre, MemberKind.CUSTOMS, "return centre")
        return self._active(opened["originArea"], MemberKind.CUSTOMS, "origin area")

    def _step_state(self, doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        if "return_id" not in ctx:
            raise CheckFailed("no return id in the evidence")
        record = self.view.return_record(ctx["return_id"])
        state, applied = record.state, record.line_mask
        values = doc.values()
        lines = revealed_lines(values)
        if doc.doc_type == "settlement":
            return self._settlement_state(doc, ctx, state, values, lines)
        if state < _STATE_AFTER[doc.doc_type]:
            raise CheckFailed(f"the return is only {state.name.lower()} on ReturnLedger")
        if doc.doc_type == "return_application":
            check_lines(lines, applied, "the return", "is not in the return on ReturnLedger")
        if doc.doc_type == "inspection_report":
            event = ctx.get("event")
            if event is None or event[0] != "InspectionRecorded":
                raise CheckFailed("no InspectionRecorded event carries this digest")
            gnums = check_lines(
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
                    raise CheckFailed(f"line {index}'s result is revealed without its gnum")
                on_ledger = "accepted" if accepted >> (gnum - 1) & 1 else "rejected"
                if line["result"] != on_ledger:
                    raise CheckFailed(
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
            raise CheckFailed("no LinesSettled event carries this digest")
        if len(events) > 1:
            raise CheckFailed(
                f"{len(events)} LinesSettled events carry this digest; "
                "a settlement document belongs to one"
            )
        event = events[0]
        check_lines(
            lines,
            event["lineMask"],
            "its LinesSettled event",
            "is not settled by this document's LinesSettled event",
        )
        kind = values.get("/kind")
        on_ledger = _SETTLEMENT_KINDS.get(event["kind"], f"kind {event['kind']}")
        if kind is not None and kind != on_ledger:
            raise CheckFailed(f"the document says {kind}, its LinesSettled event {on_ledger}")
        return (
            f"return {state.name.lower()}; revealed lines and kind match the LinesSettled event "
            "carrying this digest"
        )


def _unknown_type(doc_type: str) -> Any:
    def fail(doc: DisclosedDocument, ctx: dict[str, Any]) -> str:
        raise CheckFailed(f"unknown document type {doc_type!r}")

    return fail


__all__ = ["STEP_EVENTS", "Verifier"]
