"""The `crossreturn` command line: operator commands of the gateway.

Exit codes: 0 success, 1 the command ran and found a problem, 2 bad usage or input (one line on
stderr, no traceback).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from node_gateway.ledger.embedded import JOURNAL, EmbeddedChain, LedgerJournalError
from node_gateway.services.auth import ROLES, issue_key, revoke
from node_gateway.services.auth import keys as list_api_keys


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


@main.group(short_help="Administer this gateway (API keys).")
def admin() -> None:
    """Administer a gateway's data directory."""


@admin.group(short_help="Create, revoke and list API keys.")
def keys() -> None:
    """API keys bound to a member and a role."""


GATEWAY_DB = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="the gateway's database file (data_dir/gateway-<code>.db)",
)


def _open_store(path: Path) -> sqlite3.Connection:
    from node_gateway.store import StoreError, migrate, open_db

    try:
        conn = open_db(path)
        migrate(conn)
    except (StoreError, sqlite3.Error, OSError) as exc:
        _fail(f"{path}: {exc}")
        raise
    return conn


@keys.command("create", short_help="Issue a key (printed once).")
@GATEWAY_DB
@click.option("--member", required=True, help="member label, e.g. platform-a")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def keys_create(db_path: Path, member: str, role: str, as_json: bool) -> None:
    """Issue an API key; the key is shown once and only its hash is stored.

    Example:

      crossreturn admin keys create --db data/gateway-2900.db --member customs-2900 --role officer
    """
    key_id, key = issue_key(_open_store(db_path), member, role)
    if as_json:
        click.echo(json.dumps({"keyId": key_id, "key": key, "member": member, "role": role}))
    else:
        click.echo(f"key {key_id} for {member} ({role}) — shown once, store it now:\n{key}")


@keys.command("revoke", short_help="Revoke a key by id.")
@GATEWAY_DB
@click.argument("key_id")
def keys_revoke(db_path: Path, key_id: str) -> None:
    """Revoke an API key; exit 1 if no active key has that id.

    Example: crossreturn admin keys revoke --db data/gateway-2900.db 3f2a9c0d1e2b4a5f
    """
    if not revoke(_open_store(db_path), key_id):
        click.echo(f"no active key {key_id}", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id}")


@keys.command("list", short_help="List keys (never their secrets).")
@GATEWAY_DB
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
def keys_list(db_path: Path, as_json: bool) -> None:
    """List API keys: id, member, role, created, revoked.

    Example: crossreturn admin keys list --db data/gateway-2900.db --json
    """
    for row in list_api_keys(_open_store(db_path)):
        fields = {
            "keyId": row.key_id,
            "member": row.member_id,
            "role": row.role,
            "createdAt": row.created_at,
            "revokedAt": row.revoked_at,
        }
        click.echo(json.dumps(fields) if as_json else "  ".join(str(v) for v in fields.values()))


if __name__ == "__main__":
    main()


# ---------------------------------------------------------------------- consortium


# Ningbo recognises automatically; Zhengzhou leaves recognition to its officers.
DEMO_RECOGNITION = {"3100": "automatic", "4600": "officer", "2900": "officer"}

CONSORTIUM_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/consortium"),
    show_default=True,
    help="where the consortium keeps its ledger, stores and keys",
)


@main.command(short_help="Run the 3-area demo consortium on the embedded ledger.")
@CONSORTIUM_DIR
@click.option("--base-port", type=click.IntRange(1024, 65000), default=8200, show_default=True)
@click.option(
    "--demo/--no-demo", default=True, show_default=True, help="load the demo story on first start"
)
def up(data_dir: Path, base_port: int, demo: bool) -> None:
    """Run Hangzhou (2900, return centre), Ningbo (3100) and Zhengzhou (4600) gateways on one
    embedded ledger, each on its own port; a second run resumes with everything kept.

    Example: crossreturn up --data-dir data/consortium --base-port 8200
    """
    import signal
    import threading

    from node_gateway.consortium import Consortium
    from node_gateway.demo import run_story

    c = Consortium.open(data_dir, base_port=base_port, recognition=DEMO_RECOGNITION)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if c.fresh and demo:
            click.echo("loading the demo story (first start)…")
            run_story(c, progress=lambda m: click.echo(f"  {m}"))
        try:
            urls = c.serve()
        except OSError as exc:
            _fail(f"cannot listen: {exc}")
        c.start()
        click.echo(f"ledger head: {json.dumps(c.chain.head())}")
        for (code, gw), url in zip(c.gateways.items(), urls, strict=True):
            click.echo(f"\n{code} {gw.settings.area_label} ({gw.settings.role})")
            click.echo(f"  API   {url}/v1    docs {url}/docs")
            for role, key in c.credentials[code].items():
                click.echo(f"  {role:<9} {key}")
        click.echo("\nCtrl-C stops; `crossreturn up` again resumes.")
        stop.wait()
    finally:
        c.stop()
        click.echo("stopped")


@main.command(short_help="Run the demo story to completion without serving.")
@CONSORTIUM_DIR
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary")
@click.option(
    "--records",
    type=click.IntRange(1, 100_000),
    default=520,
    show_default=True,
    help="tax records per origin area",
)
def demo(data_dir: Path, as_json: bool, records: int) -> None:
    """Found a consortium in DATA_DIR, ingest tax records in Ningbo and Zhengzhou, carry returns
    through every state at the Hangzhou return centre; source documents go to DIR/messages/.

    Example: crossreturn demo --data-dir /tmp/story --json
    """
    from node_gateway.consortium import Consortium
    from node_gateway.demo import run_story

    c = Consortium.open(data_dir, recognition=DEMO_RECOGNITION)
    try:
        if not c.fresh:
            _fail(f"{data_dir} already holds a consortium; the demo needs a new directory")
        say = (lambda _m: None) if as_json else (lambda m: click.echo(m))
        result = run_story(
            c, records_per_origin=records, messages=data_dir / "messages", progress=say
        )
    finally:
        c.stop()
    click.echo(json.dumps(result, indent=None if as_json else 2))


@admin.command("rotate-vault-key", short_help="New vault key; re-encrypt every record.")
@GATEWAY_DB
@click.option(
    "--keys-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="the gateway's vault key directory (data_dir/keys)",
)
@click.option("--retire-old", is_flag=True, help="move keys no record uses into keys/retired/")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def rotate_vault_key(db_path: Path, keys_dir: Path, retire_old: bool, as_json: bool) -> None:
    """Write a new current key, re-encrypt every vault record under it (in batches, each its
    own transaction, safe to interrupt and re-run), optionally retire the old keys.

    Example: crossreturn admin rotate-vault-key --db data/gateway-2900.db --keys-dir data/keys
    """
    from node_gateway.store import Keyring, StoreError, Vault

    conn = _open_store(db_path)
    try:
        keyring = Keyring.load(keys_dir)
        new_key = keyring.rotate()
        vault = Vault(conn, keyring)
        count = vault.reencrypt_all()
        retired = []
        if retire_old:
            for key_id in keyring.key_ids:
                if key_id != new_key:
                    keyring.retire(key_id, vault)
                    retired.append(key_id)
    except StoreError as exc:
        _fail(str(exc))
        return
    finally:
        conn.close()
    result = {"currentKey": new_key, "reencrypted": count, "retired": retired}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"current key {new_key}; {count} records re-encrypted; retired {retired or '-'}")
