"""The `crossreturn` command line: operator commands of the gateway.

Exit codes: 0 success, 1 the command ran and found a problem, 2 bad usage or input (one line on
stderr, no traceback).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from node_gateway.ledger.embedded import JOURNAL, EmbeddedChain, LedgerJournalError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _open_chain(data_dir: Path) -> EmbeddedChain:
    if not (data_dir / JOURNAL).exists():
        _fail(f"{data_dir} holds no embedded ledger ({JOURNAL} missing)")
    try:
        return EmbeddedChain(data_dir)
    except LedgerJournalError as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers content


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """CrossReturn: mutual recognition of cross-customs-area returns on a shared ledger."""


@main.group(short_help="Inspect the embedded ledger.")
def ledger() -> None:
    """Inspect the embedded ledger kept in a data directory."""


DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
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
    for number in range(1, int(w3.eth.block_number) + 1):
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
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            for log in receipt["logs"]:
                yield {
                    "type": "event",
                    "block": number,
                    "tx": _hex(tx["hash"]),
                    "address": log["address"],
                    "topics": [_hex(t) for t in log["topics"]],
                    "data": _hex(log["data"]),
                }


if __name__ == "__main__":
    main()
