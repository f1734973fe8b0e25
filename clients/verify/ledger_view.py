"""LedgerView: the verifier's and the auditor's cached, typed reads of the three contracts,
pinned to one block for a consistent picture (per root, per area's revocations, per case and
per return), so re-verifying thousands of documents costs few ledger calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from clients.audit import jsonable
from clients.bindings import (
    AccountInfo,
    BatchKind,
    Contracts,
    MemberInfo,
    MemberKind,
    MemberRecord,
    MemberStatus,
    ReturnRecord,
    RootRecord,
    decode_log,
    event_record,
    event_topic,
    read,
)


@dataclass(frozen=True)
class RootInfo:
    """An anchored batch root as TaxAnchor stores it for the area that anchored it."""

    area_code: int
    kind: BatchKind
    leaf_count: int
    anchored_at: int
    revoked_reason: int


class LedgerView:
    """Cached reads of the three contracts, pinned to one block for a consistent picture."""

    def __init__(
        self,
        contracts: Contracts,
        block: int | None = None,
        log_source: Callable[[int, int], list[Any] | None] | None = None,
    ) -> None:
        self.c = contracts
        # Where logs come from: the node's eth_getLogs by default; a source that already holds
        # the chain's logs (the embedded ledger) may answer instead (None: ask the node).
        self._log_source = log_source
        self.w3: Web3 = contracts.w3
        self.block = block if block is not None else int(self.w3.eth.block_number)
        self._roots: dict[tuple[int, bytes], RootInfo | None] = {}
        self._revoked: dict[int, dict[bytes, int]] = {}
        self._members: dict[bytes, MemberInfo] = {}
        self._accounts: dict[str, bytes] = {}
        self._codes: dict[int, bytes] = {}
        self._cases: dict[bytes, dict[str, Any]] | None = None
        self._return_events: dict[bytes, list[tuple[str, dict[str, Any]]]] = {}
        self._returns: dict[bytes, ReturnRecord] = {}
        self._times: dict[int, int] = {}
        self._raw_logs: list[Any] | None = None

    def _logs(self, address: str, topics: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        held = self._log_source(0, self.block) if self._log_source is not None else None
        if held is not None:
            wanted = to_checksum_address(address)
            matching = [
                log
                for log in held
                if to_checksum_address(log["address"]) == wanted and _topics_match(log, topics)
            ]
            decoded_held = (decode_log(self.c, log) for log in matching)
            return [d for d in decoded_held if d is not None]
        logs = self.w3.eth.get_logs(
            {
                "address": to_checksum_address(address),
                "fromBlock": 0,
                "toBlock": self.block,
                "topics": topics,
            }
        )
        decoded = (decode_log(self.c, log) for log in logs)
        return [d for d in decoded if d is not None]

    def events(self, topics: list[Any] | None = None) -> list[dict[str, Any]]:
        """Every CrossReturn event up to the pinned block (optionally filtered by topics), as
        event records in ledger order: block, logIndex, txHash, contract, event, args (0x-hex,
        with the block's time as `blockTime`) — the shape clients.audit reads."""
        if self._raw_logs is None:
            held = self._log_source(0, self.block) if self._log_source is not None else None
            if held is None:
                held = self.w3.eth.get_logs(
                    {
                        "address": list(self.c.addresses().values()),  # type: ignore[typeddict-item]
                        "fromBlock": 0,
                        "toBlock": self.block,
                    }
                )
            self._raw_logs = list(held)
        records = []
        for log in self._raw_logs:
            if topics is not None and not _topics_match(log, topics):
                continue
            record = event_record(self.c, log)
            if record is not None:
                records.append(record)
        self._load_block_times({r["block"] for r in records})
        out = [
            {**r, "args": {**jsonable(r["args"]), "blockTime": self._times[r["block"]]}}
            for r in records
        ]
        return sorted(out, key=lambda e: (e["block"], e["logIndex"]))

    def _load_block_times(self, numbers: set[int]) -> None:
        missing = sorted(n for n in numbers if n not in self._times)
        for start in range(0, len(missing), 100):  # batched: one round trip per 100 blocks
            chunk = missing[start : start + 100]
            with self.w3.batch_requests() as batch:
                for n in chunk:
                    batch.add(self.w3.eth.get_block(n))
                blocks = batch.execute()
            for n, block in zip(chunk, blocks, strict=True):
                self._times[n] = int(block["timestamp"])  # type: ignore[typeddict-item]

    def block_time(self, number: int) -> int:
        """A block's timestamp (cached)."""
        if number not in self._times:
            self._times[number] = int(self.w3.eth.get_block(number)["timestamp"])
        return self._times[number]

    def root(self, area_code: int, root: bytes) -> RootInfo | None:
        """A root's record as the customs area `area_code` anchored it, or None when that area
        never did (roots are per area: another area's anchoring of the same bytes is not it)."""
        key = (area_code, root)
        if key not in self._roots:
            record = read(RootRecord, self.c, area_code, root, block=self.block)
            self._roots[key] = (
                RootInfo(
                    area_code,
                    record.kind,
                    record.leaf_count,
                    record.anchored_at,
                    record.revoked_reason,
                )
                if record.kind
                else None
            )
        return self._roots[key]

    def revoked_leaves(self, area_code: int) -> dict[bytes, int]:
        """Leaves the area revoked, with their reasons (one log query per area)."""
        if area_code not in self._revoked:
            topic = "0x" + area_code.to_bytes(32, "big").hex()
            events = self._logs(self.c.tax_anchor.address, [None, topic])
            self._revoked[area_code] = {
                args["leaf"]: args["reason"] for name, args in events if name == "LeafRevoked"
            }
        return self._revoked[area_code]

    def member_info(self, member_id: bytes) -> MemberInfo:
        """A member's kind, status and customs code (kind NONE if unknown)."""
        if member_id not in self._members:
            self._members[member_id] = read(MemberInfo, self.c, member_id, block=self.block)
        return self._members[member_id]

    def member(self, member_id: bytes) -> tuple[MemberKind, MemberStatus, int]:
        """A member's kind, status and customs code, as a tuple."""
        info = self.member_info(member_id)
        return info.kind, info.status, info.customs_code

    def gateway_url(self, member_id: bytes) -> str:
        """The gateway URL a member registered in its profile ('' if none)."""
        return read(MemberRecord, self.c, member_id, block=self.block).gateway_url

    def chain_id(self) -> int:
        """The chain id the ledger node reports."""
        return int(self.w3.eth.chain_id)

    def parameter(self, key: bytes) -> int:
        """A governed rule parameter of the Consortium at the pinned block."""
        fn = self.c.consortium.functions.parameter(key)
        return int(fn.call(block_identifier=self.block))

    def customs_member(self, code: int) -> bytes:
        """The customs area holding a customs code (zero bytes if none)."""
        if code not in self._codes:
            member = self.c.consortium.functions.customsMember(code).call(
                block_identifier=self.block
            )
            self._codes[code] = bytes(member)
        return self._codes[code]

    def member_of_account(self, account: str) -> bytes:
        """The member id an account belongs to (zero bytes if none)."""
        if account not in self._accounts:
            info = read(AccountInfo, self.c, account, block=self.block)
            self._accounts[account] = info.member_id
        return self._accounts[account]

    def case_opened(self, case_id: bytes) -> dict[str, Any] | None:
        """The CaseOpened event of a case (all cases are loaded with one query)."""
        if self._cases is None:
            topic = "0x" + event_topic("ReturnLedger", "CaseOpened").hex()
            events = self._logs(self.c.return_ledger.address, [topic])
            self._cases = {args["caseId"]: args for _, args in events}
        return self._cases.get(case_id)

    def return_events(self, return_id: bytes) -> list[tuple[str, dict[str, Any]]]:
        """Every ReturnLedger event of one return, in ledger order."""
        if return_id not in self._return_events:
            self._return_events[return_id] = self._logs(
                self.c.return_ledger.address, [None, "0x" + return_id.hex()]
            )
        return self._return_events[return_id]

    def return_record(self, return_id: bytes) -> ReturnRecord:
        """ReturnLedger.getReturn at the pinned block (state NONE if unknown)."""
        if return_id not in self._returns:
            self._returns[return_id] = read(ReturnRecord, self.c, return_id, block=self.block)
        return self._returns[return_id]


def _topics_match(log: Any, topics: list[Any]) -> bool:
    """eth_getLogs' topic filter: position by position, None matches anything."""
    have = ["0x" + bytes(t).hex() for t in log["topics"]]
    for i, want in enumerate(topics):
        if want is None:
            continue
        if i >= len(have) or have[i] != str(want).lower():
            return False
    return True


__all__ = ["LedgerView", "RootInfo"]
