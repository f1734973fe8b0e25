"""The gateway-to-gateway disclosure protocol, requester side and shared definitions.

A requester signs a `DisclosureRequest` (EIP-712, domain "CrossReturn Peer" bound to the
chain and the Consortium contract) with one of its member's registered signing accounts:
who asks (`requester`), whom (`holder`), about what (`subject`: a return id, or a case id for
the tax assessment), which document type, when (`timestamp`, seconds) and a fresh `nonce`.
The holder answers with an HPKE envelope (clients.envelope) addressed to the requester's
registered encryption key; its plaintext is JSON `{"documents": [disclosed documents]}`, bound
by the envelope's `info` to this very request, and `digest` = keccak256(plaintext) is what the
holder logs on ReturnLedger's disclosure log, once per document the answer covered, naming the
requester only by `requester_commitment(requester, salt)`; the answer carries the salt, so
holder and requester can both show an auditor who saw what, and other members cannot.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data

from clients.commitments.keccak import keccak256
from clients.signing import typed_envelope

DOMAIN_NAME = "CrossReturn Peer"
DOMAIN_VERSION = "1"
MAX_SKEW_S = 120  # a request older or newer than this is stale

REQUEST_TYPE = [
    {"name": "requester", "type": "bytes32"},
    {"name": "holder", "type": "bytes32"},
    {"name": "subject", "type": "bytes32"},
    {"name": "docType", "type": "string"},
    {"name": "timestamp", "type": "uint64"},
    {"name": "nonce", "type": "bytes32"},
]


# Each field has exactly one spelling: a signed request decodes to bytes, and anything keyed by
# its text (the replay store, the disclosure log) must not see the same bytes spelt twice.
HEX32 = re.compile(r"0x[0-9a-f]{64}")
SIGNATURE = re.compile(r"0x[0-9a-f]{130}")
DOC_TYPE = re.compile(r"[a-z][a-z_]{0,63}")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TIMESTAMP_LIMIT = 2**64  # uint64 in the EIP-712 type
HEX_FIELDS = ("requester", "holder", "subject", "nonce")
JSON_FIELDS = frozenset({"requester", "holder", "subject", "docType", "timestamp", "nonce"})


def _b(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def parse_signature(signature: Any) -> bytes:
    """The 65 bytes of a request signature given as lowercase 0x-hex, in its one canonical
    form: v 27 or 28 and a low s (EIP-2), as eth-account signs (ValueError otherwise)."""
    if not isinstance(signature, str) or not SIGNATURE.fullmatch(signature):
        raise ValueError("signature must be 65 bytes of lowercase 0x-hex")
    raw = _b(signature)
    if raw[64] not in (27, 28) or not 0 < int.from_bytes(raw[32:64], "big") <= SECP256K1_N // 2:
        raise ValueError("signature must be canonical: v 27 or 28 and s in the lower half (EIP-2)")
    return raw


@dataclass(frozen=True)
class DisclosureRequest:
    """What a requester asks a holder for: ids as lowercase 0x-hex of 32 bytes, the only
    spelling accepted (ValueError naming the field otherwise)."""

    requester: str
    holder: str
    subject: str
    doc_type: str
    timestamp: int
    nonce: str

    def __post_init__(self) -> None:
        for name in HEX_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str) or not HEX32.fullmatch(value):
                raise ValueError(f"{name} must be 32 bytes of lowercase 0x-hex")
        if not isinstance(self.doc_type, str) or not DOC_TYPE.fullmatch(self.doc_type):
            raise ValueError("docType must be 1 to 64 characters of a-z and _")
        # bool is an int subclass, and a float (1e400, NaN) is no uint64.
        if type(self.timestamp) is not int or not 0 <= self.timestamp < TIMESTAMP_LIMIT:
            raise ValueError("timestamp must be an integer from 0 to 2**64 - 1")

    @property
    def requester_id(self) -> bytes:
        """The requester's member id."""
        return _b(self.requester)

    @property
    def holder_id(self) -> bytes:
        """The holder's member id."""
        return _b(self.holder)

    @property
    def subject_id(self) -> bytes:
        """The return id (or case id) asked about."""
        return _b(self.subject)

    @property
    def nonce_bytes(self) -> bytes:
        """The request's nonce."""
        return _b(self.nonce)

    @classmethod
    def new(cls, requester: str, holder: str, subject: str, doc_type: str) -> DisclosureRequest:
        """A request stamped now with a fresh nonce."""
        return cls(
            requester.lower(),
            holder.lower(),
            subject.lower(),
            doc_type,
            int(time.time()),
            "0x" + secrets.token_hex(32),
        )

    def to_json(self) -> dict[str, Any]:
        """The request as sent."""
        return {
            "requester": self.requester,
            "holder": self.holder,
            "subject": self.subject,
            "docType": self.doc_type,
            "timestamp": self.timestamp,
            "nonce": self.nonce,
        }

    @classmethod
    def from_json(cls, data: Any) -> DisclosureRequest:
        """Parse a request as sent, converting nothing (ValueError naming the field)."""
        if not isinstance(data, dict):
            raise ValueError("request must be a JSON object")
        missing = sorted(JSON_FIELDS - data.keys())
        if missing:
            raise ValueError(f"request lacks {', '.join(missing)}")
        unknown = sorted(str(k) for k in data.keys() - JSON_FIELDS)
        if unknown:
            raise ValueError(f"request has unknown fields {', '.join(unknown)}")
        return cls(
            data["requester"],
            data["holder"],
            data["subject"],
            data["docType"],
            data["timestamp"],
            data["nonce"],
        )

    def typed_data(self, chain_id: int, consortium: str) -> dict[str, Any]:
        """The EIP-712 message."""
        return typed_envelope(
            "DisclosureRequest",
            REQUEST_TYPE,
            DOMAIN_NAME,
            DOMAIN_VERSION,
            chain_id,
            consortium,
            {
                "requester": self.requester_id,
                "holder": self.holder_id,
                "subject": self.subject_id,
                "docType": self.doc_type,
                "timestamp": self.timestamp,
                "nonce": self.nonce_bytes,
            },
        )

    def message(self, chain_id: int, consortium: str) -> SignableMessage:
        """The EIP-712 message to sign."""
        return encode_typed_data(full_message=self.typed_data(chain_id, consortium))

    def sign(self, private_key: bytes | str, chain_id: int, consortium: str) -> str:
        """The requester account's signature (0x-hex)."""
        message = self.message(chain_id, consortium)
        return "0x" + bytes(Account.sign_message(message, private_key).signature).hex()

    def signer(self, signature: str, chain_id: int, consortium: str) -> str:
        """The account that signed (raises ValueError on a malformed signature)."""
        raw = parse_signature(signature)
        message = encode_typed_data(full_message=self.typed_data(chain_id, consortium))
        return str(Account.recover_message(message, signature=raw))

    def envelope_info(self) -> bytes:
        """The HPKE `info` binding an answer to this request."""
        return b"|".join(
            [
                b"crossreturn.peer.v1",
                self.requester_id,
                self.holder_id,
                self.subject_id,
                self.doc_type.encode(),
                self.nonce_bytes,
            ]
        )


def disclosure_digest(plaintext: bytes) -> str:
    """The digest a holder logs for an answer."""
    return "0x" + keccak256(plaintext).hex()


def requester_commitment(requester: str, salt: bytes) -> str:
    """keccak256(abi.encode(requester, salt)): how the ledger's disclosure log names a requester
    (`requester` a 0x-hex member id, `salt` 32 random bytes the holder chose)."""
    member = _b(requester.lower())
    if len(member) != 32 or len(salt) != 32:
        raise ValueError("a requester and its salt are 32 bytes each")
    return "0x" + keccak256(member + salt).hex()


def answer_plaintext(documents: list[dict[str, Any]]) -> bytes:
    """The canonical plaintext of an answer."""
    return json.dumps({"documents": documents}, sort_keys=True, separators=(",", ":")).encode()
