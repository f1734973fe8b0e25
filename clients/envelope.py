"""HPKE envelopes (RFC 9180, from `cryptography`) for disclosures sent between members.

A member registers one encryption public key on the Consortium, tagged with its suite:

- `0x01 || X25519 public key (32 bytes)` — DHKEM(X25519), HKDF-SHA256, AES-256-GCM;
- `0x02 || ML-KEM-768 public key (1184) || X25519 public key (32)` — the post-quantum hybrid
  KEM ML-KEM-768+X25519, HKDF-SHA256, AES-256-GCM.

A sender encrypts with the hybrid suite when the recipient registered a hybrid key and the
sender supports it, X25519 otherwise. `info` binds the envelope to its context (protocol, request
id, requester, case), so an envelope cannot be replayed into another exchange.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)

from clients.errors import CrossReturnError

X25519_TAG = 0x01
HYBRID_TAG = 0x02
SUITES = {
    "x25519": Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM),
    "mlkem768-x25519": Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM),
}
_MLKEM_PUBLIC = 1184


class EnvelopeError(CrossReturnError):
    """An envelope cannot be opened (tampered, wrong key, wrong context) or a key is malformed."""


@dataclass(frozen=True)
class EncryptionKeys:
    """A member's encryption key pair (X25519, plus ML-KEM-768 for the hybrid suite)."""

    x25519: x25519.X25519PrivateKey
    mlkem: mlkem.MLKEM768PrivateKey | None = None

    @classmethod
    def generate(cls, hybrid: bool = True) -> EncryptionKeys:
        """Fresh keys; `hybrid` adds ML-KEM-768."""
        pq = mlkem.MLKEM768PrivateKey.generate() if hybrid else None
        return cls(x25519.X25519PrivateKey.generate(), pq)

    def public_bytes(self) -> bytes:
        """The tagged public key a member registers on the Consortium."""
        x = self.x25519.public_key().public_bytes_raw()
        if self.mlkem is None:
            return bytes([X25519_TAG]) + x
        return bytes([HYBRID_TAG]) + self.mlkem.public_key().public_bytes_raw() + x

    def private_bytes(self) -> bytes:
        """The private keys for the member's own key file (tag || x25519 || mlkem seed)."""
        x = self.x25519.private_bytes_raw()
        if self.mlkem is None:
            return bytes([X25519_TAG]) + x
        return bytes([HYBRID_TAG]) + x + self.mlkem.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, data: bytes) -> EncryptionKeys:
        """Keys from `private_bytes`."""
        try:
            x = x25519.X25519PrivateKey.from_private_bytes(data[1:33])
            if data[0] == X25519_TAG and len(data) == 33:
                return cls(x)
            if data[0] == HYBRID_TAG and len(data) == 33 + 64:
                return cls(x, mlkem.MLKEM768PrivateKey.from_seed_bytes(data[33:]))
        except (ValueError, IndexError) as exc:
            raise EnvelopeError(f"malformed private key file: {exc}") from exc
        raise EnvelopeError("malformed private key file: unknown tag or length")


def _recipient(public: bytes, hybrid_ok: bool) -> tuple[str, Any]:
    if len(public) == 33 and public[0] == X25519_TAG:
        return "x25519", x25519.X25519PublicKey.from_public_bytes(public[1:])
    if len(public) == 1 + _MLKEM_PUBLIC + 32 and public[0] == HYBRID_TAG:
        x = x25519.X25519PublicKey.from_public_bytes(public[1 + _MLKEM_PUBLIC :])
        if not hybrid_ok:
            return "x25519", x
        pq = mlkem.MLKEM768PublicKey.from_public_bytes(public[1 : 1 + _MLKEM_PUBLIC])
        return "mlkem768-x25519", MLKEM768X25519PublicKey(pq, x)
    raise EnvelopeError("the recipient's registered encryption key is malformed")


def seal(
    plaintext: bytes, recipient_public: bytes, info: bytes, hybrid_ok: bool = True
) -> dict[str, str]:
    """Encrypt to a member's registered key: {"suite", "ciphertext" (base64)}."""
    suite_name, public = _recipient(recipient_public, hybrid_ok)
    ciphertext = SUITES[suite_name].encrypt(plaintext, public, info=info)
    return {"suite": suite_name, "ciphertext": base64.b64encode(ciphertext).decode()}


def open_envelope(envelope: dict[str, Any], keys: EncryptionKeys, info: bytes) -> bytes:
    """Decrypt an envelope addressed to `keys`; EnvelopeError on any tampering or mismatch."""
    suite_name = envelope.get("suite")
    if suite_name not in SUITES:
        raise EnvelopeError(f"unknown suite {suite_name!r}")
    try:
        ciphertext = base64.b64decode(str(envelope.get("ciphertext", "")), validate=True)
    except ValueError as exc:
        raise EnvelopeError("ciphertext is not base64") from exc
    private: Any = keys.x25519
    if suite_name == "mlkem768-x25519":
        if keys.mlkem is None:
            raise EnvelopeError("hybrid envelope but no ML-KEM key here")
        private = MLKEM768X25519PrivateKey(keys.mlkem, keys.x25519)
    try:
        return bytes(SUITES[suite_name].decrypt(ciphertext, private, info=info))
    except (InvalidTag, ValueError) as exc:
        raise EnvelopeError(
            "envelope cannot be opened: tampered, wrong key or wrong context"
        ) from exc
