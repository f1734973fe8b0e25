"""`crossreturn admin` commands that reach the Consortium's governance through a gateway's API:
members, proposals, propose, vote.

These talk to a gateway's API, not to a data directory: they share the SDK command line's
options, output layer and exit codes (clients.cli.common: 3 unreachable, 4 key refused,
5 request refused, 6 timed out).
"""

from __future__ import annotations

from typing import Any

import click

from clients.bindings.enums import PARAMETERS
from clients.cli.common import (
    AS_JSON,
    TIMEOUT,
    WAIT,
    connect,
    emit_json,
    gateway_options,
    handles_errors,
    short,
    show,
    table,
)
from node_gateway.cli.common import accepted_operation

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


@click.command("members", short_help="List the Consortium's members (through a gateway).")
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


@click.command("proposals", short_help="List governance proposals, newest first.")
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


@click.command("propose", short_help="Propose a governance change (this area signs).")
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
        operation = accepted_operation(client, accepted, wait, timeout, as_json)
    if as_json:
        emit_json({**accepted, "operation": operation})


@click.command("vote", short_help="Approve a governance proposal (this area signs).")
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
        operation = accepted_operation(client, accepted, wait, timeout, as_json)
        proposal = None
        if wait:
            proposal = client.request("GET", f"/v1/governance/proposals/{proposal_id}")
    if as_json:
        emit_json({**accepted, "operation": operation, "proposal": proposal})
    elif proposal is not None:
        show(table(None, PROPOSAL_COLUMNS, [_proposal_row(proposal)]))
