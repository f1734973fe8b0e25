"""The gateway-to-gateway disclosure protocol, requester side and shared definitions.

A requester signs a `DisclosureRequest` (EIP-712, domain "CrossReturn Peer" bound to the
chain and the Consortium contract) with one of its member's registered signing accounts:
who asks (`requester`), whom (`holder`), about what (`subject`: a return id, or a case id for
the tax assessment), which document type, when (`timestamp`, seconds) and a fresh `nonce`.
The holder answers with an HPKE envelope (clients.envelope) addressed to the requester's
registered encryption key; its plaintext is JSON `{"documents": [disclosed documents]}`, bound
by the envelope's `info` to this very request, and `digest` = keccak256(plaintext) is what the
holder logs on ReturnLedger's disclosure log.
"""

from __future__ import annotations

import json
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


def _b(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


@dataclass(frozen=True)
class DisclosureRequest:
    """What a requester asks a holder for (all ids 0x-hex)."""

    requester: str
    holder: str
    subject: str
    doc_type: str
    timestamp: int
    nonce: str

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
    def from_json(cls, data: dict[str, Any]) -> DisclosureRequest:
        """Parse a request (KeyError/ValueError on a malformed one)."""
        return cls(
            str(data["requester"]).lower(),
            str(data["holder"]).lower(),
            str(data["subject"]).lower(),
            str(data["docType"]),
            int(data["timestamp"]),
            str(data["nonce"]).lower(),
        )

    def typed_data(self, chain_id: int, consortium: str) -> dict[str, Any]:
        """The EIP-712 message."""
        return {
            **typed_envelope(
                "DisclosureRequest",
                REQUEST_TYPE,
                DOMAIN_NAME,
                DOMAIN_VERSION,
                chain_id,
                consortium,
            ),
            "message": {
                "requester": _b(self.requester),
                "holder": _b(self.holder),
                "subject": _b(self.subject),
                "docType": self.doc_type,
                "timestamp": self.timestamp,
                "nonce": _b(self.nonce),
            },
        }

    def message(self, chain_id: int, consortium: str) -> SignableMessage:
        """The EIP-712 message to sign."""
        return encode_typed_data(full_message=self.typed_data(chain_id, consortium))

    def sign(self, private_key: bytes | str, chain_id: int, consortium: str) -> str:
        """The requester account's signature (0x-hex)."""
        message = self.message(chain_id, consortium)
        return "0x" + bytes(Account.sign_message(message, private_key).signature).hex()

    def signer(self, signature: str, chain_id: int, consortium: str) -> str:
        """The account that signed (raises ValueError on a malformed signature)."""
        message = encode_typed_data(full_message=self.typed_data(chain_id, consortium))
        return str(Account.recover_message(message, signature=_b(signature)))

    def envelope_info(self) -> bytes:
        """The HPKE `info` binding an answer to this request."""
        return b"|".join(
            [
                b"crossreturn.peer.v1",
                _b(self.requester),
                _b(self.holder),
                _b(self.subject),
                self.doc_type.encode(),
                _b(self.nonce),
            ]
        )


def disclosure_digest(plaintext: bytes) -> str:
    """The digest a holder logs for an answer."""
    return "0x" + keccak256(plaintext).hex()


def answer_plaintext(documents: list[dict[str, Any]]) -> bytes:
    """The canonical plaintext of an answer."""
    return json.dumps({"documents": documents}, sort_keys=True, separators=(",", ":")).encode()
