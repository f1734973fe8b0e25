"""The `crossreturn` command line: operator commands of the gateway, beside the SDK's groups.

Exit codes: 0 success, 1 the command ran and found a problem, 2 bad usage or input (one line on
stderr, no traceback); commands that talk to a gateway over HTTP (the SDK's groups, `admin
members|proposals|propose|vote`) add 3 unreachable, 4 key refused, 5 request refused, 6 timed
out (clients.cli.common).
"""

from __future__ import annotations

import click

from clients.cli.auditor import auditor
from clients.cli.officer import officer
from clients.cli.platform import platform
from node_gateway.cli import admin_local, admin_remote, bench, deploy, ledger, run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """CrossReturn: mutual recognition of cross-customs-area returns on a shared ledger."""


@main.group(short_help="Administer this gateway (API keys, vault key, governance).")
def admin() -> None:
    """Administer a gateway: API keys and the vault key in its data directory; Consortium
    governance (members, proposals, votes) through its API with an admin key."""


for command in (
    admin_local.keys,
    admin_local.rotate_vault_key,
    admin_local.admin_anchoring,
    admin_remote.admin_members,
    admin_remote.admin_proposals,
    admin_remote.admin_propose,
    admin_remote.admin_vote,
):
    admin.add_command(command)

for command in (
    platform,
    officer,
    auditor,
    ledger.ledger,
    run.up,
    run.demo,
    run.serve,
    run.node,
    deploy.join,
    deploy.deploy,
    bench.bench,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
