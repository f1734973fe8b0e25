"""Every refusal the gateway reports, in one place: one root, `GatewayError`, whose subclasses
each carry a stable problem `code` and an HTTP `status`.

Services, the peer protocol and the API raise these; `api/problems.py` only turns them into
RFC 9457 problem+json answers, and `problem_codes()` is the registry from which the OpenAPI
document lists the codes. Nothing here imports the HTTP layer.
"""

from __future__ import annotations

from typing import Any, ClassVar

_REGISTRY: dict[str, type[GatewayError]] = {}


class GatewayError(Exception):
    """A refusal reported as a problem: subclasses set `status`, `code` and `title`; `extra`
    become members of the problem, `headers` headers of the answer (e.g. Retry-After)."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = _REGISTRY.get(cls.code)
        if known is not None and known is not cls and "code" in vars(cls):
            raise TypeError(f"problem code {cls.code!r} is already {known.__name__}'s")
        if "code" in vars(cls):
            _REGISTRY[cls.code] = cls

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


class RetryLater(GatewayError):
    """A refusal that says when to ask again: the `Retry-After` header and `retryAfter`."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retryAfter=retry_after)
        self.headers["Retry-After"] = str(retry_after)


class GatewayFault(GatewayError):
    """A fault of this gateway itself (its store, its configuration, its journal), not of the
    request: answered as a 500 `internal_error` that names no internals, and logged."""

    status = 500
    code = "internal_error"
    title = "Internal error"


def problem_codes() -> dict[str, type[GatewayError]]:
    """Every problem code the gateway's own errors use, with its class."""
    return dict(sorted(_REGISTRY.items()))


# ------------------------------------------------------------ authentication and roles


class Unauthenticated(GatewayError):
    """401: no valid API key."""

    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(GatewayError):
    """403: the key's role may not use this route."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


# ------------------------------------------------------------ membership


class MemberSuspended(GatewayError):
    """403: the key's member is suspended by the consortium."""

    status = 403
    code = "member_suspended"
    title = "Member suspended"


class HolderSuspended(GatewayError):
    """403: this gateway's own area is suspended; it cannot log a disclosure, so gives none."""

    status = 403
    code = "holder_suspended"
    title = "Holder suspended"


# ------------------------------------------------------------ records, returns, governance


class NotFound(GatewayError):
    """404: no such case, return, record or operation (or not visible to the caller)."""

    status = 404
    code = "not_found"
    title = "Not found"


class InvalidRecord(GatewayError):
    """422: a record fails its schema; `errors` lists each field path and rule."""

    status = 422
    code = "invalid_record"
    title = "Invalid record"


class WrongArea(GatewayError):
    """422: the record or step belongs to another customs area than this gateway's."""

    status = 422
    code = "wrong_area"
    title = "Wrong customs area"


class DuplicateRecord(GatewayError):
    """409: this area already holds a tax record for the inventory list."""

    status = 409
    code = "duplicate_record"
    title = "Duplicate record"


class StepOutOfOrder(GatewayError):
    """409: the return is not in the state this step needs."""

    status = 409
    code = "step_out_of_order"
    title = "Step out of order"


class StepInProgress(GatewayError):
    """409: an earlier write for this return is still on its way to the ledger."""

    status = 409
    code = "step_in_progress"
    title = "Step in progress"


class WindowClosed(GatewayError):
    """409: a rule window (application, arrival) has passed."""

    status = 409
    code = "window_closed"
    title = "Window closed"


class LinesMismatch(GatewayError):
    """422: the lines of a document do not match the lines the step may cover."""

    status = 422
    code = "lines_mismatch"
    title = "Lines do not match"


class BadSignature(GatewayError):
    """422: the return enterprise's signature is malformed, foreign or does not match."""

    status = 422
    code = "bad_signature"
    title = "Bad signature"


class DigestMismatch(GatewayError):
    """422: a committed document does not hash to the digest it claims."""

    status = 422
    code = "digest_mismatch"
    title = "Digest mismatch"


class NotAnchored(GatewayError):
    """409: the tax record's batch is not anchored on the ledger (yet)."""

    status = 409
    code = "not_anchored"
    title = "Not anchored"


class UnknownMember(GatewayError):
    """422: a member id that is not an active member of the needed kind."""

    status = 422
    code = "unknown_member"
    title = "Unknown member"


class IdempotencyKeyReused(GatewayError):
    """422: an Idempotency-Key sent again with a different request."""

    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class TooManyRecords(GatewayError):
    """413: a bulk request above the configured maximum."""

    status = 413
    code = "too_many_records"
    title = "Too many records"


class RateLimited(RetryLater):
    """429: the API key has spent its requests for now (services/rate_limit.py); the
    `Retry-After` header and `retryAfter` say how many whole seconds to wait."""

    status = 429
    code = "rate_limited"
    title = "Too many requests"


class LedgerUnavailable(GatewayError):
    """503: the ledger cannot be read right now; retry later."""

    status = 503
    code = "ledger_unavailable"
    title = "Ledger unavailable"


class NotSupported(GatewayError):
    """422: a request this gateway cannot serve (with why)."""

    status = 422
    code = "not_supported"
    title = "Not supported"


class CaseMismatch(GatewayError):
    """422: the parts of a return application do not name the same case, origin or lines."""

    status = 422
    code = "case_mismatch"
    title = "Case mismatch"


class DuplicateReturn(GatewayError):
    """409: a return with this id exists (or is on its way to the ledger)."""

    status = 409
    code = "duplicate_return"
    title = "Duplicate return"


class SettlementMismatch(GatewayError):
    """422: a settlement's amounts are not the pro-rata share of the case's assessed tax and
    value for its pieces (so a refund can never exceed what was paid)."""

    status = 422
    code = "settlement_amount_mismatch"
    title = "Settlement amounts mismatch"


class RefundExceedsPayment(GatewayError):
    """422: the case's refunds would exceed the tax its withholding agent paid (a bill paid
    at its head total may be a few fen below the lines' sum that settlement follows)."""

    status = 422
    code = "refund_exceeds_payment"
    title = "Refund exceeds the payment"


class PiecesExceedDeclared(GatewayError):
    """409: a line is asked for more pieces than its declared quantity has left after the
    case's other returns (applied on the ledger or on their way there)."""

    status = 409
    code = "pieces_exceed_declared"
    title = "Pieces exceed what is left"


class NotYourReturn(GatewayError):
    """403: this area (or caller) does not play the role this step needs on the return."""

    status = 403
    code = "not_responsible"
    title = "Not responsible"


class UnknownInventoryList(GatewayError):
    """422: a payment names an inventory list this area holds no tax record for."""

    status = 422
    code = "unknown_inventory_list"
    title = "Unknown inventory list"


class DuplicatePayment(GatewayError):
    """409: a case's tax is already recorded as paid."""

    status = 409
    code = "duplicate_payment"
    title = "Duplicate payment"


class PaymentMismatch(GatewayError):
    """422: a payment item does not pay what its inventory list was assessed, or is paid by
    another agent than the list's withholding agent."""

    status = 422
    code = "payment_mismatch"
    title = "Payment does not match the assessment"


class SettlementKindMismatch(GatewayError):
    """409: refunded needs an anchored payment of the case; not_levied needs none."""

    status = 409
    code = "settlement_kind_mismatch"
    title = "Settlement kind does not match the payment"


class UnknownProposal(GatewayError):
    """404: no governance proposal with this id on the Consortium."""

    status = 404
    code = "unknown_proposal"
    title = "Unknown proposal"


class ProposalClosed(GatewayError):
    """409: the proposal was executed or has expired; it takes no more votes."""

    status = 409
    code = "proposal_closed"
    title = "Proposal closed"


class AlreadyVoted(GatewayError):
    """409: this area approved the proposal already (or its vote is on its way)."""

    status = 409
    code = "already_voted"
    title = "Already voted"


class NotGoverning(GatewayError):
    """409: this area is not an active customs area now, so it may not propose or vote."""

    status = 409
    code = "not_governing"
    title = "Not a governing member"


class InvalidProposal(GatewayError):
    """422: the proposal's values break the Consortium's rules (ranges, codes, accounts);
    `rule` names the contract's check."""

    status = 422
    code = "invalid_proposal"
    title = "Invalid proposal"


class ProposalConflict(GatewayError):
    """409: the proposal (or the vote that would execute it) does not fit the Consortium as it
    stands: the member already has that status, the account or customs code is taken, ...;
    `rule` names the contract's check."""

    status = 409
    code = "proposal_conflict"
    title = "Proposal conflicts with the Consortium's state"


class DeclarationMismatch(GatewayError):
    """422: the application is not bound to its case: its list, order, platform, agent, lines,
    goods or pieces differ from the origin's declaration; `errors` lists each problem with its
    own `code` and a `pointer` into the application record (services/binding.py)."""

    status = 422
    code = "declaration_mismatch"
    title = "Application does not match the declaration"


class OriginUnavailable(RetryLater):
    """503: the case's origin could not be asked for its declaration; nothing was written,
    retry after `Retry-After` seconds (also `retryAfter`)."""

    status = 503
    code = "origin_unavailable"
    title = "Origin unavailable"


class OriginRefused(GatewayError):
    """422: the case's origin refused to disclose its declaration for this application
    (`peerCode` says why: e.g. not its case, not signed by the case's platform, expired)."""

    status = 422
    code = "origin_refused"
    title = "Origin refused"


# ------------------------------------------------------------ the peer protocol


class BadPeerRequest(GatewayError):
    """422: the signed request is malformed."""

    status = 422
    code = "bad_peer_request"
    title = "Bad peer request"


class BadPeerSignature(GatewayError):
    """401: the signature is malformed or not by an account of the requester."""

    status = 401
    code = "bad_peer_signature"
    title = "Bad peer signature"


class StaleRequest(GatewayError):
    """401: the request's timestamp is outside the freshness window."""

    status = 401
    code = "stale_request"
    title = "Stale request"


class ReplayedRequest(GatewayError):
    """409: the request's nonce was already used."""

    status = 409
    code = "replayed_request"
    title = "Replayed request"


class NotActiveMember(GatewayError):
    """403: the requester is not an active member."""

    status = 403
    code = "not_active_member"
    title = "Not an active member"


class NotInvolved(GatewayError):
    """403: the requester plays no role on this case or return."""

    status = 403
    code = "not_involved"
    title = "Not involved"


class PolicyDenied(GatewayError):
    """403: the disclosure policy gives this role nothing of this document type."""

    status = 403
    code = "policy_denied"
    title = "Policy denies"


class PeerUnavailable(GatewayError):
    """502: another member's gateway could not be reached or answered something unusable."""

    status = 502
    code = "peer_unavailable"
    title = "Peer unavailable"


class PeerRateLimited(RetryLater):
    """429: the requester has asked about this subject too often for now; the `Retry-After`
    header and `retryAfter` say how many whole seconds to wait."""

    status = 429
    code = "peer_rate_limited"
    title = "Too many peer requests"
