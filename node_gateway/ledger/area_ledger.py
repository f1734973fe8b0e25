"""One customs area's view of the ledger: the contract calls behind each outbox kind, signing
with the area's own account, reads of cases, returns, members and governance proposals, and
event fetching.

Outbox payloads are plain JSON (hex strings for bytes); `build` turns one into the contract
function it stands for, so the outbox never holds anything web3-specific and a payload can be
re-built identically after a restart.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import requests
from eth_account import Account
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxParams, TxReceipt

from clients.errors import LedgerError, NodeRefused
from clients.ledger_bindings import (
    Contracts,
    MemberKind,
    MemberStatus,
    ProposalKind,
    ReturnState,
    answers,
    attach_contracts,
    event_record,
    revert_from_exception,
)
from clients.verify import LedgerView, Verifier
from node_gateway.ledger.backends.read_only_rpc import ReadOnlyRpc, RpcLimits
from node_gateway.ledger.signer import fees

TX_GAS = 1_500_000
PIECE_GAS = 40_000
CACHE_S = 5.0

F = TypeVar("F", bound=Callable[..., Any])


def _read(fn: F) -> F:
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


class Backend(Protocol):
    """A ledger connection that accepts signed transactions."""

    w3: Web3

    def send_raw_transaction(self, raw: bytes) -> TxReceipt:
        """Submit a signed transaction and return its receipt once mined."""
        ...


RECEIPT_TIMEOUT_S = 60.0
FILLER_GAS = 21_000


@runtime_checkable
class PipelinedBackend(Protocol):
    """A backend that keeps several transactions in flight (a JSON-RPC node): submit without
    waiting, then collect the receipts. Optional: without it (the embedded chain, which mines
    on submission) transactions go one at a time through `send_raw_transaction`."""

    def send_only(self, raw: bytes) -> str:
        """Submit a signed transaction to the node's pool and return its hash (0x-hex) without
        waiting for it to be mined. A transaction the node already holds is no error (its hash
        is returned); an exception carrying revert data means the node refused it for good."""
        ...

    def receipts(self, tx_hashes: Sequence[str], timeout_s: float) -> dict[str, TxReceipt]:
        """The receipts of those of `tx_hashes` mined within `timeout_s`, keyed by the hashes as
        given; one not mined by then is left out."""
        ...


def _submission_error(exc: Exception) -> LedgerError:
    """What a failed submission means: the contract's decoded revert (refused for good),
    NodeRefused (the node answered but would not take it: fees, funds, gas limit …), or a
    LedgerError (the node failed; the transaction may or may not be in its pool)."""
    if isinstance(exc, LedgerError):
        return exc
    revert = revert_from_exception(exc)
    if revert is not None:
        return revert
    if isinstance(exc, OSError | requests.RequestException):  # ConnectionError, timeouts
        return LedgerError(f"the ledger did not take the transaction: {exc}")
    return NodeRefused(" ".join(str(exc).split())[:300] or type(exc).__name__)


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction ready to submit (or re-submit, byte for byte)."""

    raw: bytes
    tx_hash: str
    nonce: int


@dataclass(frozen=True)
class Mined:
    """The outcome of a mined transaction."""

    block_number: int
    success: bool
    error: str | None


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
class ProposalOnLedger:
    """Consortium.getProposal with its approvals by currently active customs areas; the fields
    its kind does not use are zero."""

    proposal_id: int
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
    gateway_url: str
    approvals: int
    needed: int  # approvals it needs now (its subject area is not in its electorate)


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _address(value: str) -> str:
    return str(Web3.to_checksum_address(value))


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


def gas_limit(fn: ContractFunction) -> int:
    """The gas a transaction of `fn` may use: TX_GAS, plus PIECE_GAS per piece count it carries
    (each line of a case header or a return costs storage: a 99-line case opened with a
    99-line application uses ~3.5 M gas, within every chain's block gas limit)."""

    def counts(value: Any) -> int:
        if isinstance(value, (list, tuple)):
            if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return len(value) if isinstance(value, list) else 0
            return sum(counts(v) for v in value)
        return 0

    return TX_GAS + PIECE_GAS * counts(list(fn.args))


def _counts(per_line: Sequence[int]) -> dict[int, int]:
    """{gnum: pieces} of the lines with any piece, from an array over lines 1..n."""
    return {gnum: int(n) for gnum, n in enumerate(per_line, start=1) if n}


def _proof(items: list[str]) -> list[bytes]:
    return [_b(x) for x in items]


def _application(a: dict[str, Any]) -> tuple[Any, ...]:
    return (
        _b(a["returnId"]),
        _b(a["caseId"]),
        _b(a["originArea"]),
        int(a["lineMask"]),
        [int(n) for n in a["pieces"]],
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
        [int(n) for n in h["pieces"]],
        _b(h["recordDigest"]),
    )


class AreaLedger:
    """The ledger as one area's gateway uses it: its account, its contracts, its reads."""

    def __init__(self, backend: Backend, addresses: dict[str, str], private_key: bytes) -> None:
        self.backend = backend
        self.w3 = backend.w3
        self.contracts: Contracts = attach_contracts(self.w3, addresses)
        self._account = Account.from_key(private_key)
        # Reads name a sender: without one web3 asks the node for its accounts on every call.
        self._from: TxParams = {"from": self._account.address}
        self._chain_id: int | None = None
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, Any], tuple[float, int, Any]] = {}
        self._cache_lock = threading.RLock()
        self._scanned_to = -1  # blocks whose Consortium events are known
        self._consortium_block = 0  # the last block with a Consortium event
        rl = self.contracts.return_ledger.functions
        ta = self.contracts.tax_anchor.functions
        cs = self.contracts.consortium.functions
        self._builders: dict[str, Callable[[dict[str, Any]], ContractFunction]] = {
            "anchor": lambda p: ta.anchor(_b(p["root"]), int(p["kind"]), int(p["leafCount"])),
            "open_and_apply": lambda p: rl.openCaseAndApply(
                _header(p["header"]),
                _b(p["root"]),
                _proof(p["proof"]),
                _application(p["application"]),
                _b(p["signature"]),
            ),
            "apply": lambda p: rl.applyForReturn(
                _application(p["application"]), _b(p["signature"])
            ),
            "arrival": lambda p: rl.recordArrival(_b(p["returnId"]), _b(p["digest"])),
            "inspection": lambda p: rl.recordInspection(
                _b(p["returnId"]),
                int(p["acceptedMask"]),
                [int(n) for n in p["acceptedPieces"]],
                _b(p["digest"]),
            ),
            "recognition": lambda p: rl.recordRecognition(_b(p["returnId"]), _b(p["digest"])),
            "dispute": lambda p: rl.recordDispute(_b(p["returnId"]), _b(p["digest"])),
            "settle_not_levied": lambda p: rl.settleNotLevied(
                _b(p["returnId"]),
                int(p["lineMask"]),
                [int(n) for n in p["pieces"]],
                _b(p["digest"]),
                bool(p["quotaAdjusted"]),
            ),
            "disclose": lambda p: rl.logDisclosure(
                _b(p["caseId"]),
                _b(p["requesterCommitment"]),
                _b(p["documentDigest"]),
                _b(p["digest"]),
            ),
            "settle_refunded": lambda p: rl.settleRefunded(
                _b(p["returnId"]),
                int(p["lineMask"]),
                [int(n) for n in p["pieces"]],
                _b(p["digest"]),
                bool(p["quotaAdjusted"]),
                (
                    _b(p["payment"]["root"]),
                    _b(p["payment"]["paymentDigest"]),
                    _proof(p["payment"]["proof"]),
                ),
            ),
            "propose": lambda p: _PROPOSALS[p["kind"]](cs, p),
            "vote": lambda p: cs.vote(int(p["proposalId"])),
        }

    # ------------------------------------------------------------ identity

    @property
    def account(self) -> str:
        """The area's signing account (checksum address)."""
        return str(self._account.address)

    @property
    @_read
    def chain_id(self) -> int:
        """The chain id (read once)."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def return_ledger_address(self) -> str:
        """ReturnLedger's address (the EIP-712 verifying contract)."""
        return str(self.contracts.return_ledger.address)

    # ------------------------------------------------------------ writes

    def kinds(self) -> frozenset[str]:
        """The outbox kinds this ledger can send."""
        return frozenset(self._builders)

    def build(self, kind: str, payload: dict[str, Any]) -> ContractFunction:
        """The contract function an outbox row stands for."""
        try:
            return self._builders[kind](payload)
        except KeyError as exc:
            raise LedgerError(f"outbox row of unknown kind or malformed payload: {exc}") from exc

    def preflight(self, fn: ContractFunction) -> None:
        """Run the call against the head state; a revert raises ContractRevert before any nonce
        is spent."""
        try:
            fn.call({"from": self.account, "gas": gas_limit(fn)})
        except Exception as exc:
            revert = revert_from_exception(exc)
            if revert is None:
                raise LedgerError(f"ledger call failed: {exc}") from exc
            raise revert from exc

    @_read
    def next_nonce(self) -> int:
        """The account's next nonce as the ledger counts it (pending included)."""
        return int(self.w3.eth.get_transaction_count(self._account.address, "pending"))

    def sign_message(self, message: Any) -> str:
        """Sign an off-chain message (e.g. a peer request) with the area's account (0x-hex)."""
        return "0x" + bytes(self._account.sign_message(message).signature).hex()

    @_read
    def base_fee(self) -> int:
        """The head block's base fee (0 on a chain without one, e.g. Besu with zero gas)."""
        return int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)

    def sign(self, fn: ContractFunction, nonce: int, base_fee: int | None = None) -> SignedTx:
        """Sign `fn` with the area's key at `nonce` (nothing is sent); `base_fee` defaults to
        the head's (a fee read once serves a burst: on these chains it does not rise)."""
        base = self.base_fee() if base_fee is None else base_fee
        tx = dict(
            fn.build_transaction(
                {  # type: ignore[arg-type]
                    "from": self._account.address,
                    "gas": gas_limit(fn),
                    "chainId": self.chain_id,
                    "nonce": nonce,
                    **fees(base),
                }
            )
        )
        signed = self._account.sign_transaction(tx)
        return SignedTx(bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex(), nonce)

    def sign_filler(self, nonce: int) -> SignedTx:
        """Sign a zero-value transfer to the account itself at `nonce`: it takes a nonce left
        unused by a refused transaction, so that the ones signed after it can be mined."""
        base = self.base_fee()
        tx = {
            "from": self._account.address,
            "to": self._account.address,
            "value": 0,
            "gas": FILLER_GAS,
            "chainId": self.chain_id,
            "nonce": nonce,
            **fees(base),
        }
        signed = self._account.sign_transaction(tx)
        return SignedTx(bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex(), nonce)

    def submit(self, raw: bytes) -> Mined:
        """Submit a signed transaction and wait for it to be mined."""
        try:
            receipt = self.backend.send_raw_transaction(raw)
        except LedgerError:
            raise  # the backend's own report (a JSON-RPC node that does not answer)
        except Exception as exc:
            raise _submission_error(exc) from exc
        return self._mined(receipt)

    def submit_many(
        self, txs: Sequence[SignedTx], timeout_s: float = RECEIPT_TIMEOUT_S
    ) -> list[Mined | LedgerError]:
        """Submit transactions of consecutive nonces in order without waiting for each to be
        mined, then wait for them; returns one outcome per transaction: Mined, the
        ContractRevert of one refused at submission (not taken: its nonce is unused), or a
        LedgerError for one not known to be mined (the node failed, it was not mined within
        `timeout_s`, or it was not submitted). Submission stops at the first refused or failed
        transaction, so the ones after it are never held behind an unused nonce.

        A backend without `PipelinedBackend` gets them one at a time (`submit`)."""
        outcomes: list[Mined | LedgerError] = []
        in_flight: list[tuple[int, str]] = []
        pipelined = self.backend if isinstance(self.backend, PipelinedBackend) else None
        for tx in txs:
            try:
                if pipelined is None:
                    outcomes.append(self.submit(tx.raw))
                    continue
                try:
                    pipelined.send_only(tx.raw)
                except Exception as exc:
                    raise _submission_error(exc) from exc
                in_flight.append((len(outcomes), tx.tx_hash))
                outcomes.append(LedgerError(f"{tx.tx_hash} not mined within {timeout_s}s"))
            except LedgerError as exc:
                outcomes.append(exc)
                break
        stopped = LedgerError("not submitted: an earlier transaction was refused or failed")
        outcomes.extend(stopped for _ in txs[len(outcomes) :])
        if pipelined is not None and in_flight:
            try:
                receipts = pipelined.receipts([h for _, h in in_flight], timeout_s)
                found = {str(h).lower(): r for h, r in receipts.items()}
                for i, tx_hash in in_flight:
                    receipt = found.get(tx_hash.lower())
                    if receipt is not None:
                        outcomes[i] = self._mined(receipt)
            except Exception as exc:  # the node failed while they were in flight
                lost = exc if isinstance(exc, LedgerError) else LedgerError(str(exc))
                for i, _ in in_flight:
                    if not isinstance(outcomes[i], Mined):
                        outcomes[i] = lost
        return outcomes

    def find_mined(self, tx_hash: str) -> Mined | None:
        """The outcome of a transaction already mined, or None if the ledger does not know it."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except Exception:
            return None
        if receipt is None:
            return None
        return self._mined(receipt)

    @_read
    def mined_nonce(self) -> int:
        """The account's next nonce counting mined transactions only: every nonce below it is
        used for good (unlike `next_nonce`, which counts the node's pool too)."""
        return int(self.w3.eth.get_transaction_count(self._account.address, "latest"))

    def _mined(self, receipt: TxReceipt) -> Mined:
        if receipt["status"] == 1:
            return Mined(int(receipt["blockNumber"]), True, None)
        from clients.ledger_bindings import replay_failure

        revert = replay_failure(self.w3, receipt["transactionHash"], receipt)
        return Mined(int(receipt["blockNumber"]), False, str(revert))

    # ------------------------------------------------------------ reads

    @_read
    def head_block(self) -> int:
        """The latest block number."""
        fast = getattr(self.backend, "head_number", None)
        if fast is not None:
            return int(fast())
        return int(self.w3.eth.block_number)

    @_read
    def now(self) -> int:
        """Ledger time: the latest block's timestamp."""
        fast = getattr(self.backend, "now", None)
        if fast is not None:
            return int(fast())
        return int(self.w3.eth.get_block("latest")["timestamp"])

    @_read
    def block_time(self, number: int) -> int:
        """A block's timestamp."""
        known = getattr(self.backend, "block_timestamp", None)
        if known is not None:
            return int(known(number))
        return int(self.w3.eth.get_block(number)["timestamp"])

    def is_up(self) -> bool:
        """Whether the ledger answers."""
        return answers(self.w3)

    @_read
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

    @_read
    def member(self, member: bytes, fresh: bool = False) -> tuple[MemberKind, MemberStatus, int]:
        """A member's kind, status and customs code (kind None if unknown)."""

        def read() -> tuple[MemberKind, MemberStatus, int]:
            fn = self.contracts.consortium.functions.memberInfo(member)
            kind, status, code = fn.call(self._from)
            return MemberKind(kind), MemberStatus(status), int(code)

        result: tuple[MemberKind, MemberStatus, int] = self._cached(("member", member), read, fresh)
        return result

    @_read
    def member_of_account(self, account: str, fresh: bool = False) -> bytes:
        """The member an account belongs to (zero bytes if none)."""
        fn = self.contracts.consortium.functions.accountInfo(account)
        return bytes(self._cached(("account", account), lambda: fn.call(self._from)[0], fresh))

    @_read
    def profile(self, member: bytes) -> tuple[bytes, str]:
        """A member's registered encryption public key and gateway URL."""
        fn = self.contracts.consortium.functions.getMember(member)
        m = self._cached(("profile", member), lambda: fn.call(self._from))
        return bytes(m[6]), str(m[7])

    def update_profile(
        self, encryption_key: bytes, gateway_url: str, nonce: int | None = None
    ) -> Mined:
        """Publish this area's encryption key and gateway URL (sent now, not via the outbox,
        at `nonce` — default the account's next — which the caller must keep clear of
        transactions signed in the outbox)."""
        fn = self.contracts.consortium.functions.updateProfile(encryption_key, gateway_url)
        signed = self.sign(fn, self.next_nonce() if nonce is None else nonce)
        mined = self.submit(signed.raw)
        self._cache.clear()
        return mined

    @_read
    def customs_member(self, code: int) -> bytes:
        """The customs area with this code (zero bytes if none)."""
        fn = self.contracts.consortium.functions.customsMember(code)
        return bytes(self._cached(("customs", code), lambda: fn.call(self._from)))

    @_read
    def parameter(self, key: bytes) -> int:
        """A governed rule parameter."""
        fn = self.contracts.consortium.functions.parameter(key)
        return int(self._cached(("parameter", key), lambda: fn.call(self._from)))

    # ------------------------------------------------------------ governance reads

    @_read
    def member_ids(self, fresh: bool = True) -> list[bytes]:
        """Every member id ever admitted, in admission order."""
        fn = self.contracts.consortium.functions.memberIds()
        ids = self._cached(("member_ids", None), lambda: fn.call(self._from), fresh)
        return [bytes(m) for m in ids]

    @_read
    def member_details(self, member: bytes, fresh: bool = True) -> MemberOnLedger:
        """A member as stored (kind NONE if unknown), with its signing accounts."""

        def read() -> MemberOnLedger:
            cs = self.contracts.consortium.functions
            m = cs.getMember(member).call(self._from)
            accounts = cs.accountsOf(member).call(self._from)
            return MemberOnLedger(
                member_id=member,
                kind=MemberKind(m[0]),
                status=MemberStatus(m[1]),
                customs_code=int(m[2]),
                suspended_by_vote=bool(m[4]),
                sponsor=bytes(m[5]),
                encryption_key=bytes(m[6]),
                gateway_url=str(m[7]),
                accounts=tuple(str(a) for a in accounts),
            )

        details: MemberOnLedger = self._cached(("member_details", member), read, fresh)
        return details

    @_read
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

    @_read
    def proposal(self, proposal_id: int, fresh: bool = True) -> ProposalOnLedger | None:
        """A proposal with its current approvals (None when there is no such proposal)."""
        if not 0 <= proposal_id < self.governance_rules(fresh)[2]:
            return None

        def read() -> ProposalOnLedger:
            cs = self.contracts.consortium.functions
            p = cs.getProposal(proposal_id).call(self._from)
            return ProposalOnLedger(
                proposal_id=proposal_id,
                kind=ProposalKind(p[0]),
                member_kind=MemberKind(p[1]),
                customs_code=int(p[2]),
                executed=bool(p[3]),
                expires_at=int(p[4]),
                proposer=bytes(p[5]),
                member_id=bytes(p[6]),
                account=str(p[7]),
                key=bytes(p[8]),
                value=int(p[9]),
                gateway_url=str(p[11]),
                approvals=int(cs.approvalsOf(proposal_id).call(self._from)),
                needed=int(cs.approvalsNeeded(proposal_id).call(self._from)),
            )

        found: ProposalOnLedger = self._cached(("proposal", proposal_id), read, fresh)
        return found

    @_read
    def has_voted(self, proposal_id: int, voter: bytes, fresh: bool = True) -> bool:
        """Whether customs area `voter` approved the proposal."""
        fn = self.contracts.consortium.functions.hasVoted(proposal_id, voter)
        return bool(
            self._cached(("voted", (proposal_id, voter)), lambda: fn.call(self._from), fresh)
        )

    @_read
    def root_anchored(self, area_code: int, root: bytes) -> bool:
        """Whether the customs area `area_code` anchored a batch root (roots are per area: the
        same bytes anchored by another area do not count)."""
        record = self.contracts.tax_anchor.functions.getRoot(area_code, root).call(self._from)
        return bool(record[0])

    @_read
    def area_code(self) -> int:
        """The customs code of the area this ledger's account signs for (0 if none)."""
        member = self.member_of_account(self.account)
        return 0 if member == bytes(32) else self.member(member)[2]

    @_read
    def get_return(self, return_id: bytes) -> ReturnOnLedger | None:
        """A return as the ledger stores it (None when unknown)."""
        r = self.contracts.return_ledger.functions.getReturn(return_id).call(self._from)
        state = ReturnState(r[4])
        if state == ReturnState.NONE:
            return None
        c = self.contracts.return_ledger.functions.getCase(r[0]).call(self._from)
        applied, accepted, settled = self.contracts.return_ledger.functions.returnPieces(
            return_id
        ).call(self._from)
        return ReturnOnLedger(
            return_id=return_id,
            case_id=bytes(r[0]),
            state=state,
            line_mask=int(r[1]),
            accepted_mask=int(r[2]),
            settled_mask=int(r[3]),
            late=bool(r[5]),
            applied_at=int(r[6]),
            arrived_at=int(r[7]),
            centre_code=int(r[8]),
            origin_code=int(c[1]),
            platform=bytes(c[0]),
            release_time=int(c[2]),
            line_count=int(c[3]),
            applied_pieces=_counts(applied),
            accepted_pieces=_counts(accepted),
            settled_pieces=_counts(settled),
        )

    @_read
    def case_pieces(self, case_id: bytes) -> tuple[list[int], list[int]] | None:
        """The declared and applied pieces of lines 1..n of a case (None when not open)."""
        declared, applied = self.contracts.return_ledger.functions.casePieces(case_id).call(
            self._from
        )
        if not declared:
            return None
        return [int(n) for n in declared], [int(n) for n in applied]

    @_read
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

    def read_only_rpc(self, limits: RpcLimits | None = None) -> ReadOnlyRpc | None:
        """The read-only JSON-RPC front of an embedded ledger, calling only the consortium's
        contracts (None on a real node, whose own RPC URL members use instead)."""
        log_source = getattr(self.backend, "logs_between", None)
        if log_source is None:
            return None
        targets = self.contracts.addresses().values()
        return ReadOnlyRpc(self.w3, log_source, call_targets=targets, limits=limits)

    def verifier(self) -> Verifier:
        """A standalone verifier on the current head."""
        return Verifier(
            LedgerView(self.contracts, log_source=getattr(self.backend, "logs_between", None))
        )
