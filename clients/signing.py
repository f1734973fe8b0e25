"""EIP-712 signing of return applications by return enterprises.

The typed data is byte-for-byte what ReturnLedger verifies on chain (domain "CrossReturn
ReturnLedger", version "1", the chain id and the ReturnLedger address), so a gateway that relays
an application can neither forge nor alter it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

DOMAIN_NAME = "CrossReturn ReturnLedger"
DOMAIN_VERSION = "1"
RETURN_APPLICATION_TYPE = [
    {"name": "returnId", "type": "bytes32"},
    {"name": "caseId", "type": "bytes32"},
    {"name": "originArea", "type": "bytes32"},
    {"name": "lineMask", "type": "uint128"},
    {"name": "pieces", "type": "uint32[]"},
    {"name": "applicationDigest", "type": "bytes32"},
    {"name": "returnCentre", "type": "bytes32"},
    {"name": "deadline", "type": "uint64"},
]

# Who signs: a raw private key (bytes or hex) or an unlocked account (clients.keystore).
Signer = bytes | str | LocalAccount


def typed_envelope(
    primary: str,
    fields: list[dict[str, str]],
    name: str,
    version: str,
    chain_id: int,
    verifying_contract: str,
) -> dict[str, Any]:
    """The EIP-712 `types`, `primaryType` and `domain` of a CrossReturn message (every one is
    bound to a chain and a contract); add `message` to sign it."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: fields,
        },
        "primaryType": primary,
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
    }


def line_mask(gnums: list[int] | tuple[int, ...] | set[int]) -> int:
    """The line mask of a set of line numbers (gnum 1..128 -> bit gnum-1)."""
    mask = 0
    for gnum in gnums:
        if not 1 <= gnum <= 128:
            raise ValueError(f"gnum must be 1..128, got {gnum}")
        mask |= 1 << (gnum - 1)
    return mask


def mask_and_pieces(counts: dict[int, int]) -> tuple[int, tuple[int, ...]]:
    """The line mask and the piece array (ascending gnum) of {gnum: pieces}."""
    gnums = sorted(counts)
    return line_mask(gnums), tuple(counts[g] for g in gnums)


def mask_lines(mask: int) -> list[int]:
    """The line numbers in a line mask, ascending."""
    return [bit + 1 for bit in range(mask.bit_length()) if mask >> bit & 1]


@dataclass(frozen=True)
class ReturnApplicationTerms:
    """The fields of ReturnLedger.ReturnApplication that the return enterprise signs.

    `origin_area` is the member id of the case's origin customs area (the `originArea` of the
    case header it anchored): the ledger refuses the application for a case with another origin.
    `pieces` are the pieces asked back of each line in `line_mask`, in ascending gnum order.
    """

    return_id: bytes
    case_id: bytes
    origin_area: bytes
    line_mask: int
    pieces: tuple[int, ...]
    application_digest: bytes
    return_centre: bytes
    deadline: int

    def as_tuple(self) -> tuple[bytes, bytes, bytes, int, list[int], bytes, bytes, int]:
        """The ABI tuple of ReturnLedger.ReturnApplication."""
        return (
            self.return_id,
            self.case_id,
            self.origin_area,
            self.line_mask,
            list(self.pieces),
            self.application_digest,
            self.return_centre,
            self.deadline,
        )

    def typed_data(self, chain_id: int, ledger_address: str) -> dict[str, Any]:
        """The full EIP-712 message for this application on one ReturnLedger."""
        return {
            **typed_envelope(
                "ReturnApplication",
                RETURN_APPLICATION_TYPE,
                DOMAIN_NAME,
                DOMAIN_VERSION,
                chain_id,
                ledger_address,
            ),
            "message": {
                "returnId": self.return_id,
                "caseId": self.case_id,
                "originArea": self.origin_area,
                "lineMask": self.line_mask,
                "pieces": list(self.pieces),
                "applicationDigest": self.application_digest,
                "returnCentre": self.return_centre,
                "deadline": self.deadline,
            },
        }


def sign_return_application(
    terms: ReturnApplicationTerms, signer: Signer, chain_id: int, ledger_address: str
) -> bytes:
    """The 65-byte signature (r || s || v) of a return enterprise's account over `terms`;
    `signer` is its raw private key or its unlocked keystore account."""
    return sign_typed(terms.typed_data(chain_id, ledger_address), signer)


def recover_applicant(
    terms: ReturnApplicationTerms, signature: bytes, chain_id: int, ledger_address: str
) -> str:
    """The account that signed `terms` (checksum address)."""
    return recover_typed(terms.typed_data(chain_id, ledger_address), signature)


def sign_typed(full_message: dict[str, Any], signer: Signer) -> bytes:
    """The 65-byte EIP-712 signature (r || s || v) of `signer` (a raw private key or an
    unlocked keystore account) over a full typed-data message."""
    message = encode_typed_data(full_message=full_message)
    if isinstance(signer, LocalAccount):
        signed = signer.sign_message(message)
    else:
        signed = Account.sign_message(message, signer)
    return bytes(signed.signature)


def recover_typed(full_message: dict[str, Any], signature: bytes) -> str:
    """The account that signed a full typed-data message (checksum address)."""
    message = encode_typed_data(full_message=full_message)
    return str(Account.recover_message(message, signature=signature))
