"""A read-only Ethereum JSON-RPC front for the embedded ledger, so that an auditor's own
client (web3 over HTTP, clients.verify) can read the chain itself: chain id, head, blocks,
contract calls and event logs — nothing that writes, signs or changes node state.

Against a real node (Besu, anvil) auditors use their own node's URL instead; this front exists
because an embedded ledger has no RPC port of its own. Logs are served from the blocks' logs
as captured when mined (eth-tester's own eth_getLogs walks receipts back from the head).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

READ_METHODS = frozenset(
    {
        "web3_clientVersion",
        "net_version",
        "eth_chainId",
        "eth_blockNumber",
        "eth_call",
        "eth_getLogs",
        "eth_getBlockByNumber",
        "eth_getTransactionReceipt",
        "eth_getCode",
    }
)
MAX_BATCH = 100
MAX_LOG_RANGE = 1_000_000


class RpcRefused(Exception):
    """A request this front does not serve; `code` is the JSON-RPC error code."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


def _rpc(value: Any) -> Any:
    """web3's Python values as JSON-RPC wants them: quantities and bytes as 0x-hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _rpc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rpc(v) for v in value]
    return str(value)


def _block(w3: Web3, tag: Any) -> int:
    if tag in (None, "latest", "safe", "finalized", "pending"):
        return int(w3.eth.block_number)
    if tag == "earliest":
        return 0
    if isinstance(tag, str) and tag.startswith("0x"):
        return int(tag, 16)
    raise RpcRefused(-32602, f"bad block tag {tag!r}")


def _topics_match(log: Any, wanted: list[Any]) -> bool:
    have = ["0x" + bytes(t).hex() for t in log["topics"]]
    for i, want in enumerate(wanted):
        if want is None:
            continue
        options = want if isinstance(want, list) else [want]
        if i >= len(have) or have[i] not in {str(o).lower() for o in options}:
            return False
    return True


class ReadOnlyRpc:
    """Answers JSON-RPC requests (one or a batch) from the chain behind `w3`."""

    def __init__(
        self, w3: Web3, log_source: Callable[[int, int], list[Any] | None] | None = None
    ) -> None:
        self.w3 = w3
        self.log_source = log_source

    def handle(self, payload: Any) -> Any:
        """The JSON-RPC response to a request object or a batch (parsed JSON, or its text:
        web3's HTTP provider does not always label its body as JSON)."""
        if isinstance(payload, bytes | str):
            try:
                payload = json.loads(payload)
            except ValueError:
                return _error(None, -32700, "parse error: not JSON")
        if isinstance(payload, list):
            if not payload or len(payload) > MAX_BATCH:
                return _error(None, -32600, f"a batch holds 1..{MAX_BATCH} requests")
            return [self._one(item) for item in payload]
        return self._one(payload)

    def _one(self, req: Any) -> dict[str, Any]:
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            return _error(None, -32600, "not a JSON-RPC request")
        rid = req.get("id")
        params = req.get("params") or []
        if not isinstance(params, list):
            return _error(rid, -32602, "params must be a list")
        method = req["method"]
        if method not in READ_METHODS:
            return _error(rid, -32601, f"{method} is not served (read-only ledger front)")
        try:
            result = getattr(self, "_" + method)(*params)
        except RpcRefused as exc:
            return _error(rid, exc.code, str(exc))
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            return _error(rid, -32602, f"bad params for {method}: {exc}")
        except Exception as exc:  # a revert or node error: the caller's web3 reports it
            return _error(rid, -32000, str(exc)[:500])
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    # ------------------------------------------------------------------ methods

    def _web3_clientVersion(self) -> str:
        return "CrossReturn embedded ledger (read-only)"

    def _net_version(self) -> str:
        return str(self.w3.eth.chain_id)

    def _eth_chainId(self) -> str:
        return hex(self.w3.eth.chain_id)

    def _eth_blockNumber(self) -> str:
        return hex(self.w3.eth.block_number)

    def _eth_call(self, tx: dict[str, Any], tag: Any = "latest") -> str:
        # A call runs as a funded account (eth-tester charges a call's gas to its sender);
        # nothing is written either way.
        sender = tx.get("from") or self.w3.eth.accounts[0]
        call: dict[str, Any] = {
            "to": to_checksum_address(tx["to"]),
            "from": to_checksum_address(sender),
            "data": tx.get("data") or tx.get("input") or "0x",
        }
        result = self.w3.eth.call(call, block_identifier=_block(self.w3, tag))  # type: ignore[arg-type]
        return "0x" + bytes(result).hex()

    def _eth_getCode(self, address: str, tag: Any = "latest") -> str:
        code = self.w3.eth.get_code(to_checksum_address(address), _block(self.w3, tag))
        return "0x" + bytes(code).hex()

    def _eth_getBlockByNumber(self, tag: Any, full: bool = False) -> Any:
        block = self.w3.eth.get_block(_block(self.w3, tag), full_transactions=False)
        return _rpc(dict(block))

    def _eth_getTransactionReceipt(self, tx_hash: str) -> Any:
        return _rpc(dict(self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))))

    def _eth_getLogs(self, flt: dict[str, Any]) -> list[Any]:
        head = int(self.w3.eth.block_number)
        start = _block(self.w3, flt.get("fromBlock", "earliest"))
        end = min(_block(self.w3, flt.get("toBlock", "latest")), head)
        if end - start > MAX_LOG_RANGE:
            raise RpcRefused(-32005, f"at most {MAX_LOG_RANGE} blocks per query")
        raw = flt.get("address")
        addresses = {to_checksum_address(a) for a in ([raw] if isinstance(raw, str) else raw or [])}
        topics = list(flt.get("topics") or [])
        logs = self.log_source(start, end) if self.log_source is not None else None
        if logs is None:
            query: dict[str, Any] = {"fromBlock": start, "toBlock": end}
            logs = list(self.w3.eth.get_logs(query))  # type: ignore[arg-type]
        return [
            _rpc(dict(log))
            for log in logs
            if (not addresses or to_checksum_address(log["address"]) in addresses)
            and _topics_match(log, topics)
        ]


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}
