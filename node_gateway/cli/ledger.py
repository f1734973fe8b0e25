"""`crossreturn ledger`: read the embedded ledger kept in a data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from clients.cli.common import fail
from node_gateway.cli.common import directory_option
from node_gateway.ledger.backends.embedded import JOURNAL, EmbeddedChain, LedgerJournalError


def _open_chain(data_dir: Path) -> EmbeddedChain:
    if not (data_dir / JOURNAL).exists():
        fail(f"{data_dir} holds no embedded ledger ({JOURNAL} missing)")
    try:
        return EmbeddedChain(data_dir)
    except LedgerJournalError as exc:
        fail(str(exc))
        raise  # unreachable; keeps type checkers content


@click.group(short_help="Inspect the embedded ledger.")
def ledger() -> None:
    """Inspect the embedded ledger kept in a data directory."""


DATA_DIR = directory_option(
    "--data-dir",
    required=True,
    help="the embedded ledger's directory (holds journal.jsonl)",
)


@ledger.command(short_help="Print the head block as JSON.")
@DATA_DIR
def head(data_dir: Path) -> None:
    """Print {"number", "hash", "state_root"} of the head block.

    Example: crossreturn ledger head --data-dir data/ledger
    """
    click.echo(json.dumps(_open_chain(data_dir).head()))


@ledger.command(short_help="Every transaction and event as JSON lines.")
@DATA_DIR
def dump(data_dir: Path) -> None:
    """Print every transaction (input hex) and every event (topics, data hex) as JSON lines:
    the archive an auditor keeps.

    Example: crossreturn ledger dump --data-dir data/ledger > ledger.jsonl
    """
    for line in _dump(_open_chain(data_dir)):
        click.echo(json.dumps(line))


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def _dump(chain: EmbeddedChain) -> Iterator[dict[str, Any]]:
    w3 = chain.w3
    head = int(w3.eth.block_number)
    # Logs as captured when each block was mined: eth-tester's receipt lookup walks back from
    # the head, which made a dump quadratic in the chain's length.
    captured = chain.logs_between(1, head)
    by_tx: dict[bytes, list[Any]] = {}
    for log in captured or []:
        by_tx.setdefault(bytes(log["transactionHash"]), []).append(log)
    for number in range(1, head + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            assert not isinstance(tx, bytes)
            yield {
                "type": "transaction",
                "block": number,
                "timestamp": int(block["timestamp"]),
                "hash": _hex(tx["hash"]),
                "from": tx["from"],
                "to": tx.get("to"),
                # JSON-RPC names it "input"; eth-tester's block objects name it "data"
                "input": _hex(tx["input"] if "input" in tx else tx["data"]),
            }
            if captured is None:
                logs = list(w3.eth.get_transaction_receipt(tx["hash"])["logs"])
            else:
                logs = by_tx.get(bytes(tx["hash"]), [])
            for log in logs:
                yield {
                    "type": "event",
                    "block": number,
                    "tx": _hex(tx["hash"]),
                    "address": log["address"],
                    "topics": [_hex(t) for t in log["topics"]],
                    "data": _hex(log["data"]),
                }
