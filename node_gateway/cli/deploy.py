"""Commands that bring a consortium or a member into being: `deploy` (the contracts on a
JSON-RPC node, and the manifest every gateway reads) and `join` (a new customs area's keys and
its admission proposal)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

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
    show,
)
from clients.errors import LedgerError, NodeRefused
from clients.http import GatewayClient
from node_gateway.cli.common import accepted_operation, directory_option, file_option

if TYPE_CHECKING:
    from node_gateway.deploy.contracts import Deployment
    from node_gateway.deploy.founders import FoundingPlan
    from node_gateway.deploy.manifest import Manifest


@click.command(short_help="Prepare a new customs area and propose its admission.")
@click.option("--label", required=True, help="the new area's member label, e.g. customs-5300")
@click.option("--customs-code", required=True, help="its 4-digit customs code")
@directory_option(
    "--data-dir",
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
    new_member = _check_join_inputs(label, customs_code, gateway_url)
    keys_dir = data_dir / "keys"
    key, account, encryption = _area_keys(keys_dir)
    with connect(gateway, api_key) as client:
        body = {
            "kind": "admission",
            "label": label,
            "memberKind": "customs",
            "customsCode": customs_code,
            "account": account,
            "encryptionKey": "0x" + encryption.hex(),
            "gatewayUrl": gateway_url,
            "registration": "0x" + _registration(client, new_member, key, encryption, gateway_url),
        }
        accepted = client.request("POST", "/v1/governance/proposals", json=body)
        operation = accepted_operation(client, accepted, wait, timeout, as_json)
    result = {**accepted, "operation": operation, "account": account, "keysDir": str(keys_dir)}
    if as_json:
        emit_json(result)
    else:
        show(
            f"{label} ({customs_code}): account {account}, keys in {keys_dir}\n"
            "the other areas approve with `crossreturn admin vote <proposal id>` "
            "(see `crossreturn admin proposals`)"
        )


def _check_join_inputs(label: str, customs_code: str, gateway_url: str) -> bytes:
    """The new member's id, once the options are checked (exit 2 on a bad one)."""
    from clients.bindings import member_id

    if not (customs_code.isdigit() and len(customs_code) == 4):
        fail(f"--customs-code wants 4 digits, got {customs_code!r}")
    if not gateway_url.startswith(("http://", "https://")):
        fail(f"--gateway-url must be an http(s) URL, got {gateway_url!r}")
    try:
        return member_id(label)
    except ValueError as exc:
        fail(f"--label: {exc}")
        raise


def _area_keys(keys_dir: Path) -> tuple[bytes, str, bytes]:
    """The new area's signing key, its account and its HPKE public key, created if missing."""
    from node_gateway.ledger.signer import address_of
    from node_gateway.run.local_consortium import load_or_create_key
    from node_gateway.services.context import load_encryption_keys

    try:
        key = load_or_create_key(keys_dir / "account.key")
        return key, address_of(key), load_encryption_keys(keys_dir).public_bytes()
    except (OSError, ValueError) as exc:
        fail(f"cannot create the keys under {keys_dir}: {exc}")
        raise


def _registration(
    client: GatewayClient, new_member: bytes, key: bytes, encryption: bytes, gateway_url: str
) -> str:
    """The new account's MemberRegistration signature (hex): it signs its own admission, a
    fresh key's first proof (nonce 0), on the chain and Consortium the gateway reports."""
    from clients.member_signing import MemberRegistration, sign_member_message
    from node_gateway.ledger.signer import address_of

    ledger = client.request("GET", "/v1/ledger")
    return sign_member_message(
        MemberRegistration(new_member, address_of(key), encryption, gateway_url, 0),
        key,
        int(ledger["chainId"]),
        str(ledger["addresses"]["Consortium"]),
    ).hex()


@click.command(short_help="Deploy the contracts on a JSON-RPC node and write the manifest.")
@click.option("--rpc", required=True, help="the node's JSON-RPC URL, e.g. http://127.0.0.1:8545")
@file_option(
    "--founders",
    "founders_file",
    required=True,
    help="the founding members and the threshold (.json or .toml)",
)
@file_option(
    "--funder-key-file",
    required=True,
    help="the deployer's private key (hex); it pays the deployment and the members' gas money",
)
@file_option("--out", required=True, help="where to write the deployment manifest")
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
    from node_gateway.deploy.manifest import Manifest

    if out.exists() and not force:
        fail(
            f"{out} exists (a manifest of an earlier deployment?): choose another --out or --force"
        )
    plan, funder_key = _deployment_inputs(founders_file, funder_key_file)
    deployment = _found(rpc, timeout, plan, funder_key, gas_money)
    manifest = Manifest.of(deployment, plan.members, plan.threshold)
    try:
        manifest.write(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    if as_json:
        emit_json(manifest.to_json())
    else:
        _show_manifest(manifest, out)


def _deployment_inputs(founders_file: Path, funder_key_file: Path) -> tuple[FoundingPlan, bytes]:
    """The founders plan and the funder's key, read and checked (exit 2 on a bad file)."""
    from clients.errors import InputFileError
    from node_gateway.deploy.founders import load_founders
    from node_gateway.ledger.signer import read_key_file

    try:
        return load_founders(founders_file), read_key_file(funder_key_file)
    except InputFileError as exc:
        fail(str(exc))
        raise


def _found(
    rpc: str, timeout: float, plan: FoundingPlan, funder_key: bytes, gas_money: int | None
) -> Deployment:
    """Deploy and found the consortium on the node at `rpc`; exit 3 if it does not answer, 1
    if it refuses a transaction."""
    from clients.errors import ContractRevert
    from node_gateway.deploy.bootstrap import found_on_node
    from node_gateway.ledger.backends.rpc_node import RpcNode

    node = RpcNode(rpc, timeout=timeout, receipt_timeout=timeout)
    if not node.is_up():
        fail(f"no JSON-RPC node answers at {rpc}", 3)
    lost = "nothing was written; contracts deployed so far are abandoned"
    try:
        return found_on_node(
            node, funder_key, plan.members, plan.threshold, plan.signing_keys, gas_money
        )
    except ContractRevert as exc:
        fail(f"a deployment transaction reverted: {exc}; {lost}", 1)
    except NodeRefused as exc:
        fail(f"the node refused a transaction: {exc}; {lost}", 1)
    except LedgerError as exc:
        fail(f"lost the node at {rpc}: {_one_line(exc)}; {lost}", 3)


def _show_manifest(manifest: Manifest, out: Path) -> None:
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
