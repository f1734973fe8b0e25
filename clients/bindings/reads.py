"""Typed reads of the contracts' structs: each view's answer decoded by the component NAMES in
the artifact's ABI into a frozen dataclass, never by position.

A dataclass names the view it decodes (`VIEW`); its fields are the ABI's names in snake_case.
If the ABI and the dataclass ever disagree on the names, decoding raises LedgerError instead
of handing out a shifted field.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar, get_type_hints

from web3.types import BlockIdentifier

from clients.bindings.artifacts import Contracts, load_artifact
from clients.bindings.enums import (
    BatchKind,
    MemberKind,
    MemberStatus,
    ProposalKind,
    ReturnState,
)
from clients.errors import LedgerError

S = TypeVar("S", bound="LedgerStruct")
_CONTRACT_ATTRS = {
    "Consortium": "consortium",
    "TaxAnchor": "tax_anchor",
    "ReturnLedger": "return_ledger",
}


def snake_case(name: str) -> str:
    """An ABI name in Python's spelling (`customsCode` -> `customs_code`)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def output_names(contract: str, function: str) -> tuple[str, ...]:
    """The names of a view's outputs, or of its one struct's components, from the ABI."""
    for item in load_artifact(contract).abi:
        if item["type"] == "function" and item["name"] == function:
            outputs = item["outputs"]
            if len(outputs) == 1 and outputs[0]["type"] == "tuple":
                outputs = outputs[0]["components"]
            return tuple(str(o["name"]) for o in outputs)
    raise LedgerError(f"{contract} has no function {function}")


@dataclass(frozen=True)
class LedgerStruct:
    """A view's answer with named, typed fields; subclasses set `VIEW`."""

    VIEW: ClassVar[tuple[str, str]] = ("", "")  # (contract, function)

    @classmethod
    def decode(cls: type[S], raw: Any) -> S:
        """Decode the raw answer of `VIEW` (a tuple in ABI order) by the ABI's names."""
        names = tuple(snake_case(n) for n in output_names(*cls.VIEW))
        mine = tuple(f.name for f in fields(cls))
        if set(names) != set(mine):
            raise LedgerError(f"{cls.__name__} does not match the ABI of {'.'.join(cls.VIEW)}")
        hints = _hints(cls)
        values = dict(zip(names, raw, strict=True))
        return cls(**{name: hints[name](values[name]) for name in mine})


def _hints(cls: type[LedgerStruct]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


_HINTS: dict[type[LedgerStruct], dict[str, Any]] = {}


def read(cls: type[S], contracts: Contracts, *args: Any, block: BlockIdentifier | None = None) -> S:
    """Call `cls.VIEW` with `args` (at `block`, default the latest) and decode its answer."""
    contract = getattr(contracts, _CONTRACT_ATTRS[cls.VIEW[0]])
    fn = contract.functions[cls.VIEW[1]](*args)
    return cls.decode(fn.call(block_identifier="latest" if block is None else block))


@dataclass(frozen=True)
class MemberInfo(LedgerStruct):
    """Consortium.memberInfo: a member's kind, status and customs code."""

    VIEW: ClassVar[tuple[str, str]] = ("Consortium", "memberInfo")
    kind: MemberKind
    status: MemberStatus
    customs_code: int


@dataclass(frozen=True)
class AccountInfo(LedgerStruct):
    """Consortium.accountInfo: the member an account signs for, and that member's info."""

    VIEW: ClassVar[tuple[str, str]] = ("Consortium", "accountInfo")
    member_id: bytes
    kind: MemberKind
    status: MemberStatus
    customs_code: int


@dataclass(frozen=True)
class MemberRecord(LedgerStruct):
    """Consortium.getMember: a member as stored."""

    VIEW: ClassVar[tuple[str, str]] = ("Consortium", "getMember")
    kind: MemberKind
    status: MemberStatus
    customs_code: int
    account_count: int
    suspended_by_vote: bool
    sponsor: bytes
    encryption_key: bytes
    gateway_url: str


@dataclass(frozen=True)
class ProposalRecord(LedgerStruct):
    """Consortium.getProposal: a governance proposal as stored."""

    VIEW: ClassVar[tuple[str, str]] = ("Consortium", "getProposal")
    kind: ProposalKind
    member_kind: MemberKind
    customs_code: int
    executed: bool
    expires_at: int
    proposer: bytes
    member_id: bytes
    account: str
    key: bytes
    value: int
    encryption_key: bytes
    gateway_url: str


@dataclass(frozen=True)
class RootRecord(LedgerStruct):
    """TaxAnchor.getRoot: a batch root as the area that anchored it stored it (kind NONE if
    that area never did)."""

    VIEW: ClassVar[tuple[str, str]] = ("TaxAnchor", "getRoot")
    kind: BatchKind
    leaf_count: int
    anchored_at: int
    revoked_reason: int


@dataclass(frozen=True)
class CaseRecord(LedgerStruct):
    """ReturnLedger.getCase: an open case (line count 0 if none)."""

    VIEW: ClassVar[tuple[str, str]] = ("ReturnLedger", "getCase")
    platform: bytes
    origin_code: int
    release_time: int
    line_count: int
    return_count: int
    applied_mask: int


@dataclass(frozen=True)
class ReturnRecord(LedgerStruct):
    """ReturnLedger.getReturn: a return as stored (state NONE if unknown)."""

    VIEW: ClassVar[tuple[str, str]] = ("ReturnLedger", "getReturn")
    case_id: bytes
    line_mask: int
    accepted_mask: int
    settled_mask: int
    state: ReturnState
    late: bool
    applied_at: int
    arrived_at: int
    centre_code: int


__all__ = [
    "AccountInfo",
    "CaseRecord",
    "LedgerStruct",
    "MemberInfo",
    "MemberRecord",
    "ProposalRecord",
    "ReturnRecord",
    "RootRecord",
    "output_names",
    "read",
    "snake_case",
]
