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
return), so re-verifying thousands of documents costs few ledger calls. This package and
`clients.bindings` are the only places in clients/ that import web3.

Modules: result (the checks and their outcomes), ledger_view (LedgerView), anchors (the
evidence: building and reading it), revealed (revealed lines against a line mask), checks
(the Verifier).
"""

from clients.verify.anchors import (
    case_anchor,
    case_header_from_anchor,
    payment_anchor,
    return_anchor,
)
from clients.verify.checks import STEP_EVENTS, Verifier
from clients.verify.ledger_view import LedgerView, RootInfo
from clients.verify.result import CHECKS, Check, VerificationResult

__all__ = [
    "CHECKS",
    "STEP_EVENTS",
    "Check",
    "LedgerView",
    "RootInfo",
    "VerificationResult",
    "Verifier",
    "case_anchor",
    "case_header_from_anchor",
    "payment_anchor",
    "return_anchor",
]
