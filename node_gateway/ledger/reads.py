"""The reading half of AreaLedger: the chain's head and events, and typed reads of members,
governance, anchored roots, cases and returns, decoded by the ABI's field names
(`clients.bindings.reads`). Consortium reads are cached until a Consortium event is mined."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxParams

from clients.bindings import (
    Contracts,
    MemberKind,
    MemberStatus,
    ReturnState,
    answers,
    event_record,
)
from clients.bindings.reads import (
    AccountInfo,
    CaseRecord,
    MemberInfo,
    MemberRecord,
    ProposalRecord,
    ReturnRecord,
    RootRecord,
)
from clients.errors import LedgerError

CACHE_S = 5.0

F = TypeVar("F", bound=Callable[..., Any])


def ledger_read(fn: F) -> F:
    """A ledger read: any failure to reach the node becomes LedgerError (the API's 503)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerError(f"ledger read {fn.__name__} failed: {exc}") from exc

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class ReturnOnLedger:
    """ReturnLedger.getReturn, with the case's origin code."""

    return_id: bytes
    case_id: bytes
    state: ReturnState
    line_mask: int
    accepted_mask: int
    settled_mask: int
    late: bool
    applied_at: int
    arrived_at: int
    centre_code: int
    origin_code: int
    platform: bytes
    release_time: int
    line_count: int
    # {gnum: pieces} of this return's lines: applied for, accepted at inspection, settled
    applied_pieces: dict[int, int] = field(default_factory=dict)
    accepted_pieces: dict[int, int] = field(default_factory=dict)
    settled_pieces: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberOnLedger:
    """Consortium.getMember with the member's current signing accounts."""

    member_id: bytes
    kind: MemberKind
    status: MemberStatus
    customs_code: int
    suspended_by_vote: bool
    sponsor: bytes
    encryption_key: bytes
    gateway_url: str
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class ProposalOnLedger(ProposalRecord):
    """Consortium.getProposal (the fields its kind does not use are zero) with its id and its
    approvals by currently active customs areas."""

    proposal_id: int
    approvals: int
    needed: int  # approvals it needs now (its subject area is not in its electorate)


def _counts(per_line: Sequence[int]) -> dict[int, int]:
    """{gnum: pieces} of the lines with any piece, from an array over lines 1..n."""
    return {gnum: int(n) for gnum, n in enumerate(per_line, start=1) if n}


def _same_named(record: Any, target: type[Any]) -> dict[str, Any]:
    """The fields of a decoded `record` that `target` has too, by name."""
    wanted = {f.name for f in fields(target)}
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name in wanted}


class Reads:
    """Reads of one area's ledger, the Consortium's cached until it changes."""

    backend: Any
    w3: Web3
    contracts: Contracts
    _account: LocalAccount
    _from: TxParams

    def _start_cache(self) -> None:
        self._cache: dict[tuple[str, Any], tuple[float, int, Any]] = {}
        self._cache_lock = threading.RLock()
        self._scanned_to = -1  # blocks whose Consortium events are known
        self._consortium_block = 0  # the last block with a Consortium event

    # ------------------------------------------------------------ the chain

    @ledger_read
    def head_block(self) -> int:
        """The latest block number."""
        fast = getattr(self.backend, "head_number", None)
        if fast is not None:
            return int(fast())
        return int(self.w3.eth.block_number)

    @ledger_read
    def now(self) -> int:
        """Ledger time: the latest block's timestamp."""
        fast = getattr(self.backend, "now", None)
        if fast is not None:
            return int(fast())
        return int(self.w3.eth.get_block("latest")["timestamp"])

    @ledger_read
    def block_time(self, number: int) -> int:
        """A block's timestamp."""
        known = getattr(self.backend, "block_timestamp", None)
        if known is not None:
            return int(known(number))
        return int(self.w3.eth.get_block(number)["timestamp"])

    def is_up(self) -> bool:
        """Whether the ledger answers."""
        return answers(self.w3)

    @ledger_read
    def events(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """Every CrossReturn event in the block range, decoded, in ledger order."""
        captured = getattr(self.backend, "logs_between", None)
        logs = captured(from_block, to_block) if captured is not None else None
        if logs is None:
            logs = self.w3.eth.get_logs(
                {
                    "fromBlock": from_block,
                    "toBlock": to_block,
                    "address": list(self.contracts.addresses().values()),  # type: ignore[typeddict-item]
                }
            )
        out: list[dict[str, Any]] = []
        # Gateways sharing one embedded chain decode each log once between them.
        memo: dict[tuple[int, int], Any] | None = getattr(self.backend, "decoded_logs", None)
        for log in logs:
            key = (int(log["blockNumber"]), int(log["logIndex"]))
            event: dict[str, Any] | None = memo.get(key) if memo is not None else None
            if event is None:
                event = self._decode(log)  # {} for a log that is not ours
                if memo is not None:
                    memo[key] = event
            if event:
                out.append({**event, "args": dict(event["args"])})
        return out

    def _decode(self, log: Any) -> dict[str, Any]:
        return event_record(self.contracts, log) or {}

    # ------------------------------------------------------------ the Consortium cache

    @ledger_read
    def _cached(self, key: tuple[str, Any], read: Callable[[], Any], fresh: bool = False) -> Any:
        """A Consortium read (membership, accounts, profiles, rule parameters), kept until the
        Consortium changes: every change emits an event, so a reading stays valid as long as no
        Consortium event was mined after it. `fresh` (authenticating another member) looks at
        the blocks mined since, at the head; other reads may trail by up to CACHE_S."""
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                read_at, block, value = hit
                if fresh:
                    if not self._consortium_changed_after(block):
                        return value
                elif time.monotonic() - read_at < CACHE_S:
                    return value
            block = self.head_block()
            value = read()
            self._cache[key] = (time.monotonic(), block, value)
            return value

    def last_known_member(self, member: bytes) -> tuple[MemberKind, MemberStatus, int] | None:
        """The last reading of a member, however old (None if never read): what a write that
        must not wait for the node (tax records while it is down) goes by."""
        with self._cache_lock:
            hit = self._cache.get(("member", member))
        return None if hit is None else hit[2]

    def _consortium_changed_after(self, block: int) -> bool:
        """Whether a Consortium event was mined after `block` (scans new blocks' logs once)."""
        head = self.head_block()
        if self._scanned_to < 0:  # first use: readings start now, nothing earlier is cached
            self._scanned_to = self._consortium_block = head
        if self._scanned_to < head:
            for ev in self.events(self._scanned_to + 1, head):
                if ev["contract"] == "Consortium":
                    self._consortium_block = max(self._consortium_block, int(ev["block"]))
            self._scanned_to = head
        return self._consortium_block > block

    # ------------------------------------------------------------ members

    @ledger_read
    def member(self, member: bytes, fresh: bool = False) -> tuple[MemberKind, MemberStatus, int]:
        """A member's kind, status and customs code (kind None if unknown)."""

        def read() -> tuple[MemberKind, MemberStatus, int]:
            fn = self.contracts.consortium.functions.memberInfo(member)
            info = MemberInfo.decode(fn.call(self._from))
            return info.kind, info.status, info.customs_code

        result: tuple[MemberKind, MemberStatus, int] = self._cached(("member", member), read, fresh)
        return result

    @ledger_read
    def member_of_account(self, account: str, fresh: bool = False) -> bytes:
        """The member an account belongs to (zero bytes if none)."""
        fn = self.contracts.consortium.functions.accountInfo(account)

        def read() -> bytes:
            return AccountInfo.decode(fn.call(self._from)).member_id

        return bytes(self._cached(("account", account), read, fresh))

    @ledger_read
    def profile(self, member: bytes) -> tuple[bytes, str]:
        """A member's registered encryption public key and gateway URL."""
        fn = self.contracts.consortium.functions.getMember(member)
        m = MemberRecord.decode(self._cached(("profile", member), lambda: fn.call(self._from)))
        return m.encryption_key, m.gateway_url

    @ledger_read
    def customs_member(self, code: int) -> bytes:
        """The customs area with this code (zero bytes if none)."""
        fn = self.contracts.consortium.functions.customsMember(code)
        return bytes(self._cached(("customs", code), lambda: fn.call(self._from)))

    @ledger_read
    def parameter(self, key: bytes) -> int:
        """A governed rule parameter."""
        fn = self.contracts.consortium.functions.parameter(key)
        return int(self._cached(("parameter", key), lambda: fn.call(self._from)))

    @ledger_read
    def area_code(self) -> int:
        """The customs code of the area this ledger's account signs for (0 if none)."""
        member = self.member_of_account(str(self._account.address))
        return 0 if member == bytes(32) else self.member(member)[2]

    # ------------------------------------------------------------ governance

    @ledger_read
    def member_ids(self, fresh: bool = True) -> list[bytes]:
        """Every member id ever admitted, in admission order."""
        fn = self.contracts.consortium.functions.memberIds()
        ids = self._cached(("member_ids", None), lambda: fn.call(self._from), fresh)
        return [bytes(m) for m in ids]

    @ledger_read
    def member_details(self, member: bytes, fresh: bool = True) -> MemberOnLedger:
        """A member as stored (kind NONE if unknown), with its signing accounts."""

        def read() -> MemberOnLedger:
            cs = self.contracts.consortium.functions
            m = MemberRecord.decode(cs.getMember(member).call(self._from))
            accounts = cs.accountsOf(member).call(self._from)
            return MemberOnLedger(
                member_id=member,
                accounts=tuple(str(a) for a in accounts),
                **_same_named(m, MemberOnLedger),
            )

        details: MemberOnLedger = self._cached(("member_details", member), read, fresh)
        return details

    @ledger_read
    def governance_rules(self, fresh: bool = True) -> tuple[int, int, int]:
        """(threshold, active customs areas, proposal count)."""

        def read() -> tuple[int, int, int]:
            cs = self.contracts.consortium.functions
            return (
                int(cs.threshold().call(self._from)),
                int(cs.activeCustomsCount().call(self._from)),
                int(cs.proposalCount().call(self._from)),
            )

        rules: tuple[int, int, int] = self._cached(("governance", None), read, fresh)
        return rules

    @ledger_read
    def proposal(self, proposal_id: int, fresh: bool = True) -> ProposalOnLedger | None:
        """A proposal with its current approvals (None when there is no such proposal)."""
        if not 0 <= proposal_id < self.governance_rules(fresh)[2]:
            return None

        def read() -> ProposalOnLedger:
            cs = self.contracts.consortium.functions
            p = ProposalRecord.decode(cs.getProposal(proposal_id).call(self._from))
            return ProposalOnLedger(
                **vars(p),
                proposal_id=proposal_id,
                approvals=int(cs.approvalsOf(proposal_id).call(self._from)),
                needed=int(cs.approvalsNeeded(proposal_id).call(self._from)),
            )

        found: ProposalOnLedger = self._cached(("proposal", proposal_id), read, fresh)
        return found

    @ledger_read
    def has_voted(self, proposal_id: int, voter: bytes, fresh: bool = True) -> bool:
        """Whether customs area `voter` approved the proposal."""
        fn = self.contracts.consortium.functions.hasVoted(proposal_id, voter)
        return bool(
            self._cached(("voted", (proposal_id, voter)), lambda: fn.call(self._from), fresh)
        )

    # ------------------------------------------------------------ roots, cases, returns

    @ledger_read
    def root_anchored(self, area_code: int, root: bytes) -> bool:
        """Whether the customs area `area_code` anchored a batch root (roots are per area: the
        same bytes anchored by another area do not count)."""
        record = self.contracts.tax_anchor.functions.getRoot(area_code, root).call(self._from)
        return bool(RootRecord.decode(record).kind)

    @ledger_read
    def get_return(self, return_id: bytes) -> ReturnOnLedger | None:
        """A return as the ledger stores it (None when unknown)."""
        rl = self.contracts.return_ledger.functions
        r = ReturnRecord.decode(rl.getReturn(return_id).call(self._from))
        if r.state == ReturnState.NONE:
            return None
        c = CaseRecord.decode(rl.getCase(r.case_id).call(self._from))
        applied, accepted, settled = rl.returnPieces(return_id).call(self._from)
        return ReturnOnLedger(
            return_id=return_id,
            **_same_named(r, ReturnOnLedger),
            **_same_named(c, ReturnOnLedger),
            applied_pieces=_counts(applied),
            accepted_pieces=_counts(accepted),
            settled_pieces=_counts(settled),
        )

    @ledger_read
    def case_pieces(self, case_id: bytes) -> tuple[list[int], list[int]] | None:
        """The declared and applied pieces of lines 1..n of a case (None when not open)."""
        declared, applied = self.contracts.return_ledger.functions.casePieces(case_id).call(
            self._from
        )
        if not declared:
            return None
        return [int(n) for n in declared], [int(n) for n in applied]
