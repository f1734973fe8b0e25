"""Applications bound to their case (DESIGN §3): an application's list, order, platform, agent,
lines, goods and pieces must be the origin's declaration of the case.

The rules live here once, in `mismatches`: the return centre applies them before it relays an
application (`check_before_relay`, with the declaration its origin disclosed for the signed
application, node_gateway.peer.declarations), the origin again before it recognises
(`recheck`, against its own tax assessment). Each problem carries a stable code and a JSON
pointer into the application record (`/lines/0/gcode`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clients.commitments.document import DisclosedDocument
from clients.records import TaxAssessment
from clients.records.lines import lines_of
from node_gateway.errors import (
    DeclarationMismatch,
    GatewayError,
    OriginRefused,
    OriginUnavailable,
    PeerUnavailable,
)
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services.context import AreaContext
from node_gateway.services.inputs import ReturnApplication
from node_gateway.store import declarations, index, outbox

TAIL_BLOCKS = 64  # beyond this lag, ask the contract rather than read the blocks' logs
RETRY_AFTER_S = 30  # how long a platform waits before retrying while the origin is away
# The head fields of an application that must be the declaration's, and their problem codes.
HEAD = (
    ("invtNo", "invt_no_mismatch"),
    ("orderNo", "order_no_mismatch"),
    ("ebpCode", "ebp_code_mismatch"),
    ("agentCode", "agent_code_mismatch"),
)
LINE_FIELDS = ("gnum", "gcode", "gname", "qty")
# What an origin discloses to bind an application to its case, and nothing else.
BINDING_FIELDS = frozenset({"/docType", *(f"/{key}" for key, _ in HEAD)})
# Peer codes after which asking again later may work (the rest are refusals).
RETRYABLE_PEER_CODES = frozenset({"stale_request", "replayed_request", "rate_limited"})


def is_binding_path(path: str) -> bool:
    """Whether a tax-assessment field is one the return centre needs to bind an application."""
    if path in BINDING_FIELDS:
        return True
    parts = path.split("/")
    return (
        len(parts) == 4 and parts[1] == "lines" and parts[2].isdigit() and (parts[3] in LINE_FIELDS)
    )


@dataclass(frozen=True)
class DeclaredLine:
    """A goods line as declared: HS code, name and pieces."""

    gcode: str
    gname: str
    qty: int


@dataclass(frozen=True)
class Declaration:
    """What an application is bound to: the case's list, order, platform, agent and lines."""

    invt_no: str
    order_no: str
    ebp_code: str
    agent_code: str
    lines: dict[int, DeclaredLine]

    def declared(self) -> dict[int, int]:
        """gnum -> pieces declared."""
        return {gnum: line.qty for gnum, line in self.lines.items()}

    @classmethod
    def of_assessment(cls, tax: TaxAssessment) -> Declaration:
        """The declaration in an origin's own tax assessment."""
        return cls(
            tax.invt_no,
            tax.order_no,
            tax.ebp_code,
            tax.agent_code,
            {line.gnum: DeclaredLine(line.gcode, line.gname, line.qty) for line in tax.lines},
        )

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> Declaration:
        """From the binding fields of a tax assessment (canonical keys: as disclosed, as
        cached); ValueError naming what is missing."""
        try:
            lines = {
                int(line["gnum"]): DeclaredLine(
                    str(line["gcode"]), str(line["gname"]), int(line["qty"])
                )
                for _, line in _indexed(data["lines"])
            }
            if not lines:
                raise ValueError("lines")
            return cls(
                str(data["invtNo"]),
                str(data["orderNo"]),
                str(data["ebpCode"]),
                str(data["agentCode"]),
                lines,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the declaration lacks {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        """The binding fields under canonical keys (what `of_json` reads)."""
        return {
            "invtNo": self.invt_no,
            "orderNo": self.order_no,
            "ebpCode": self.ebp_code,
            "agentCode": self.agent_code,
            "lines": [
                {"gnum": g, "gcode": x.gcode, "gname": x.gname, "qty": x.qty}
                for g, x in sorted(self.lines.items())
            ],
        }


@dataclass(frozen=True)
class Mismatch:
    """One way an application is not bound to its case."""

    code: str
    pointer: str
    detail: str

    def to_json(self) -> dict[str, str]:
        """As an item of a problem's `errors` (RFC 9457 style)."""
        return {"code": self.code, "pointer": self.pointer, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.pointer} {self.code}: {self.detail}"


def _same_name(given: str, declared: str) -> bool:
    return " ".join(given.split()) == " ".join(declared.split())


def mismatches(
    application: Mapping[str, Any], declaration: Declaration, remaining: Mapping[int, int]
) -> list[Mismatch]:
    """Every way `application` (a canonical return application) differs from `declaration`,
    given `remaining`: gnum -> pieces of the line still returnable."""
    found: list[Mismatch] = []
    for key, code in HEAD:
        given, declared = application.get(key), getattr(declaration, _snake(key))
        if given != declared:
            found.append(Mismatch(code, f"/{key}", f"{key} {given} is not the case's {declared}"))
    for i, line in _indexed(application.get("lines")):
        gnum, at = line.get("gnum"), f"/lines/{i}"
        if not isinstance(gnum, int) or gnum not in declaration.lines:
            found.append(
                Mismatch(
                    "undeclared_line",
                    f"{at}/gnum",
                    f"line {gnum} is not declared in {declaration.invt_no}",
                )
            )
            continue
        declared_line = declaration.lines[gnum]
        gcode, gname, qty = line.get("gcode"), line.get("gname"), line.get("qty")
        if gcode is not None and gcode != declared_line.gcode:
            found.append(
                Mismatch(
                    "gcode_mismatch",
                    f"{at}/gcode",
                    f"line {gnum}: HS code {gcode} is not the declared {declared_line.gcode}",
                )
            )
        if gname is not None and not _same_name(str(gname), declared_line.gname):
            found.append(
                Mismatch(
                    "gname_mismatch",
                    f"{at}/gname",
                    f"line {gnum}: goods {gname!r} are not the declared {declared_line.gname!r}",
                )
            )
        left = remaining.get(gnum, 0)
        if not isinstance(qty, int) or qty > left:
            found.append(
                Mismatch(
                    "qty_exceeds_remaining",
                    f"{at}/qty",
                    f"line {gnum}: {qty} pieces asked back, {left} of the "
                    f"{declared_line.qty} declared left",
                )
            )
    return found


def _indexed(lines: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, line) of a record's lines: a list, or the index-keyed object a partial
    disclosure rebuilds (DisclosedDocument.nested)."""
    if isinstance(lines, Mapping):
        pairs = [(int(k), v) for k, v in lines.items() if str(k).isdigit()]
        return sorted(((i, v) for i, v in pairs if isinstance(v, Mapping)), key=lambda p: p[0])
    if isinstance(lines, list):
        return [(i, v) for i, v in enumerate(lines) if isinstance(v, Mapping)]
    return []


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


# ---------------------------------------------------------------------- return centre


def pieces_left(
    ctx: AreaContext, conn: sqlite3.Connection, case_id: str, declaration: Declaration
) -> dict[int, int]:
    """gnum -> pieces of the case's lines still returnable: declared, less the pieces applied
    on the ledger (every return centre's) and those of this gateway's applications still on
    their way there."""
    left = declaration.declared()
    on_ledger = case_pieces(ctx, conn, case_id)
    applied = on_ledger[1] if on_ledger is not None else []
    in_flight = pieces_in_flight(conn, case_id)
    for gnum in left:
        used = (applied[gnum - 1] if gnum <= len(applied) else 0) + in_flight.get(gnum, 0)
        left[gnum] = max(0, left[gnum] - used)
    return left


def case_pieces(
    ctx: AreaContext, conn: sqlite3.Connection, case_id: str
) -> tuple[list[int], list[int]] | None:
    """The declared and applied pieces of lines 1..n of a case on the ledger, None when the
    case is not open: the index, plus the events of the few blocks it has not read yet (a cheap
    log read), or the contract itself when the index is far behind."""
    pieces = index.case_pieces(conn, case_id)
    indexed, head = index.checkpoint(conn), ctx.ledger.head_block()
    if indexed >= head:
        return pieces
    if head - indexed > TAIL_BLOCKS:
        return ctx.ledger.case_pieces(bytes.fromhex(case_id[2:]))
    for ev in ctx.ledger.events(indexed + 1, head):
        args = ev["args"]
        if "caseId" not in args or "0x" + bytes(args["caseId"]).hex() != case_id:
            continue
        if ev["event"] == "CaseOpened":
            declared = [int(n) for n in args["pieces"]]
            pieces = (declared, [0] * len(declared))
        elif ev["event"] == "ReturnApplied" and pieces is not None:
            for gnum, n in zip(lines_of(int(args["lineMask"])), args["pieces"], strict=True):
                pieces[1][gnum - 1] += int(n)
    return pieces


def pieces_in_flight(conn: sqlite3.Connection, case_id: str) -> dict[int, int]:
    """{gnum: pieces} of the case in applications this gateway accepted but has not yet sent."""
    total: dict[int, int] = {}
    for payload in outbox.open_payloads(
        conn, (OutboxKind.APPLY, OutboxKind.OPEN_AND_APPLY), application_case=case_id
    ):
        application = payload["application"]
        lines = lines_of(int(application["lineMask"]))
        for gnum, n in zip(lines, application["pieces"], strict=True):
            total[gnum] = total.get(gnum, 0) + int(n)
    return total


def _fetch(ctx: AreaContext, body: ReturnApplication) -> DisclosedDocument:
    """Ask the case's origin for its declaration on the authority of the signed application."""
    t, h = body.terms, body.header
    if ctx.peer is None:
        raise OriginUnavailable(
            "this gateway has no peer transport to ask the case's origin", RETRY_AFTER_S
        )
    application = body.application.to_json()
    origin = bytes.fromhex(h.origin_area[2:])
    try:
        disclosure = ctx.peer.fetch_declaration(origin, t.case_id.lower(), application)
    except PeerUnavailable as exc:
        status, code = exc.extra.get("peerStatus"), exc.extra.get("peerCode")
        if status is not None and status < 500 and code not in RETRYABLE_PEER_CODES:
            raise OriginRefused(
                f"the origin refused to disclose the declaration: {exc.detail}", peerCode=code
            ) from exc
        raise OriginUnavailable(
            f"the case's origin cannot be asked for its declaration now: {exc.detail}",
            RETRY_AFTER_S,
        ) from exc
    docs = disclosure.documents
    doc = docs[0] if len(docs) == 1 else None
    if doc is None or "0x" + doc.digest.hex() != h.record_digest.lower():
        raise OriginRefused("the origin disclosed no declaration with the header's digest")
    if doc.compute_digest() != doc.digest:
        raise OriginRefused("the disclosed declaration does not hash to its digest")
    return doc


def declaration_for(
    ctx: AreaContext, conn: sqlite3.Connection, body: ReturnApplication
) -> Declaration:
    """The case's declaration: cached here, or disclosed by its origin (then cached)."""
    case_id, digest = body.terms.case_id.lower(), body.header.record_digest.lower()
    cached = declarations.get(conn, ctx.keyring, case_id, digest)
    if cached is not None:
        return Declaration.of_json(cached)
    doc = _fetch(ctx, body)
    try:
        declaration = Declaration.of_json(doc.nested())
    except ValueError as exc:
        raise OriginRefused(f"the origin's disclosure cannot bind an application: {exc}") from exc
    declarations.put(conn, ctx.keyring, case_id, digest, declaration.to_json())
    return declaration


def prefetch(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    body: ReturnApplication,
    local_checks: Callable[[], object],
) -> None:
    """Ask the case's origin for its declaration (and cache it) before the application's write
    transaction begins, so that a slow or unreachable origin never holds this gateway's write
    lock (the peer call may take its whole timeout). Only for an application that passes every
    check this gateway makes by itself (`local_checks`, e.g. returns.check_application: no
    disclosure for an application refused anyway); 503 `origin_unavailable` while the origin
    cannot be asked. Any other refusal is left to `returns.apply`, which answers it (or replays
    the first answer of a repeated Idempotency-Key)."""
    if conn.in_transaction:
        return
    try:
        local_checks()
    except GatewayError:
        return
    try:
        declaration_for(ctx, conn, body)
    except OriginUnavailable:
        raise
    except GatewayError:
        return


def check_before_relay(
    ctx: AreaContext, conn: sqlite3.Connection, body: ReturnApplication, doc: dict[str, Any]
) -> None:
    """The return centre's check: `doc` (the canonical application) is bound to its case, or
    DeclarationMismatch lists why; OriginUnavailable (503) while the origin cannot be asked."""
    declaration = declaration_for(ctx, conn, body)
    remaining = pieces_left(ctx, conn, body.terms.case_id.lower(), declaration)
    found = mismatches(doc, declaration, remaining)
    if found:
        shown = "; ".join(str(m) for m in found[:3])
        raise DeclarationMismatch(
            f"{len(found)} problem(s): {shown}", errors=[m.to_json() for m in found]
        )


# ---------------------------------------------------------------------- origin


def recheck(application: DisclosedDocument | None, tax: TaxAssessment) -> list[str]:
    """The origin's re-check of a relayed application (as the return centre disclosed it)
    against its own tax assessment: the dispute reasons, empty when it is bound. An absent or
    altered application is reported by the caller."""
    if application is None or application.compute_digest() != application.digest:
        return []
    declaration = Declaration.of_assessment(tax)
    found = mismatches(application.nested(), declaration, declaration.declared())
    return [f"application {m}" for m in found]
