"""The auditor's own checks: trace a case or a return, report a period, verify a disclosed
document — each against the ledger read through the auditor's own connection, never on a
gateway's word.

Ledger facts (events, roots, members) come from a JSON-RPC ledger node (in production the
auditor's own node; on an embedded ledger a gateway's read-only front of it). Documents and
the amounts in them come from the gateways of the areas holding them (their URLs as each
area registered on the ledger), with the auditor's API key there, disclosed per the auditor
policy — and count only once the auditor's own verifier has checked them against the ledger.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from clients import audit
from clients.bindings import (
    ARRIVAL_WINDOW,
    MemberKind,
    attach_contracts,
    ledger_errors,
    rpc_web3,
)
from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.errors import ApiError, GatewayUnreachable, InputFileError
from clients.http import GatewayClient
from clients.verify import LedgerView, VerificationResult, Verifier

P = ParamSpec("P")
R = TypeVar("R")


def _reads_ledger(fn: Callable[Concatenate[Auditor, P], R]) -> Callable[Concatenate[Auditor, P], R]:
    """Run an Auditor method with ledger read errors turned into LedgerError."""

    def wrapper(self: Auditor, *args: P.args, **kwargs: P.kwargs) -> R:
        with ledger_errors(self.where):
            return fn(self, *args, **kwargs)

    return functools.update_wrapper(wrapper, fn)  # type: ignore[return-value]


def _b(hex_id: str) -> bytes:
    return bytes.fromhex(hex_id.removeprefix("0x"))


@dataclass
class Obtained:
    """A document the auditor obtained from a gateway, with its own verification of it."""

    source: str  # "customs 3100" …
    document: DisclosedDocument
    result: VerificationResult

    def to_json(self) -> dict[str, Any]:
        """Digest, type, source and every check."""
        return {
            "digest": "0x" + self.document.digest.hex(),
            "docType": self.document.doc_type,
            "source": self.source,
            **self.result.to_json(),
        }


@dataclass
class Auditor:
    """An auditor's session: one pinned view of the ledger, API keys per customs area."""

    view: LedgerView
    keys: Mapping[str, str]  # customs code -> the auditor's API key at that area's gateway
    urls: Mapping[str, str] = field(default_factory=dict)  # customs code -> URL (overrides)
    connect: Callable[[str, str], GatewayClient] = GatewayClient
    where: str = "the ledger node"
    _clients: dict[str, GatewayClient | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # documents that could not be obtained

    @classmethod
    def over_rpc(
        cls,
        rpc_url: str,
        addresses: dict[str, str],
        keys: Mapping[str, str],
        rpc_key: str | None = None,
        urls: Mapping[str, str] | None = None,
    ) -> Auditor:
        """An auditor reading the ledger at `rpc_url` (pinned to its current head)."""
        with ledger_errors(rpc_url):
            view = LedgerView(attach_contracts(rpc_web3(rpc_url, rpc_key), addresses))
        return cls(view, keys, dict(urls or {}), where=rpc_url)

    def close(self) -> None:
        """Close every gateway connection."""
        for client in self._clients.values():
            if client is not None:
                client.close()

    # ------------------------------------------------------------------ who is who

    @_reads_ledger
    def chain_id(self) -> int:
        """The chain id the ledger node reports."""
        return self.view.chain_id()

    def code_of(self, member_hex: str) -> str:
        """A customs area's code ('' for other members)."""
        kind, _, code = self.view.member(_b(member_hex))
        return f"{code:04d}" if kind == MemberKind.CUSTOMS else ""

    def labels(self, members: set[str]) -> dict[str, str]:
        """Readable names of members (customs areas by code)."""
        out = {}
        for m in members:
            if len(m) == 66:
                kind, _, code = self.view.member(_b(m))
                if kind == MemberKind.CUSTOMS:
                    out[m] = f"customs {code:04d}"
                elif kind != MemberKind.NONE:
                    out[m] = f"{kind.name.lower()} {m[:10]}…"
        return out

    def gateway(self, code: str) -> GatewayClient | None:
        """A client of area `code`'s gateway with the auditor's key there (None without one)."""
        if code not in self._clients:
            key = self.keys.get(code)
            url = self.urls.get(code) or self.view.gateway_url(self.view.customs_member(int(code)))
            self._clients[code] = self.connect(url, key) if key and url else None
        return self._clients[code]

    # ------------------------------------------------------------------ documents

    @_reads_ledger
    def verify(self, document: DisclosedDocument) -> VerificationResult:
        """The auditor's own verification of a disclosed document against the ledger."""
        return Verifier(self.view).verify(document)

    def _obtain(
        self, code: str, fetch: Callable[[GatewayClient], list[dict[str, Any]]]
    ) -> list[Obtained]:
        client = self.gateway(code)
        if client is None:
            self.problems.append(f"no API key for customs {code}'s gateway")
            return []
        try:
            raw = fetch(client)
        except (ApiError, GatewayUnreachable) as exc:
            self.problems.append(f"customs {code}: {exc}")
            return []
        out = []
        for item in raw:
            try:
                doc = DisclosedDocument.from_json(item)
            except (CommitmentError, KeyError, TypeError, ValueError) as exc:
                self.problems.append(f"customs {code} sent an unreadable document: {exc}")
                continue
            out.append(Obtained(f"customs {code}", doc, self.verify(doc)))
        return out

    def case_documents(
        self, case_id: str, origin: str, return_ids: dict[str, str]
    ) -> list[Obtained]:
        """Every document of a case the auditor may see: the origin's tax assessment and
        step documents, the return centres' step documents (`return_ids`: id -> centre)."""

        def at_origin(g: GatewayClient) -> list[dict[str, Any]]:
            view = g.get_case(case_id)
            docs = [view["taxAssessment"]["document"]] if view.get("taxAssessment") else []
            for rid in return_ids:
                docs += [d["document"] for d in g.get_return(rid)["documents"]]
            return docs

        got = self._obtain(origin, at_origin)
        for centre in sorted(set(return_ids.values()) - {origin}):
            mine = [rid for rid, c in return_ids.items() if c == centre]
            got += self._obtain(
                centre,
                lambda g, mine=mine: [  # type: ignore[misc]
                    d["document"] for rid in mine for d in g.get_return(rid)["documents"]
                ],
            )
        return got

    # ------------------------------------------------------------------ trace

    @_reads_ledger
    def resolve(self, subject: str) -> str:
        """The case id of a case or return id (raises if the ledger knows neither)."""
        subject = subject.lower()
        if self.view.case_opened(_b(subject)) is not None:
            return subject
        for name, args in self.view.return_events(_b(subject)):
            if name == "ReturnApplied":
                return "0x" + bytes(args["caseId"]).hex()
        raise InputFileError(subject, "neither a case nor a return on the ledger")

    @_reads_ledger
    def trace(self, subject: str) -> dict[str, Any]:
        """A case's timeline from the ledger — each step with who, when, tx hash, block,
        digest — and whether the auditor obtained and verified that step's document."""
        case_id = self.resolve(subject)
        events = [e for e in self.view.events() if e["args"].get("caseId") == case_id]
        opened = next(e for e in events if e["event"] == "CaseOpened")["args"]
        origin = self.code_of(opened["originArea"])
        # RootAnchored(root indexed, areaCode indexed, …) of the case's batch, by its origin:
        # roots are per area, another area's anchoring of the same bytes is not the case's.
        anchoring = self.view.events(
            [None, str(opened["assessmentRoot"]), "0x" + int(origin or 0).to_bytes(32, "big").hex()]
        )
        anchoring = [e for e in anchoring if e["event"] == "RootAnchored"]
        centres = {
            e["args"]["returnId"]: self.code_of(e["args"]["returnCentre"])
            for e in events
            if e["event"] == "ReturnApplied"
        }
        obtained = self.case_documents(case_id, origin, centres)
        by_digest = {"0x" + o.document.digest.hex(): o for o in obtained}
        members = {str(opened["originArea"]), str(opened["platform"])}
        members |= {str(e["args"]["returnCentre"]) for e in events if e["event"] == "ReturnApplied"}
        steps = audit.timeline(events, self.labels(members), anchoring)
        for step in steps:
            if step.digest is None:
                continue
            got = by_digest.get(step.digest.lower())
            if got is None:
                step.verification = {"status": "not_obtained"}
            else:
                step.verification = {
                    "status": "verified" if got.result.ok else "failed",
                    "failed": [c.name for c in got.result.failed()],
                    "docType": got.document.doc_type,
                    "source": got.source,
                }
        statuses = [s.verification["status"] for s in steps if s.verification]
        return {
            "caseId": case_id,
            "originCode": origin,
            "ledgerBlock": self.view.block,
            "steps": [s.to_json() for s in steps],
            "documents": [o.to_json() for o in obtained],
            "summary": {k: statuses.count(k) for k in ("verified", "failed", "not_obtained")},
            "problems": list(self.problems),
        }

    # ------------------------------------------------------------------ report

    @_reads_ledger
    def report(
        self,
        from_ts: int,
        to_ts: int,
        area: str | None = None,
        recognition_days: int = audit.RECOGNITION_DAYS,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """clients.audit.report over the ledger's events, with the amounts of each case's tax
        assessment as disclosed by its origin and verified here; a case whose assessment
        could not be obtained or verified is counted without value (and listed)."""
        events = self.view.events()
        codes = {
            str(e["args"]["originArea"]): self.code_of(e["args"]["originArea"])
            for e in events
            if e["event"] == "CaseOpened"
        }
        scope = audit.report(events, {}, codes, from_ts, to_ts, self._now(), area)
        cases = sorted({c for t in scope["totals"] for c in t["cases"]})
        origin_of = {
            str(e["args"]["caseId"]): codes[str(e["args"]["originArea"])]
            for e in events
            if e["event"] == "CaseOpened"
        }
        values: dict[str, dict[int, audit.LineValue]] = {}
        unverified: list[dict[str, Any]] = []
        for i, case_id in enumerate(cases):
            got = self._obtain(
                origin_of[case_id],
                lambda g, c=case_id: [g.get_case(c)["taxAssessment"]["document"]],  # type: ignore[misc]
            )
            tax = [o for o in got if o.document.doc_type == "tax_assessment"]
            if tax and tax[0].result.ok:
                values[case_id] = audit.values_from_assessment(tax[0].document.values())
            else:
                failed = [c.name for o in tax for c in o.result.failed()]
                unverified.append({"caseId": case_id, "failed": failed or ["not_obtained"]})
            if progress is not None:
                progress(i + 1, len(cases))
        window = self.view.parameter(ARRIVAL_WINDOW)
        out = audit.report(
            events,
            values,
            codes,
            from_ts,
            to_ts,
            self._now(),
            area,
            arrival_window_days=max(1, int(window) // audit.DAY),
            recognition_days=recognition_days,
        )
        return {
            **out,
            "ledgerBlock": self.view.block,
            "valuesVerified": len(values),
            "valuesUnverified": unverified,
            "problems": list(self.problems),
        }

    def _now(self) -> int:
        return self.view.block_time(self.view.block)


def load_document(data: Any, path: str) -> DisclosedDocument:
    """A disclosed document from parsed JSON: the document itself, or an API answer holding
    it under `document` (a view's item or a case's tax assessment)."""
    if isinstance(data, dict) and "document" in data and isinstance(data["document"], dict):
        data = data["document"]
    try:
        return DisclosedDocument.from_json(data)
    except (CommitmentError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(path, f"not a disclosed document: {exc}") from exc


__all__ = ["Auditor", "Obtained", "load_document"]
