"""Founding a consortium on a ledger: deploy the contracts with the founding customs areas,
sponsor platforms, admit auditors by vote. Used by `crossreturn up` / `demo` and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account import Account

from clients.ledger_bindings import Founder, MemberKind, events, member_id
from node_gateway.ledger.deploy import Deployment, contracts_of, deploy
from node_gateway.ledger.signer import LocalSigner, RawSender

GAS_MONEY = 10**21  # wei for each account on a chain that charges gas


@dataclass(frozen=True)
class MemberSpec:
    """A member to create: label, kind, customs code (customs only), signing key."""

    label: str
    kind: MemberKind
    private_key: bytes
    customs_code: int = 0
    sponsor: str = ""  # platforms: the label of the sponsoring customs area

    @property
    def account(self) -> str:
        """The member's signing account."""
        return str(Account.from_key(self.private_key).address)


def found(
    ledger: RawSender,
    funder_key: bytes,
    members: Sequence[MemberSpec],
    threshold: int,
) -> Deployment:
    """Deploy with the customs members as founders, then add platforms and auditors."""
    funder = LocalSigner(ledger, funder_key)
    for m in members:
        funder.transfer(m.account, GAS_MONEY)
    customs = [m for m in members if m.kind == MemberKind.CUSTOMS]
    founders = [Founder(member_id(m.label), m.customs_code, m.account) for m in customs]
    deployment = deploy(funder, founders, threshold)
    c = contracts_of(funder, deployment)
    signers = {m.label: LocalSigner(ledger, m.private_key) for m in customs}
    for m in members:
        if m.kind == MemberKind.PLATFORM:
            sponsor = signers[m.sponsor]
            sponsor.send(
                c.consortium.functions.registerPlatform(member_id(m.label), m.account, b"", "")
            )
        elif m.kind == MemberKind.AUDITOR:
            proposer, *voters = customs
            receipt = signers[proposer.label].send(
                c.consortium.functions.proposeAdmission(
                    member_id(m.label), int(MemberKind.AUDITOR), 0, m.account, b"", ""
                )
            )
            created = [a for name, a in events(receipt, c) if name == "ProposalCreated"]
            pid = int(created[0]["proposalId"])
            for voter in voters[: max(0, threshold - 1)]:
                signers[voter.label].send(c.consortium.functions.vote(pid))
            if MemberKind(c.consortium.functions.memberInfo(member_id(m.label)).call()[0]) != (
                MemberKind.AUDITOR
            ):
                signers[proposer.label].send(c.consortium.functions.execute(pid))
    return deployment
