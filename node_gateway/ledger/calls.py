"""The contract call behind each outbox kind.

Outbox payloads are plain JSON (hex strings for bytes); `Calls.build` turns one into the
contract function it stands for, so the outbox never holds anything web3-specific and a
payload can be re-built identically after a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractFunction

from clients.bindings import Contracts
from clients.errors import LedgerError
from node_gateway.outbox_kinds import OutboxKind

# One outbox kind: its payload -> the contract function it stands for.
Builder = Callable[[dict[str, Any]], ContractFunction]


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _address(value: str) -> str:
    return str(Web3.to_checksum_address(value))


def _ints(values: list[Any]) -> list[int]:
    return [int(n) for n in values]


def _proof(items: list[str]) -> list[bytes]:
    return [_b(x) for x in items]


# Outbox `propose` payloads by their "kind": the Consortium function and its arguments.
_PROPOSALS: dict[str, Callable[[Any, dict[str, Any]], ContractFunction]] = {
    "admission": lambda cs, p: cs.proposeAdmission(
        _b(p["memberId"]),
        int(p["memberKind"]),
        int(p["customsCode"]),
        _address(p["account"]),
        _b(p["encryptionKey"]),
        str(p["gatewayUrl"]),
        _b(p["registration"]),
    ),
    "suspension": lambda cs, p: cs.proposeSuspension(_b(p["memberId"])),
    "reinstatement": lambda cs, p: cs.proposeReinstatement(_b(p["memberId"])),
    "account-addition": lambda cs, p: cs.proposeAccountAddition(
        _b(p["memberId"]), _address(p["account"]), _b(p["possession"])
    ),
    "account-removal": lambda cs, p: cs.proposeAccountRemoval(
        _b(p["memberId"]), _address(p["account"])
    ),
    "parameter": lambda cs, p: cs.proposeParameter(_b(p["key"]), int(p["value"])),
    "threshold": lambda cs, p: cs.proposeThreshold(int(p["value"])),
}


def _application(a: dict[str, Any]) -> tuple[Any, ...]:
    return (
        _b(a["returnId"]),
        _b(a["caseId"]),
        _b(a["originArea"]),
        int(a["lineMask"]),
        _ints(a["pieces"]),
        _b(a["applicationDigest"]),
        _b(a["returnCentre"]),
        int(a["deadline"]),
    )


def _header(h: dict[str, Any]) -> tuple[Any, ...]:
    return (
        _b(h["caseId"]),
        _b(h["originArea"]),
        _b(h["platform"]),
        int(h["releaseTime"]),
        int(h["lineCount"]),
        _ints(h["pieces"]),
        _b(h["recordDigest"]),
    )


def _settlement(p: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments settleNotLevied and settleRefunded share."""
    return (
        _b(p["returnId"]),
        int(p["lineMask"]),
        _ints(p["pieces"]),
        _b(p["digest"]),
        bool(p["quotaAdjusted"]),
    )


def _payment(p: dict[str, Any]) -> tuple[Any, ...]:
    return (_b(p["root"]), _b(p["paymentDigest"]), _proof(p["proof"]))


def _return_ledger_calls(rl: Any) -> dict[OutboxKind, Builder]:
    """The ReturnLedger kinds: a case's application, arrival, inspection and settlement."""
    return {
        OutboxKind.OPEN_AND_APPLY: lambda p: rl.openCaseAndApply(
            _header(p["header"]),
            _b(p["root"]),
            _proof(p["proof"]),
            _application(p["application"]),
            _b(p["signature"]),
        ),
        OutboxKind.APPLY: lambda p: rl.applyForReturn(
            _application(p["application"]), _b(p["signature"])
        ),
        OutboxKind.ARRIVAL: lambda p: rl.recordArrival(_b(p["returnId"]), _b(p["digest"])),
        OutboxKind.INSPECTION: lambda p: rl.recordInspection(
            _b(p["returnId"]), int(p["acceptedMask"]), _ints(p["acceptedPieces"]), _b(p["digest"])
        ),
        OutboxKind.RECOGNITION: lambda p: rl.recordRecognition(_b(p["returnId"]), _b(p["digest"])),
        OutboxKind.DISPUTE: lambda p: rl.recordDispute(_b(p["returnId"]), _b(p["digest"])),
        OutboxKind.SETTLE_NOT_LEVIED: lambda p: rl.settleNotLevied(*_settlement(p)),
        OutboxKind.DISCLOSE: lambda p: rl.logDisclosure(
            _b(p["caseId"]),
            _b(p["requesterCommitment"]),
            _b(p["documentDigest"]),
            _b(p["digest"]),
        ),
        OutboxKind.SETTLE_REFUNDED: lambda p: rl.settleRefunded(
            *_settlement(p), _payment(p["payment"])
        ),
    }


class Calls:
    """The outbox kinds one area's contracts take, and the call each payload stands for."""

    def __init__(self, contracts: Contracts) -> None:
        ta = contracts.tax_anchor.functions
        cs = contracts.consortium.functions
        self._builders: dict[OutboxKind, Builder] = {
            OutboxKind.ANCHOR: lambda p: ta.anchor(
                _b(p["root"]), int(p["kind"]), int(p["leafCount"])
            ),
            **_return_ledger_calls(contracts.return_ledger.functions),
            OutboxKind.PROPOSE: lambda p: _PROPOSALS[p["kind"]](cs, p),
            OutboxKind.VOTE: lambda p: cs.vote(int(p["proposalId"])),
        }

    def kinds(self) -> frozenset[OutboxKind]:
        """The outbox kinds this ledger can send."""
        return frozenset(self._builders)

    def build(self, kind: str, payload: dict[str, Any]) -> ContractFunction:
        """The contract function an outbox row stands for."""
        try:
            return self._builders[OutboxKind(kind)](payload)
        except (KeyError, ValueError) as exc:
            raise LedgerError(f"outbox row of unknown kind or malformed payload: {exc}") from exc
