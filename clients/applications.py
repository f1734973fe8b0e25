"""A return enterprise's side of a return application: commit the application record, sign
the EIP-712 terms with its own key, and assemble the body the return centre's gateway takes
(`POST /v1/returns`). The private key (raw, or an account unlocked from a keystore) never
leaves the caller."""

from __future__ import annotations

import secrets
from typing import Any

from clients.commitments.document import commit
from clients.records import ReturnApplication, canonical
from clients.records.lines import mask_and_pieces
from clients.signing import ReturnApplicationTerms, Signer, sign_return_application


def _b(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def new_return_id() -> str:
    """A fresh pseudonymous return id (random; not derivable from any document)."""
    return "0x" + secrets.token_hex(32)


def application_body(
    case: dict[str, Any],
    record: ReturnApplication,
    return_centre: str,
    signer: Signer,
    deadline: int,
    return_id: str | None = None,
) -> dict[str, Any]:
    """The request body of a return application.

    `case` is what the origin gateway serves at `GET /v1/cases/{caseId}/header` (header, root,
    proof, eip712 domain); `return_centre` the centre's member id (0x-hex); `signer` the
    return enterprise's raw key or unlocked keystore account (clients.keystore.load_account).
    """
    doc = canonical(record)
    committed = commit(doc)
    header = case["header"]
    rid = return_id or new_return_id()
    mask, pieces = mask_and_pieces({line.gnum: line.qty for line in record.lines})
    terms = ReturnApplicationTerms(
        return_id=_b(rid),
        case_id=_b(header["caseId"]),
        origin_area=_b(header["originArea"]),
        line_mask=mask,
        pieces=pieces,
        application_digest=committed.digest,
        return_centre=_b(return_centre),
        deadline=deadline,
    )
    domain = case["eip712"]
    signature = sign_return_application(
        terms, signer, int(domain["chainId"]), domain["verifyingContract"]
    )
    return {
        "header": header,
        "root": case["root"],
        "proof": case["proof"],
        "terms": {
            "returnId": rid,
            "caseId": header["caseId"],
            "originArea": header["originArea"],
            "lineMask": mask,
            "pieces": list(pieces),
            "applicationDigest": "0x" + committed.digest.hex(),
            "returnCentre": return_centre,
            "deadline": deadline,
        },
        "signature": "0x" + signature.hex(),
        "document": {"record": doc, "salts": {p: s.hex() for p, s in committed.salts.items()}},
    }
