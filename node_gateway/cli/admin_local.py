"""`crossreturn admin` commands that work on a gateway's local files: API keys and the vault key
in its data directory, and the batches whose anchoring failed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from clients.cli.common import fail
from node_gateway.cli.common import GATEWAY_DB, directory_option, open_store
from node_gateway.services.auth import ROLES, issue_key, revoke
from node_gateway.services.auth import keys as list_api_keys


@click.group(short_help="Create, revoke and list API keys.")
def keys() -> None:
    """API keys bound to a member and a role."""


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
    key_id, key = issue_key(open_store(db_path), member, role)
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
    if not revoke(open_store(db_path), key_id):
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
    for row in list_api_keys(open_store(db_path)):
        fields = {
            "keyId": row.key_id,
            "member": row.member_id,
            "role": row.role,
            "createdAt": row.created_at,
            "revokedAt": row.revoked_at,
        }
        click.echo(json.dumps(fields) if as_json else "  ".join(str(v) for v in fields.values()))


@click.command("rotate-vault-key", short_help="New vault key; re-encrypt every record.")
@GATEWAY_DB
@directory_option(
    "--keys-dir",
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

    conn = open_store(db_path)
    try:
        keyring = Keyring.load(keys_dir)
        new_key = keyring.rotate()
        vault = Vault(conn, keyring)
        count = vault.reencrypt_all()
        retired = []
        if retire_old:
            # A running gateway may have sealed a record under the old key while the first
            # pass ran (it follows the rotation at its next write): a second pass re-seals
            # those, and `retire` counts under the write lock, so a key still in use is kept.
            count += vault.reencrypt_all()
            for key_id in keyring.key_ids:
                if key_id != new_key:
                    keyring.retire(key_id, vault)
                    retired.append(key_id)
    except StoreError as exc:
        fail(str(exc))
        return
    finally:
        conn.close()
    result = {"currentKey": new_key, "reencrypted": count, "retired": retired}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"current key {new_key}; {count} records re-encrypted; retired {retired or '-'}")


@click.command("anchoring", short_help="Batches whose anchoring failed; --retry sends them again.")
@GATEWAY_DB
@click.option("--retry", is_flag=True, help="queue the anchoring of the listed batches again")
@click.option("--batch", "batch_ids", multiple=True, help="only this batch (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def admin_anchoring(db_path: Path, retry: bool, batch_ids: tuple[str, ...], as_json: bool) -> None:
    """List the sealed batches whose anchoring write failed (their records are accepted and in
    the vault, but no return can be applied for them until their root is on the ledger); with
    --retry, once the cause is mended (e.g. the area reinstated), queue each again. The
    running gateway sends them; /metrics counts them as crossreturn_anchorings_failed.

    Example: crossreturn admin anchoring --db data/gateway-3100.db --retry
    """
    from node_gateway.pipeline.anchoring import retry_failed_anchorings
    from node_gateway.store import batches

    conn = open_store(db_path)
    try:
        wanted = set(batch_ids) or None
        stuck = [
            b for b in batches.failed_anchorings(conn) if wanted is None or b["batchId"] in wanted
        ]
        unknown = sorted((wanted or set()) - {b["batchId"] for b in stuck})
        if unknown:
            fail(f"no failed anchoring for batch {', '.join(unknown)}")
        queued = retry_failed_anchorings(conn, wanted) if retry else []
    finally:
        conn.close()
    shown = [
        {k: b[k] for k in ("batchId", "kind", "leafCount", "root", "error", "failedAt")}
        | {"queued": b["batchId"] in queued}
        for b in stuck
    ]
    if as_json:
        click.echo(json.dumps(shown))
        return
    if not shown:
        click.echo("no failed anchoring")
    for b in shown:
        state = "queued again" if b["queued"] else "failed"
        click.echo(f"{b['batchId']}  {b['leafCount']} records  {state}: {b['error']}")
