"""The embedded ledger: eth-tester (py-evm) in-process, made durable by a transaction journal.

eth-tester keeps its chain in memory. To survive restarts, every raw transaction accepted by
the chain is appended (with the timestamp of the block it was mined in) to
`<data_dir>/journal.jsonl` and fsync'ed before the caller sees its receipt; ledger-time jumps
(`travel_to`, used by demos and tests) are journaled the same way. Opening the data dir again
replays the journal on a fresh chain and arrives at the same head hash and state root, because
everything that could differ is pinned: the genesis parameters (stored in the journal's first
line), each block's timestamp, and the post-merge `prevrandao` (eth-tester draws it from
`os.urandom`; here it is derived from the parent hash).

One tx per block (auto-mining), as eth-tester is fastest that way (LEDGER-FACTS). Several
gateways in one process share one `EmbeddedChain`; sends are serialised by a lock.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import get_default_genesis_params
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.types import TxReceipt

from node_gateway.errors import GatewayFault

JOURNAL = "journal.jsonl"
FORMAT = "crossreturn.embedded-ledger.v1"


class LedgerJournalError(GatewayFault):
    """The journal cannot be read or replayed; the data dir needs an operator."""


class _DeterministicBackend(PyEVMBackend):  # type: ignore[misc]
    """PyEVMBackend whose blocks depend only on their transactions and timestamps."""

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = b"\0" * 20) -> tuple[bytes, ...]:
        hashes = []
        for _ in range(num_blocks):
            parent = self.chain.get_canonical_head()
            mix_hash = keccak(b"crossreturn.prevrandao" + parent.hash)
            kwargs: dict[str, Any] = {"coinbase": coinbase, "mix_hash": mix_hash}
            if _is_prague(self):
                kwargs["blob_gas_used"] = 0  # CrossReturn never sends blob transactions
            block = self.chain.mine_block(**kwargs)
            hashes.append(block.hash)
        return tuple(hashes)

    def set_next_timestamp(self, timestamp: int) -> None:
        """Make the pending block carry `timestamp`."""
        self.chain.header = self.chain.header.copy(timestamp=timestamp)


class _LockedProvider(EthereumTesterProvider):
    """eth-tester is not thread-safe: every request, read or write, holds the chain's lock, so
    several gateways (threads) can share one embedded chain."""

    def __init__(self, tester: EthereumTester, lock: Any) -> None:
        super().__init__(tester)
        self._chain_lock = lock

    def make_request(self, method: Any, params: Any) -> Any:
        with self._chain_lock:
            return super().make_request(method, params)


class _Bounded(dict[tuple[int, int], Any]):
    """A dict that forgets its oldest entries beyond `limit` (followers read recent blocks)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def __setitem__(self, key: tuple[int, int], value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self._limit:
            for old in list(self)[: len(self) - self._limit]:
                del self[old]


def _is_prague(backend: PyEVMBackend) -> bool:
    from eth.vm.forks.prague import PragueVM

    return isinstance(backend.chain.get_vm(), PragueVM)


class EmbeddedChain:
    """A durable in-process chain rooted in a data directory."""

    def __init__(self, data_dir: Path, genesis_timestamp: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.data_dir / JOURNAL
        self._lock = threading.RLock()
        self._torn_from: int | None = None  # where a torn last line starts (`_read_journal`)
        entries = self._read_journal()
        if entries:
            header = entries[0]
        else:
            header = {
                "format": FORMAT,
                "genesisTimestamp": genesis_timestamp or _default_genesis_timestamp(),
            }
            self._append(header)
        if header.get("format") != FORMAT:
            raise LedgerJournalError(f"{self._path}: not a CrossReturn embedded-ledger journal")
        params = get_default_genesis_params({"timestamp": int(header["genesisTimestamp"])})
        self._backend = _DeterministicBackend(genesis_parameters=params)
        self.tester = EthereumTester(self._backend)
        self.w3 = Web3(_LockedProvider(self.tester, self._lock))
        # Each block's logs and timestamp, captured as it is mined (and replayed): followers
        # read them here instead of eth-tester's get_logs, which loads every receipt again.
        self._block_logs: dict[int, list[Any]] = {}
        self._block_times: dict[int, int] = {}
        # Decoded events by (block, log index), shared by the gateways on this chain.
        self.decoded_logs: dict[tuple[int, int], Any] = _Bounded(50_000)
        self._note_head()
        self.replayed = self._replay(entries[1:])

    # ------------------------------------------------------------ journal

    def _read_journal(self) -> list[dict[str, Any]]:
        """The journal's complete lines. A last line without its newline is a write that never
        completed (a crash before its fsync: no caller saw that transaction's receipt); it is
        skipped here and cut off before this chain first appends (`_append`), never by merely
        opening, since a reader (`crossreturn ledger head`) may open while a writer appends."""
        if not self._path.exists():
            return []
        data = self._path.read_bytes()
        complete = data.rfind(b"\n") + 1  # 0 when even the first line is torn
        self._torn_from = complete if complete < len(data) else None
        entries: list[dict[str, Any]] = []
        for number, line in enumerate(data[:complete].decode("utf-8").splitlines(), start=1):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LedgerJournalError(f"{self._path}:{number}: corrupt entry") from exc
        return entries

    def _append(self, entry: dict[str, Any]) -> None:
        if self._torn_from is not None:
            # Glued to a torn line, this entry would become a corrupt line mid-journal.
            with self._path.open("r+b") as fh:
                fh.truncate(self._torn_from)
                os.fsync(fh.fileno())
            self._torn_from = None
        with self._path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _replay(self, entries: list[dict[str, Any]]) -> int:
        for number, entry in enumerate(entries, start=2):
            try:
                if "travel" in entry:
                    self.tester.time_travel(int(entry["travel"]))
                    self._note_head()
                else:
                    self._backend.set_next_timestamp(int(entry["ts"]))
                    tx_hash = self.w3.eth.send_raw_transaction(bytes.fromhex(entry["tx"]))
                    self._note(self.w3.eth.get_transaction_receipt(tx_hash))
            except Exception as exc:
                raise LedgerJournalError(f"{self._path}:{number}: replay failed: {exc}") from exc
        return len(entries)

    # ------------------------------------------------------------ writes

    def send_raw_transaction(self, raw: bytes) -> TxReceipt:
        """Submit a signed transaction; it is mined, journaled and its receipt returned."""
        with self._lock:
            tx_hash = self.w3.eth.send_raw_transaction(raw)
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)
            timestamp = self._note(receipt)
            self._append({"ts": timestamp, "tx": bytes(raw).hex()})
            return receipt

    def _note_head(self) -> int:
        head = self._backend.chain.get_canonical_head()
        self._block_times[int(head.block_number)] = int(head.timestamp)
        self._block_logs.setdefault(int(head.block_number), [])
        return int(head.timestamp)

    def _note(self, receipt: TxReceipt) -> int:
        """Remember the logs and timestamp of the (auto-mined, one-tx) block of `receipt`."""
        number = int(receipt["blockNumber"])
        header = self._backend.chain.get_canonical_block_header_by_number(number)
        self._block_times[number] = int(header.timestamp)
        self._block_logs[number] = list(receipt["logs"])
        return int(header.timestamp)

    # ------------------------------------------------------------ follower reads

    def logs_between(self, from_block: int, to_block: int) -> list[Any] | None:
        """Every log of blocks `from_block..to_block` as captured when mined, or None when some
        block of the range was mined another way (then ask the node)."""
        with self._lock:
            out: list[Any] = []
            for number in range(from_block, to_block + 1):
                logs = self._block_logs.get(number)
                if logs is None:
                    return None
                out.extend(logs)
            return out

    def block_timestamp(self, number: int) -> int:
        """A block's timestamp."""
        with self._lock:
            known = self._block_times.get(number)
            if known is not None:
                return known
            header = self._backend.chain.get_canonical_block_header_by_number(number)
            return int(header.timestamp)

    def travel_to(self, timestamp: int) -> None:
        """Move ledger time forward: the next block carries `timestamp` (mines one block)."""
        with self._lock:
            if timestamp <= self.now():
                raise ValueError("ledger time only moves forward")
            self.tester.time_travel(timestamp)
            self._note_head()
            self._append({"travel": timestamp})

    # ------------------------------------------------------------ reads

    def head_number(self) -> int:
        """The latest block's number."""
        with self._lock:
            return int(self._backend.chain.get_canonical_head().block_number)

    def now(self) -> int:
        """The latest block's timestamp."""
        with self._lock:
            return int(self._backend.chain.get_canonical_head().timestamp)

    def head(self) -> dict[str, Any]:
        """The head block's number, hash and state root."""
        block = self.w3.eth.get_block("latest")
        return {
            "number": int(block["number"]),
            "hash": "0x" + bytes(block["hash"]).hex(),
            "state_root": "0x" + bytes(block["stateRoot"]).hex(),
        }

    def funded_key(self) -> bytes:
        """The private key of eth-tester's first genesis account (funds other accounts)."""
        key: bytes = self._backend.account_keys[0].to_bytes()
        return key


def _default_genesis_timestamp() -> int:
    import time

    return int(time.time())
