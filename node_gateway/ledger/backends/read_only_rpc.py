"""A read-only Ethereum JSON-RPC front for the embedded ledger, so that an auditor's own
client (web3 over HTTP, clients.verify) can read the chain itself: chain id, head, blocks,
contract calls and event logs — nothing that writes, signs or changes node state.

Against a real node (Besu, anvil) auditors use their own node's URL instead; this front exists
because an embedded ledger has no RPC port of its own. Logs are served from the blocks' logs
as captured when mined (eth-tester's own eth_getLogs walks receipts back from the head).

Every call runs in pure Python under the lock of the chain that all gateways of the process
share, so what one request may cost is bounded (`RpcLimits`): calls go only to the
consortium's contracts (a precompile such as the BN254 pairing at 0x08 ran 45 s), with at most
`call_gas_cap` gas each, at most `max_batch` requests per batch, and no new item is started once
the request has run for `time_budget_s`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from node_gateway.json_guard import MAX_DEPTH, json_depth

READ_METHODS = frozenset(
    {
        "web3_clientVersion",
        "net_version",
        "eth_chainId",
        "eth_blockNumber",
        "eth_call",
        "eth_estimateGas",
        "eth_getLogs",
        "eth_getBlockByNumber",
        "eth_getTransactionReceipt",
        "eth_getCode",
    }
)
# Who may read what (issue 19). The ledger's events and state name every platform's cases
# (CaseOpened indexes the platform; every step indexes the case id): a rival platform that
# learned a case id followed competitors' lists through eth_getLogs. Platforms therefore read
# only the chain's coordinates here, and their own cases through the /v1 views (which filter by
# platform); customs areas' keys and auditors keep the whole front. Deny by default: a role not
# named as a full reader gets the coordinates only.
FULL_READERS = frozenset({"officer", "system", "admin", "auditor"})
COORDINATE_METHODS = frozenset(
    {"web3_clientVersion", "net_version", "eth_chainId", "eth_blockNumber", "eth_getCode"}
)
# What runs contract code or scans logs: in a batch, each counts against the key's rate limit
# (the other reads are lookups; clients.verify fetches block times 100 to a batch).
METERED_METHODS = frozenset({"eth_call", "eth_estimateGas", "eth_getLogs"})
MAX_LOG_RANGE = 1_000_000
# A log filter is checked once, then matched against every log of its range: bound its size.
MAX_TOPIC_POSITIONS = 4
MAX_TOPIC_OPTIONS = 100
MAX_FILTER_ADDRESSES = 100
_TOPIC = re.compile(r"0x[0-9a-fA-F]{64}")
# An estimate is the least gas found to succeed, to within this much (eth_estimateGas).
ESTIMATE_TOLERANCE = 1_000
BASE_TX_GAS = 21_000  # no call succeeds with less
# Calls through the front run one at a time per process, waiting at most this long to start.
_CALLS = threading.BoundedSemaphore(1)
CALL_WAIT_S = 1.0

# JSON-RPC error codes (the -320xx ones as EIP-1474 names them).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
EXECUTION_FAILED = -32000  # a revert, out of gas, or the node refused the call
CALL_REFUSED = -32003  # a call this front does not make: its target, or a value
LIMIT_EXCEEDED = -32005  # the request's time budget, a log query's block range
NOT_FOR_ROLE = -32004  # a read the caller's role is not served (EIP-1474: method not supported)
NOT_FOR_ROLE_CODE = "rpc_not_for_role"  # the stable code in the error's `data`


def methods_for(role: str) -> frozenset[str]:
    """The JSON-RPC methods an API key of `role` may call through the front."""
    return READ_METHODS if role in FULL_READERS else COORDINATE_METHODS


@dataclass(frozen=True)
class RpcLimits:
    """What one request to the front may cost (settings `rpc_*`, config.py)."""

    call_gas_cap: int = 1_000_000
    max_batch: int = 100
    time_budget_s: float = 2.0


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
    raise RpcRefused(INVALID_PARAMS, f"bad block tag {tag!r}")


def _topic_filter(raw: Any) -> list[frozenset[str] | None]:
    """A filter's `topics`, checked and made into sets once per request (None: any topic)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_TOPIC_POSITIONS:
        raise RpcRefused(INVALID_PARAMS, f"topics: a list of at most {MAX_TOPIC_POSITIONS}")
    wanted: list[frozenset[str] | None] = []
    for i, want in enumerate(raw):
        if want is None:
            wanted.append(None)
            continue
        options = want if isinstance(want, list) else [want]
        if len(options) > MAX_TOPIC_OPTIONS:
            raise RpcRefused(INVALID_PARAMS, f"topics[{i}]: at most {MAX_TOPIC_OPTIONS} options")
        if not all(isinstance(o, str) and _TOPIC.fullmatch(o) for o in options):
            raise RpcRefused(INVALID_PARAMS, f"topics[{i}]: each topic is 32 bytes of 0x-hex")
        wanted.append(frozenset(o.lower() for o in options))
    return wanted


def _topics_match(log: Any, wanted: list[frozenset[str] | None]) -> bool:
    have = ["0x" + bytes(t).hex() for t in log["topics"]]
    for i, options in enumerate(wanted):
        if options is None:
            continue
        if i >= len(have) or have[i] not in options:
            return False
    return True


def _quantity(value: Any, name: str) -> int | None:
    """A JSON-RPC quantity (0x-hex, or a plain non-negative integer) or None when absent."""
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("0x"):
        number = int(value, 16)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise RpcRefused(INVALID_PARAMS, f"{name} must be a 0x-hex quantity")
    if number < 0:
        raise RpcRefused(INVALID_PARAMS, f"{name} must not be negative")
    return number


def _method(req: Any) -> str | None:
    method = req.get("method") if isinstance(req, dict) else None
    return method if isinstance(method, str) else None


def _out_of_gas(exc: Exception) -> bool:
    """Whether a failed call ran out of its gas (or had less than its intrinsic gas)."""
    text = str(exc)
    return "Out of gas" in text or "Message.gas cannot be negative" in text


class ReadOnlyRpc:
    """Answers JSON-RPC requests (one or a batch) from the chain behind `w3`; eth_call and
    eth_estimateGas only to `call_targets` (the consortium's contracts), within `limits`.
    `clock` (seconds, monotonic) is injectable so tests spend the time budget without work."""

    def __init__(
        self,
        w3: Web3,
        log_source: Callable[[int, int], list[Any] | None] | None = None,
        *,
        call_targets: Iterable[str] = (),
        limits: RpcLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.w3 = w3
        self.log_source = log_source
        self.call_targets = frozenset(to_checksum_address(a) for a in call_targets)
        self.limits = limits or RpcLimits()
        self._clock = clock

    def handle(
        self,
        payload: Any,
        admit: Callable[[int], None] | None = None,
        methods: frozenset[str] = READ_METHODS,
    ) -> Any:
        """The JSON-RPC response to a request object or a batch (parsed JSON, or its text:
        web3's HTTP provider does not always label its body as JSON). `admit` is told what
        the payload weighs before any of it runs — 1, or for a batch the number of its
        METERED_METHODS requests (at least 1) — and may raise to refuse it all (the per-key
        rate limit). Once the request has run for the time budget, the items left of a batch
        are answered LIMIT_EXCEEDED without running; the first always runs. A read method not in
        `methods` (the caller's role's, `methods_for`) is answered NOT_FOR_ROLE."""
        if isinstance(payload, bytes | str):
            # The API's depth guard checks JSON bodies only; one labelled otherwise arrives here
            # as text, and json's C scanner would overflow the C stack on deep nesting.
            if json_depth(payload) > MAX_DEPTH:
                return _error(None, PARSE_ERROR, f"parse error: nested over {MAX_DEPTH} levels")
            try:
                payload = json.loads(payload)
            except ValueError:
                return _error(None, PARSE_ERROR, "parse error: not JSON")
        deadline = self._clock() + self.limits.time_budget_s
        if not isinstance(payload, list):
            if admit is not None:
                admit(1)
            return self._one(payload, deadline, methods)
        limit = self.limits.max_batch
        if not payload or len(payload) > limit:
            return _error(None, INVALID_REQUEST, f"a batch holds 1..{limit} requests")
        if admit is not None:
            metered = sum(1 for item in payload if _method(item) in METERED_METHODS)
            admit(max(1, metered))
        out = []
        for i, item in enumerate(payload):
            if i > 0 and self._clock() >= deadline:
                rid = item.get("id") if isinstance(item, dict) else None
                budget = self.limits.time_budget_s
                message = f"request time budget ({budget:g} s) exhausted: not executed"
                out.append(_error(rid, LIMIT_EXCEEDED, message))
            else:
                out.append(self._one(item, deadline, methods))
        return out

    def _one(self, req: Any, deadline: float, methods: frozenset[str]) -> dict[str, Any]:
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            return _error(None, INVALID_REQUEST, "not a JSON-RPC request")
        rid = req.get("id")
        params = req.get("params") or []
        if not isinstance(params, list):
            return _error(rid, INVALID_PARAMS, "params must be a list")
        method = req["method"]
        if method not in READ_METHODS:
            return _error(rid, METHOD_NOT_FOUND, f"{method} is not served (read-only ledger front)")
        if method not in methods:
            message = (
                f"{method} is not served to this key's role: a platform reads its own cases "
                "through the /v1 views (GET /v1/cases/{caseId}, /v1/returns)"
            )
            return _error(rid, NOT_FOR_ROLE, message, {"code": NOT_FOR_ROLE_CODE})
        try:
            if method in ("eth_estimateGas", "eth_getLogs"):  # they watch the time budget
                result = getattr(self, "_" + method)(deadline, *params)
            else:
                result = getattr(self, "_" + method)(*params)
        except RpcRefused as exc:
            return _error(rid, exc.code, str(exc))
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            return _error(rid, INVALID_PARAMS, f"bad params for {method}: {exc}")
        except Exception as exc:  # a revert or node error: the caller's web3 reports it
            return _error(rid, EXECUTION_FAILED, str(exc)[:500])
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

    def _call_of(self, tx: Any) -> dict[str, Any]:
        """The call `tx` asks for, checked before anything runs: to one of the consortium's
        contracts, with no value, and gas cut to the cap."""
        if not isinstance(tx, dict):
            raise RpcRefused(INVALID_PARAMS, "the call must be an object")
        if tx.get("to") is None:
            raise RpcRefused(CALL_REFUSED, "no contract creation: `to` must be set")
        if not isinstance(tx["to"], str):
            raise RpcRefused(INVALID_PARAMS, "`to` must be a 0x-hex address")
        target = to_checksum_address(tx["to"])
        if target not in self.call_targets:
            raise RpcRefused(
                CALL_REFUSED,
                f"calls go only to the consortium's contracts (Consortium, TaxAnchor, "
                f"ReturnLedger); {target} is not one",
            )
        if _quantity(tx.get("value"), "value"):
            raise RpcRefused(CALL_REFUSED, "a call through this front carries no value")
        cap = self.limits.call_gas_cap
        gas = min(_quantity(tx.get("gas"), "gas") or cap, cap)
        # A call runs as a funded account (eth-tester charges a call's gas to its sender);
        # nothing is written either way.
        sender = tx.get("from") or self.w3.eth.accounts[0]
        return {
            "to": target,
            "from": to_checksum_address(sender),
            "data": tx.get("data") or tx.get("input") or "0x",
            "gas": gas,
        }

    def _run(self, call: dict[str, Any], block: int) -> bytes:
        """Run `call` on the state of `block`; running out of its gas is refused in words.

        One call at a time in this process (`_CALLS`): many parallel requests, even within
        their keys' rate limits, must not queue many calls for the chain's lock ahead of the
        gateways' own work; a call that cannot start within CALL_WAIT_S is refused as busy."""
        if not _CALLS.acquire(timeout=CALL_WAIT_S):
            raise RpcRefused(
                LIMIT_EXCEEDED,
                f"the ledger front is busy with other calls; retry in {CALL_WAIT_S:g} s",
            )
        try:
            # No CCIP read: a revert must not make this gateway fetch URLs.
            result = self.w3.eth.call(call, block, ccip_read_enabled=False)  # type: ignore[arg-type]
        except Exception as exc:
            if _out_of_gas(exc):
                cap = self.limits.call_gas_cap
                raise RpcRefused(
                    EXECUTION_FAILED,
                    f"out of gas: the call needs more than {call['gas']} gas "
                    f"(calls through this front get at most {cap})",
                ) from exc
            raise
        finally:
            _CALLS.release()
        return bytes(result)

    def _eth_call(self, tx: dict[str, Any], tag: Any = "latest") -> str:
        call = self._call_of(tx)
        return "0x" + self._run(call, _block(self.w3, tag)).hex()

    def _eth_estimateGas(self, deadline: float, tx: dict[str, Any], tag: Any = "latest") -> str:
        # Not eth-tester's estimate: it searches up to the block gas limit, past the cap. The
        # call must succeed with the gas it may have; then halve the range between what failed
        # and what succeeded until it is narrow or the request's time is up.
        call = self._call_of(tx)
        block = _block(self.w3, tag)
        self._run(call, block)
        failed, succeeded = BASE_TX_GAS - 1, int(call["gas"])
        while succeeded - failed > ESTIMATE_TOLERANCE and self._clock() < deadline:
            mid = (failed + succeeded) // 2
            try:
                self._run({**call, "gas": mid}, block)
            except RpcRefused as exc:
                if exc.code == LIMIT_EXCEEDED:  # busy: no answer about this much gas
                    raise
                failed = mid
            except Exception:
                failed = mid
            else:
                succeeded = mid
        return hex(succeeded)

    def _eth_getCode(self, address: str, tag: Any = "latest") -> str:
        code = self.w3.eth.get_code(to_checksum_address(address), _block(self.w3, tag))
        return "0x" + bytes(code).hex()

    def _eth_getBlockByNumber(self, tag: Any, full: bool = False) -> Any:
        block = self.w3.eth.get_block(_block(self.w3, tag), full_transactions=False)
        return _rpc(dict(block))

    def _eth_getTransactionReceipt(self, tx_hash: str) -> Any:
        return _rpc(dict(self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))))

    def _eth_getLogs(self, deadline: float, flt: dict[str, Any]) -> list[Any]:
        if not isinstance(flt, dict):
            raise RpcRefused(INVALID_PARAMS, "the filter must be an object")
        head = int(self.w3.eth.block_number)
        start = _block(self.w3, flt.get("fromBlock", "earliest"))
        end = min(_block(self.w3, flt.get("toBlock", "latest")), head)
        if end - start > MAX_LOG_RANGE:
            raise RpcRefused(LIMIT_EXCEEDED, f"at most {MAX_LOG_RANGE} blocks per query")
        raw = flt.get("address")
        listed = [raw] if isinstance(raw, str) else raw or []
        if not isinstance(listed, list) or len(listed) > MAX_FILTER_ADDRESSES:
            raise RpcRefused(INVALID_PARAMS, f"address: at most {MAX_FILTER_ADDRESSES}")
        addresses = {to_checksum_address(a) for a in listed}
        topics = _topic_filter(flt.get("topics"))
        logs = self.log_source(start, end) if self.log_source is not None else None
        if logs is None:
            query: dict[str, Any] = {"fromBlock": start, "toBlock": end}
            logs = list(self.w3.eth.get_logs(query))  # type: ignore[arg-type]
        found = []
        for i, log in enumerate(logs):
            if i % 256 == 255 and self._clock() >= deadline:
                raise RpcRefused(
                    LIMIT_EXCEEDED,
                    "request time budget exhausted while filtering logs: ask for fewer blocks",
                )
            if (
                not addresses or to_checksum_address(log["address"]) in addresses
            ) and _topics_match(log, topics):
                found.append(_rpc(dict(log)))
        return found


def _error(rid: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": error}
