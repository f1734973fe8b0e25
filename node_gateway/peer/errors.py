"""Refusals of the peer API (problem+json codes)."""

from __future__ import annotations

from node_gateway.api.problems import DomainError


class BadPeerRequest(DomainError):
    """422: the signed request is malformed."""

    status = 422
    code = "bad_peer_request"
    title = "Bad peer request"


class BadPeerSignature(DomainError):
    """401: the signature is malformed or not by an account of the requester."""

    status = 401
    code = "bad_peer_signature"
    title = "Bad peer signature"


class StaleRequest(DomainError):
    """401: the request's timestamp is outside the freshness window."""

    status = 401
    code = "stale_request"
    title = "Stale request"


class ReplayedRequest(DomainError):
    """409: the request's nonce was already used."""

    status = 409
    code = "replayed_request"
    title = "Replayed request"


class NotActiveMember(DomainError):
    """403: the requester is not an active member."""

    status = 403
    code = "not_active_member"
    title = "Not an active member"


class NotInvolved(DomainError):
    """403: the requester plays no role on this case or return."""

    status = 403
    code = "not_involved"
    title = "Not involved"


class PolicyDenied(DomainError):
    """403: the disclosure policy gives this role nothing of this document type."""

    status = 403
    code = "policy_denied"
    title = "Policy denies"


class PeerUnavailable(DomainError):
    """502: another member's gateway could not be reached or answered something unusable."""

    status = 502
    code = "peer_unavailable"
    title = "Peer unavailable"


class PeerRateLimited(DomainError):
    """429: the requester has asked about this subject too often for now; the `Retry-After`
    header and `retryAfter` say how many whole seconds to wait."""

    status = 429
    code = "peer_rate_limited"
    title = "Too many peer requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retryAfter=retry_after)
        self.headers["Retry-After"] = str(retry_after)
