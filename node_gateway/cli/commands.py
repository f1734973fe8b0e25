"""The `crossreturn` command line: operator commands of the gateway.

Exit codes: 0 success, 1 the command ran and found a problem, 2 bad usage or input (one line on
stderr, no traceback); commands that talk to a gateway over HTTP (the SDK's groups, `admin
members|proposals|propose|vote`) add 3 unreachable, 4 key refused, 5 request refused, 6 timed
out (clients.cli.common).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from clients.bindings.enums import PARAMETERS
from clients.cli.auditor import auditor
from clients.cli.common import (
    AS_JSON,
    TIMEOUT,
    WAIT,
    connect,
    emit_json,
    fail,
    fields,
    gateway_options,
    handles_errors,
    operation_fields,
    short,
    show,
    table,
)
from clients.cli.officer import officer
from clients.cli.platform import platform
from clients.errors import LedgerError, NodeRefused
from clients.http import GatewayClient
from node_gateway.config import GatewaySettings
from node_gateway.ledger.backends.embedded import JOURNAL, EmbeddedChain, LedgerJournalError
from node_gateway.services.auth import ROLES, issue_key, revoke
from node_gateway.services.auth import keys as list_api_keys


def _open_chain(data_dir: Path) -> EmbeddedChain:
    if not (data_dir / JOURNAL).exists():
        fail(f"{data_dir} holds no embedded ledger ({JOURNAL} missing)")
    try:
        return EmbeddedChain(data_dir)
    except LedgerJournalError as exc:
        fail(str(exc))
        raise  # unreachable; keeps type checkers content


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """CrossReturn: mutual recognition of cross-customs-area returns on a shared ledger."""


main.add_command(platform)
main.add_command(officer)


main.add_command(auditor)


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


@main.group(short_help="Administer this gateway (API keys, vault key, governance).")
def admin() -> None:
    """Administer a gateway: API keys and the vault key in its data directory; Consortium
    governance (members, proposals, votes) through its API with an admin key."""


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


# An operator's command may run beside a busy gateway: wait longer than the gateway's own 5 s
# for its turn at the write lock rather than fail "database is locked".
OPERATOR_BUSY_TIMEOUT_MS = 30_000


def _open_store(path: Path) -> sqlite3.Connection:
    from node_gateway.store import StoreError, migrate, open_db

    try:
        conn = open_db(path, busy_timeout_ms=OPERATOR_BUSY_TIMEOUT_MS)
        migrate(conn)
    except (StoreError, sqlite3.Error, OSError) as exc:
        fail(f"{path}: {exc}")
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


# ---------------------------------------------------------------------- stopping


class _StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM as the operator's request to stop a foreground command
    (`up`, `serve`, `node anvil`); installed first thing, so that no moment of the command
    turns them into click's "Aborted!" (exit 1). The command stops cleanly, exit status 0.

    A signal sets `requested`, which the command checks between its steps. Inside
    `interruptible()` the first signal also raises KeyboardInterrupt, cutting short a step
    that cannot check it (a replay, the demo story, a call to a slow node, waiting): only
    steps that start no process or thread. A further signal finds the stop under way and
    changes nothing, so nothing interrupts the clean-up.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._signals = 0
        self._interruptible = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Ignored ones stay so: `nohup`, or `&` in a script, keep Ctrl-C off a background job.
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, self._on_signal)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self._signals += 1
        if self._signals > 1:
            return  # stopping already
        # The main thread never waits on `requested` (Event.wait holds its lock, which set
        # takes): set here cannot deadlock.
        self.requested.set()
        if self._interruptible:
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was requested."""
        if self.requested.is_set():
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Let the first signal interrupt the block (KeyboardInterrupt), which must start no
        process or thread; checks `requested` on entry and on exit too."""
        self.check()
        self._interruptible = True
        try:
            yield
        except Exception:
            # The signal's KeyboardInterrupt may arrive wrapped: raised inside a callback that
            # a library (pydantic-core's serializer) converts into its own error.
            if self.requested.is_set():
                raise KeyboardInterrupt from None
            raise
        finally:
            self._interruptible = False
        self.check()  # a step may swallow the KeyboardInterrupt

    def wait(self) -> None:
        """Block until a stop is requested (then raise KeyboardInterrupt)."""
        with self.interruptible():
            while True:
                time.sleep(3600)


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
@click.option(
    "--records",
    type=click.IntRange(60, 100_000),
    default=520,
    show_default=True,
    help="demo tax records per origin area (first start)",
)
def up(data_dir: Path, base_port: int, demo: bool, records: int) -> None:
    """Run Hangzhou (2900, return centre), Ningbo (3100) and Zhengzhou (4600) gateways on one
    embedded ledger, each on its own port; a second run resumes with everything kept.

    Example: crossreturn up --data-dir data/consortium --base-port 8200
    """
    stop = _StopSignals()
    from node_gateway.run.demo import run_story
    from node_gateway.run.local_consortium import Consortium

    c: Consortium | None = None
    loading = False
    try:
        with stop.interruptible():  # long on a second start: it replays the ledger's journal
            c = Consortium.open(data_dir, base_port=base_port, recognition=DEMO_RECOGNITION)
        if c.fresh and demo:
            click.echo("loading the demo story (first start)…")
            loading = True
            # Stopped cooperatively, between steps: a KeyboardInterrupt raised from the signal
            # handler could land where Python can only print it ("Exception ignored in …").
            run_story(
                c,
                records_per_origin=records,
                progress=lambda m: click.echo(f"  {m}"),
                check=stop.check,
            )
            loading = False
        try:
            urls = c.serve()
        except OSError as exc:
            fail(f"cannot listen: {exc}")
        stop.check()
        c.start()
        click.echo(f"ledger head: {json.dumps(c.chain.head())}")
        for (code, gw), url in zip(c.gateways.items(), urls, strict=True):
            click.echo(f"\n{code} {gw.settings.area_label} ({gw.settings.role})")
            click.echo(f"  API   {url}/v1    docs {url}/docs")
            for role, key in c.credentials[code].items():
                click.echo(f"  {role:<9} {key}")
        env_dir = c.write_client_env(dict(zip(c.gateways, urls, strict=True)))
        click.echo(f"\nclient settings (source one, then run `crossreturn …`): {env_dir}/*.env")
        click.echo("\nCtrl-C stops; `crossreturn up` again resumes.")
        stop.wait()
    except KeyboardInterrupt:
        pass  # the operator's stop
    finally:
        if c is not None:
            c.stop()
    if loading:
        click.echo(f"stopped while loading the demo story: {data_dir} keeps part of it")
    else:
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
    from node_gateway.run.demo import run_story
    from node_gateway.run.local_consortium import Consortium

    c = Consortium.open(data_dir, recognition=DEMO_RECOGNITION)
    try:
        if not c.fresh:
            fail(f"{data_dir} already holds a consortium; the demo needs a new directory")
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


@admin.command("anchoring", short_help="Batches whose anchoring failed; --retry sends them again.")
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

    conn = _open_store(db_path)
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


# ---------------------------------------------------------------------- governance (over HTTP)

# These commands talk to a gateway's API, not to a data directory: they share the SDK command
# line's options, output layer and exit codes (clients.cli.common: 3 unreachable, 4 key
# refused, 5 request refused, 6 timed out).
PROPOSAL_KINDS = (
    "suspension",
    "reinstatement",
    "account-addition",
    "account-removal",
    "parameter",
    "threshold",
    "admission",
)
PROPOSAL_COLUMNS = ("id", "kind", "target", "proposer", "approvals", "status", "we approved")


def _proposal_row(p: dict[str, Any]) -> list[Any]:
    approvals = f"{p['approvals']}/{p['threshold']}"
    ours = "yes" if p["approvedByThisArea"] else "no"
    return [p["id"], p["kind"], p["target"], p["proposer"], approvals, p["status"], ours]


@admin.command("members", short_help="List the Consortium's members (through a gateway).")
@gateway_options
@AS_JSON
@handles_errors
def admin_members(gateway: str, api_key: str, as_json: bool) -> None:
    """List every member of the Consortium as the gateway's ledger holds it: label, kind,
    status, customs code, signing accounts, gateway URL, whether it registered an encryption
    key. An admin, officer or auditor key of the gateway will do.

    \b
    Example:
      crossreturn admin members --gateway http://127.0.0.1:8200 --api-key cr_…
    """
    with connect(gateway, api_key) as client:
        body = client.request("GET", "/v1/governance/members")
    if as_json:
        emit_json(body)
        return
    rows = [
        [
            m["label"] or short(m["memberId"]),
            m["kind"],
            m["status"] + (" (by vote)" if m["suspendedByVote"] else ""),
            m["customsCode"],
            "\n".join(m["accounts"]),
            m["gatewayUrl"],
            "yes" if m["encryptionKey"] else "no",
        ]
        for m in body["members"]
    ]
    title = f"Members — threshold {body['threshold']} of {body['activeCustoms']} customs areas"
    columns = ("member", "kind", "status", "code", "accounts", "gateway", "key")
    show(table(title, columns, rows))


@admin.command("proposals", short_help="List governance proposals, newest first.")
@click.option("--status", type=click.Choice(["open", "executed", "expired"]), help="only these")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@gateway_options
@AS_JSON
@handles_errors
def admin_proposals(
    status: str | None, limit: int, gateway: str, api_key: str, as_json: bool
) -> None:
    """List proposals: what each changes, who proposed it, its approvals against the
    threshold, its status, and whether this gateway's area approved it.

    \b
    Example:
      crossreturn admin proposals --status open --gateway http://127.0.0.1:8200 --api-key cr_…
    """
    with connect(gateway, api_key) as client:
        body = client.request(
            "GET", "/v1/governance/proposals", params={"status": status, "limit": limit}
        )
    if as_json:
        emit_json(body)
        return
    title = f"Proposals — {body['proposalCount']} in all, threshold {body['threshold']}"
    show(table(title, PROPOSAL_COLUMNS, [_proposal_row(p) for p in body["proposals"]]))


def _accepted(
    client: GatewayClient, accepted: dict[str, Any], wait: bool, timeout: float, as_json: bool
) -> dict[str, Any]:
    """Wait for an accepted write's operation if asked; print it unless --json."""
    operation: dict[str, Any] = accepted["operation"]
    if wait:
        operation = client.wait(operation, timeout=timeout)
    if not as_json:
        show(fields(None, operation_fields(operation)))
    return operation


@admin.command("propose", short_help="Propose a governance change (this area signs).")
@click.argument("kind", type=click.Choice(PROPOSAL_KINDS), metavar="KIND")
@click.option("--member", help="the member concerned: label (customs-4600) or 0x id")
@click.option("--account", help="a signing account (0x address)")
@click.option("--parameter", help=", ".join(PARAMETERS))
@click.option("--value", type=int, help="the parameter's value (seconds, lines) or threshold")
@click.option("--label", help="admission: the new member's label")
@click.option("--member-kind", type=click.Choice(["customs", "auditor"]), help="admission")
@click.option("--customs-code", help="admission of a customs area: its 4-digit code")
@click.option("--encryption-key", help="admission: the member's HPKE public key (0x hex)")
@click.option("--gateway-url", help="admission: the member's gateway URL")
@click.option(
    "--possession", help="account-addition: the new account's AccountPossession signature (0x)"
)
@click.option(
    "--registration", help="admission: the new account's MemberRegistration signature (0x)"
)
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def admin_propose(
    kind: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
    **options: Any,
) -> None:
    """Propose KIND through the gateway with its admin key: the area's ledger account signs
    and its approval counts at once. What the Consortium would refuse is refused before
    anything is sent (exit 5, with the problem's code). The new proposal's id shows in
    `admin proposals`.

    \b
    KIND and its options:
      suspension, reinstatement           --member
      account-addition                    --member --account --possession
      account-removal                     --member --account
      parameter                           --parameter --value
      threshold                           --value
      admission                           --label --member-kind --account --registration
                                          [--customs-code] [--encryption-key] [--gateway-url]

    \b
    The signatures are the new account's own (EIP-712, clients.member_signing): it proves it
    holds its key, so no area can put a key of its choosing on another member. Account
    additions by vote are for a member that lost every key; one that holds a key adds and
    removes its accounts itself.

    \b
    Example:
      crossreturn admin propose suspension --member platform-x \\
        --gateway http://127.0.0.1:8200 --api-key cr_…
    """
    names = {
        "member_kind": "memberKind",
        "customs_code": "customsCode",
        "encryption_key": "encryptionKey",
        "gateway_url": "gatewayUrl",
    }
    body = {"kind": kind} | {names.get(k, k): v for k, v in options.items() if v is not None}
    with connect(gateway, api_key) as client:
        accepted = client.request("POST", "/v1/governance/proposals", json=body)
        operation = _accepted(client, accepted, wait, timeout, as_json)
    if as_json:
        emit_json({**accepted, "operation": operation})


@admin.command("vote", short_help="Approve a governance proposal (this area signs).")
@click.argument("proposal_id", type=click.IntRange(0, 2**64 - 1))
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def admin_vote(
    proposal_id: int, gateway: str, api_key: str, wait: bool, timeout: float, as_json: bool
) -> None:
    """Approve proposal PROPOSAL_ID with the gateway's admin key (the area's ledger account
    signs); the approval that reaches the threshold executes the proposal. With --wait (the
    default) the proposal's state after the vote is shown too.

    \b
    Example:
      crossreturn admin vote 3 --gateway http://127.0.0.1:8201 --api-key cr_…
    """
    with connect(gateway, api_key) as client:
        accepted = client.request("POST", f"/v1/governance/proposals/{proposal_id}/votes")
        operation = _accepted(client, accepted, wait, timeout, as_json)
        proposal = None
        if wait:
            proposal = client.request("GET", f"/v1/governance/proposals/{proposal_id}")
    if as_json:
        emit_json({**accepted, "operation": operation, "proposal": proposal})
    elif proposal is not None:
        show(table(None, PROPOSAL_COLUMNS, [_proposal_row(proposal)]))


@main.command(short_help="Prepare a new customs area and propose its admission.")
@click.option("--label", required=True, help="the new area's member label, e.g. customs-5300")
@click.option("--customs-code", required=True, help="its 4-digit customs code")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="the new gateway's data directory (its keys are created under DATA_DIR/keys)",
)
@click.option("--gateway-url", required=True, help="the URL the new gateway will serve at")
@gateway_options
@WAIT
@TIMEOUT
@AS_JSON
@handles_errors
def join(
    label: str,
    customs_code: str,
    data_dir: Path,
    gateway_url: str,
    gateway: str,
    api_key: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Create the new area's signing account and HPKE keys under DATA_DIR/keys (kept if they
    exist; files of mode 0600), then propose its admission through a member area's gateway
    (--gateway, with that area's admin key). The other areas approve with `crossreturn admin
    vote ID`; once admitted, the new gateway starts with CROSSRETURN_DATA_DIR=DATA_DIR and the
    deployment manifest, and publishes its profile. On a network with gas fees, fund the
    printed account first.

    \b
    Example:
      crossreturn join --label customs-5300 --customs-code 5300 --data-dir data/5300 \\
        --gateway-url https://gw.5300.example --gateway http://127.0.0.1:8200 --api-key cr_…
    """
    from clients.ledger_bindings import member_id
    from clients.member_signing import MemberRegistration, sign_member_message
    from node_gateway.ledger.signer import address_of
    from node_gateway.run.local_consortium import load_or_create_key
    from node_gateway.services.context import load_encryption_keys

    if not (customs_code.isdigit() and len(customs_code) == 4):
        fail(f"--customs-code wants 4 digits, got {customs_code!r}")
    if not gateway_url.startswith(("http://", "https://")):
        fail(f"--gateway-url must be an http(s) URL, got {gateway_url!r}")
    try:
        new_member = member_id(label)
    except ValueError as exc:
        fail(f"--label: {exc}")
        raise
    keys_dir = data_dir / "keys"
    try:
        key = load_or_create_key(keys_dir / "account.key")
        account = address_of(key)
        encryption = load_encryption_keys(keys_dir).public_bytes()
    except (OSError, ValueError) as exc:
        fail(f"cannot create the keys under {keys_dir}: {exc}")
        raise
    with connect(gateway, api_key) as client:
        ledger = client.request("GET", "/v1/ledger")
        # The new account signs its own admission (a fresh key's first proof: nonce 0).
        registration = sign_member_message(
            MemberRegistration(new_member, account, encryption, gateway_url, 0),
            key,
            int(ledger["chainId"]),
            str(ledger["addresses"]["Consortium"]),
        )
        body = {
            "kind": "admission",
            "label": label,
            "memberKind": "customs",
            "customsCode": customs_code,
            "account": account,
            "encryptionKey": "0x" + encryption.hex(),
            "gatewayUrl": gateway_url,
            "registration": "0x" + registration.hex(),
        }
        accepted = client.request("POST", "/v1/governance/proposals", json=body)
        operation = _accepted(client, accepted, wait, timeout, as_json)
    result = {**accepted, "operation": operation, "account": account, "keysDir": str(keys_dir)}
    if as_json:
        emit_json(result)
    else:
        show(
            f"{label} ({customs_code}): account {account}, keys in {keys_dir}\n"
            "the other areas approve with `crossreturn admin vote <proposal id>` "
            "(see `crossreturn admin proposals`)"
        )


@main.command(short_help="Run one area's gateway on a JSON-RPC ledger node.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="a file of CROSSRETURN_* settings (the environment wins)",
)
@click.option("--public-url", help="the URL peers reach this gateway at (default http://HOST:PORT)")
def serve(env_file: Path | None, public_url: str | None) -> None:
    """Run this customs area's gateway until Ctrl-C / SIGTERM, configured by CROSSRETURN_*
    settings (area label, customs code, role, CROSSRETURN_LEDGER = the node's JSON-RPC URL,
    CROSSRETURN_DEPLOYMENT_FILE = the manifest from `crossreturn deploy`, data dir, port …).
    The node's chain id must be the manifest's.

    \b
    Example:
      CROSSRETURN_AREA_LABEL=customs-2900 CROSSRETURN_CUSTOMS_CODE=2900 \\
      CROSSRETURN_ROLE=return_centre CROSSRETURN_LEDGER=http://127.0.0.1:8545 \\
      CROSSRETURN_DEPLOYMENT_FILE=deployment.json CROSSRETURN_DATA_DIR=data/2900 \\
      crossreturn serve --public-url https://gw.2900.example
    """
    stop = _StopSignals()
    from pydantic import ValidationError

    from node_gateway.run.gateway import Gateway
    from node_gateway.run.serve import ServeError, prepare, run

    gateway: Gateway | None = None
    try:
        with stop.interruptible():
            settings = GatewaySettings(_env_file=env_file)  # type: ignore[call-arg]
            gateway = prepare(settings, public_url)
        run(gateway, stop.requested)
    except KeyboardInterrupt:
        pass  # the operator's stop
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(f"settings: {where}: {first['msg']}")
    except (ServeError, LedgerError) as exc:
        fail(str(exc), 3)
    except OSError as exc:
        fail(f"cannot serve: {exc}", 3)
    finally:
        if gateway is not None:
            gateway.stop()
    click.echo("stopped")


@main.command(short_help="Deploy the contracts on a JSON-RPC node and write the manifest.")
@click.option("--rpc", required=True, help="the node's JSON-RPC URL, e.g. http://127.0.0.1:8545")
@click.option(
    "--founders",
    "founders_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="the founding members and the threshold (.json or .toml)",
)
@click.option(
    "--funder-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="the deployer's private key (hex); it pays the deployment and the members' gas money",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="where to write the deployment manifest",
)
@click.option(
    "--gas-money",
    type=click.IntRange(min=0),
    help="wei sent to each member account  [default: 10^19 if the chain charges gas, else 0]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="seconds to wait for the node's answer and for each transaction",
)
@click.option("--force", is_flag=True, help="overwrite an existing --out file")
@AS_JSON
def deploy(
    rpc: str,
    founders_file: Path,
    funder_key_file: Path,
    out: Path,
    gas_money: int | None,
    timeout: float,
    force: bool,
    as_json: bool,
) -> None:
    """Deploy Consortium, TaxAnchor and ReturnLedger on the node at --rpc, with the founding
    customs areas of --founders registered by account, platforms registered by their sponsor
    and auditors admitted by vote (those need the acting founders' keyFile), then write the
    deployment manifest every gateway reads (CROSSRETURN_DEPLOYMENT_FILE): chain id,
    addresses, artifact sha256s, deployment block, deployer, members, threshold.

    Exit 2: bad founders file, key file or --out exists; 3: the node does not answer; 1: the
    node refused a transaction (nothing is written then).

    \b
    Example:
      crossreturn deploy --rpc http://127.0.0.1:8545 --founders founders.toml \\
        --funder-key-file deployer.key --out deployment.json
    """
    from clients.errors import ContractRevert, InputFileError
    from node_gateway.deploy.bootstrap import found_on_node
    from node_gateway.deploy.founders import load_founders
    from node_gateway.deploy.manifest import Manifest
    from node_gateway.ledger.backends.rpc_node import RpcNode
    from node_gateway.ledger.signer import read_key_file

    if out.exists() and not force:
        fail(
            f"{out} exists (a manifest of an earlier deployment?): choose another --out or --force"
        )
    try:
        plan = load_founders(founders_file)
        funder_key = read_key_file(funder_key_file)
    except InputFileError as exc:
        fail(str(exc))
    node = RpcNode(rpc, timeout=timeout, receipt_timeout=timeout)
    if not node.is_up():
        fail(f"no JSON-RPC node answers at {rpc}", 3)
    lost = "nothing was written; contracts deployed so far are abandoned"
    try:
        deployment = found_on_node(
            node, funder_key, plan.members, plan.threshold, plan.signing_keys, gas_money
        )
    except ContractRevert as exc:
        fail(f"a deployment transaction reverted: {exc}; {lost}", 1)
    except NodeRefused as exc:
        fail(f"the node refused a transaction: {exc}; {lost}", 1)
    except LedgerError as exc:
        fail(f"lost the node at {rpc}: {_one_line(exc)}; {lost}", 3)
    manifest = Manifest.of(deployment, plan.members, plan.threshold)
    try:
        manifest.write(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    if as_json:
        emit_json(manifest.to_json())
        return
    pairs: list[tuple[str, Any]] = [
        ("chain", manifest.chain_id),
        ("block", manifest.deployment_block),
        ("deployer", manifest.deployer),
        *manifest.addresses.items(),
        ("members", ", ".join(m.label for m in manifest.members)),
        ("threshold", manifest.threshold),
        ("manifest", str(out)),
    ]
    show(fields("deployed", pairs))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


@main.group(short_help="Run a local JSON-RPC ledger node (anvil) for trials and tests.")
def node() -> None:
    """Local ledger nodes. anvil has no access control: it listens on 127.0.0.1 only and is
    no production node (production runs Besu, see scripts/besu)."""


@node.command("anvil", short_help="Run anvil on 127.0.0.1 until Ctrl-C; its chain kept in --state.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="the chain's state file: loaded if it exists, written on stop and every second",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option("--chain-id", type=click.IntRange(min=1), default=31337, show_default=True)
@click.option("--gas-limit", type=click.IntRange(min=1), help="block gas limit (anvil's default)")
def node_anvil(state_file: Path, port: int, chain_id: int, gas_limit: int | None) -> None:
    """Run the pinned anvil (`make anvil`, or CROSSRETURN_ANVIL) in the foreground. Ctrl-C or
    SIGTERM stops it cleanly, writing the state file; the next start resumes that chain.

    \b
    Example:
      crossreturn node anvil --state data/anvil/state.json --port 8545
    """
    stop = _StopSignals()
    from node_gateway.ledger.backends.anvil import DEV_KEY, AnvilError, AnvilNode
    from node_gateway.ledger.signer import address_of

    anvil = AnvilNode(state_file, port=port, chain_id=chain_id, gas_limit=gas_limit)
    answered = False
    exited: int | None = None  # anvil's status, had it exited by itself
    try:
        anvil.start(cancel=stop.requested)
        stop.check()
        answered = True
        click.echo(f"anvil at {anvil.url}, chain {chain_id}, state in {state_file}")
        click.echo(
            f"funded dev account {address_of(DEV_KEY)} "
            f"(anvil's public test key 0x{DEV_KEY.hex()}); Ctrl-C stops"
        )
        with stop.interruptible():
            exited = anvil.wait()
    except KeyboardInterrupt:
        exited = None  # the operator's stop, which may have reached anvil too (a cgroup's)
    except AnvilError as exc:
        fail(str(exc), 3)
    finally:
        status = anvil.stop()
    if exited is not None:
        fail(f"anvil exited by itself with status {exited}", 1)
    if answered and status != 0:
        fail(f"anvil stopped with status {status}: its state may lack the last second", 1)
    click.echo("stopped; state written" if answered else "stopped")


@main.command(
    short_help="Run the performance benchmarks (a source checkout's scripts/bench.py).",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("bench_args", nargs=-1, type=click.UNPROCESSED)
def bench(bench_args: tuple[str, ...]) -> None:
    """Run scripts/bench.py of the source checkout this CLI is installed from, passing every
    argument through; its last line is one JSON object. `make bench` does the same.

    \b
    Example:
      crossreturn bench --only commitments
      crossreturn bench --only gateway --scale 0.1
    """
    import subprocess

    script = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
    if not script.exists():
        fail("the benchmarks run from a source checkout (scripts/bench.py not found)")
    sys.exit(subprocess.call([sys.executable, str(script), *bench_args]))


if __name__ == "__main__":
    main()
