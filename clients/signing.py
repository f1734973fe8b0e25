"""EIP-712 signing of return applications by return enterprises.

The typed data is byte-for-byte what ReturnLedger verifies on chain (domain "CrossReturn
ReturnLedger", version "1", the chain id and the ReturnLedger address), so a gateway that relays
an application can neither forge nor alter it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from clients.records.lines import lines_of, mask_of

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

# Kept for existing callers: the line mask helpers live in clients.records.lines.

# Who signs: a raw private key (bytes or hex) or an unlocked account (clients.keystore).
Signer = bytes | str | LocalAccount


def typed_envelope(
    primary: str,
    fields: list[dict[str, str]],
    name: str,
    version: str,
    chain_id: int,
    verifying_contract: str,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The EIP-712 `types`, `primaryType` and `domain` of a CrossReturn message (every one is
    bound to a chain and a contract), with `message` when given: the full message to sign."""
    envelope: dict[str, Any] = {
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
    if message is not None:
        envelope["message"] = message
    return envelope


# ReturnLedger.ReturnApplication's fields in the contract's order: (Python name, contract name).
# The one list both spellings of the terms use (bytes here, 0x hex in the gateway's inputs).
RETURN_APPLICATION_FIELDS = (
    ("return_id", "returnId"),
    ("case_id", "caseId"),
    ("origin_area", "originArea"),
    ("line_mask", "lineMask"),
    ("pieces", "pieces"),
    ("application_digest", "applicationDigest"),
    ("return_centre", "returnCentre"),
    ("deadline", "deadline"),
)


def application_json(terms: Any) -> dict[str, Any]:
    """Return-application terms by their contract names, in the contract's order (pieces as a
    list); `terms` is any object with the fields of RETURN_APPLICATION_FIELDS."""
    out = {name: getattr(terms, attr) for attr, name in RETURN_APPLICATION_FIELDS}
    out["pieces"] = list(out["pieces"])
    return out


def application_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of return-application terms from their contract-named JSON
    (pieces as a tuple)."""
    out = {attr: data[name] for attr, name in RETURN_APPLICATION_FIELDS}
    out["pieces"] = tuple(out["pieces"])
    return out


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

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple of ReturnLedger.ReturnApplication."""
        return tuple(self.message().values())

    def message(self) -> dict[str, Any]:
        """The EIP-712 message: the fields by their contract names, in the contract's order."""
        return application_json(self)

    def typed_data(self, chain_id: int, ledger_address: str) -> dict[str, Any]:
        """The full EIP-712 message for this application on one ReturnLedger."""
        return typed_envelope(
            "ReturnApplication",
            RETURN_APPLICATION_TYPE,
            DOMAIN_NAME,
            DOMAIN_VERSION,
            chain_id,
            ledger_address,
            self.message(),
        )


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


__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "RETURN_APPLICATION_FIELDS",
    "RETURN_APPLICATION_TYPE",
    "application_fields",
    "application_json",
    "ReturnApplicationTerms",
    "Signer",
    "lines_of",
    "mask_of",
    "recover_applicant",
    "recover_typed",
    "sign_return_application",
    "sign_typed",
    "typed_envelope",
]
