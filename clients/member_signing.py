"""EIP-712 messages by which a member controls its own signing accounts and profile.

The typed data is byte-for-byte what the Consortium verifies on chain (domain "CrossReturn
Consortium", version "1", the chain id and the Consortium address). A new account signs a
`MemberRegistration` (a member's first account) or an `AccountPossession` (any later one) to
prove it holds its key; an active account of the member signs an `AccountAddition`,
`AccountRemoval` or `ProfileUpdate` so that a gateway can relay the change but never make it.
Registration and possession proofs carry the new account's `possessionNonce`, authorisations
the member's `memberNonce`: a signature is good once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from clients.signing import Signer, recover_typed, sign_typed, typed_envelope

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "AccountAddition",
    "AccountPossession",
    "AccountRemoval",
    "MemberMessage",
    "MemberRegistration",
    "ProfileUpdate",
    "recover_member_signer",
    "sign_member_message",
]

DOMAIN_NAME = "CrossReturn Consortium"
DOMAIN_VERSION = "1"


def _fields(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "type": kind} for name, kind in pairs]


@dataclass(frozen=True)
class MemberMessage:
    """A Consortium EIP-712 message; subclasses name its type and fields."""

    PRIMARY: ClassVar[str] = ""
    FIELDS: ClassVar[list[dict[str, str]]] = []
    # Python attribute -> EIP-712 field name.
    NAMES: ClassVar[dict[str, str]] = {
        "member_id": "memberId",
        "account": "account",
        "encryption_key": "encryptionKey",
        "gateway_url": "gatewayUrl",
        "nonce": "nonce",
        "deadline": "deadline",
    }

    def typed_data(self, chain_id: int, consortium_address: str) -> dict[str, Any]:
        """The full EIP-712 message on one Consortium."""
        message = {self.NAMES[k]: v for k, v in asdict(self).items()}
        return typed_envelope(
            self.PRIMARY,
            self.FIELDS,
            DOMAIN_NAME,
            DOMAIN_VERSION,
            chain_id,
            consortium_address,
            message,
        )


@dataclass(frozen=True)
class MemberRegistration(MemberMessage):
    """A new member's first account accepts its registration and profile (signed by it)."""

    PRIMARY: ClassVar[str] = "MemberRegistration"
    FIELDS: ClassVar[list[dict[str, str]]] = _fields(
        ("memberId", "bytes32"),
        ("account", "address"),
        ("encryptionKey", "bytes"),
        ("gatewayUrl", "string"),
        ("nonce", "uint256"),
    )
    member_id: bytes
    account: str
    encryption_key: bytes
    gateway_url: str
    nonce: int


@dataclass(frozen=True)
class AccountPossession(MemberMessage):
    """A new account proves it holds its key, for one member (signed by that account)."""

    PRIMARY: ClassVar[str] = "AccountPossession"
    FIELDS: ClassVar[list[dict[str, str]]] = _fields(
        ("memberId", "bytes32"), ("account", "address"), ("nonce", "uint256")
    )
    member_id: bytes
    account: str
    nonce: int


@dataclass(frozen=True)
class AccountAddition(MemberMessage):
    """A member authorises a new signing account (signed by one of its active accounts)."""

    PRIMARY: ClassVar[str] = "AccountAddition"
    FIELDS: ClassVar[list[dict[str, str]]] = _fields(
        ("memberId", "bytes32"),
        ("account", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    )
    member_id: bytes
    account: str
    nonce: int
    deadline: int


@dataclass(frozen=True)
class AccountRemoval(MemberMessage):
    """A member authorises removing one of its accounts (signed by one of its active accounts)."""

    PRIMARY: ClassVar[str] = "AccountRemoval"
    FIELDS: ClassVar[list[dict[str, str]]] = AccountAddition.FIELDS
    member_id: bytes
    account: str
    nonce: int
    deadline: int


@dataclass(frozen=True)
class ProfileUpdate(MemberMessage):
    """A member authorises a new encryption key and gateway URL (signed by an active account)."""

    PRIMARY: ClassVar[str] = "ProfileUpdate"
    FIELDS: ClassVar[list[dict[str, str]]] = _fields(
        ("memberId", "bytes32"),
        ("encryptionKey", "bytes"),
        ("gatewayUrl", "string"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    )
    member_id: bytes
    encryption_key: bytes
    gateway_url: str
    nonce: int
    deadline: int


def sign_member_message(
    message: MemberMessage, signer: Signer, chain_id: int, consortium_address: str
) -> bytes:
    """The 65-byte signature (r || s || v) of `signer` (a raw private key or an unlocked
    keystore account) over a Consortium message."""
    return sign_typed(message.typed_data(chain_id, consortium_address), signer)


def recover_member_signer(
    message: MemberMessage, signature: bytes, chain_id: int, consortium_address: str
) -> str:
    """The account that signed a Consortium message (checksum address)."""
    return recover_typed(message.typed_data(chain_id, consortium_address), signature)
