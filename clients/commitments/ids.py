"""Pseudonymous case and return ids (DESIGN §3).

case id   = HMAC-SHA256(secret, JCS(["crossreturn.case.v1", customsCode, invtNo]))
return id = HMAC-SHA256(secret, JCS(["crossreturn.return.v1", customsCode, invtNo, applicationNo]))

The case id is computed by the origin area with a secret only it holds, so nobody can derive
it from an inventory list number (which is not secret); the return id by whoever numbers
return applications (the return enterprise or its gateway) with its own secret. Both are 32
bytes and are the only ids that reach the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import json

MIN_SECRET_BYTES = 32


def _hmac(secret: bytes, parts: list[str]) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"an id secret must have at least {MIN_SECRET_BYTES} bytes")
    message = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def case_id(secret: bytes, customs_code: str, invt_no: str) -> bytes:
    """The pseudonymous id of the case of an inventory list."""
    return _hmac(secret, ["crossreturn.case.v1", customs_code, invt_no])


def return_id(secret: bytes, customs_code: str, invt_no: str, application_no: str) -> bytes:
    """The pseudonymous id of one return application of an inventory list."""
    return _hmac(secret, ["crossreturn.return.v1", customs_code, invt_no, application_no])
