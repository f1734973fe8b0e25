"""Founding a consortium on a ledger: deploy the contracts with the founding customs areas
(registered by account: a founder need not sign anything), then sponsor platforms and admit
auditors by vote, signed by those founders whose keys are at hand. Each platform and auditor
signs its own registration (proving it holds its key), so its key must be at hand too. Used by
`crossreturn deploy`, `up` / `demo` and the tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import requests
from eth_account import Account
from eth_utils.address import is_address, to_checksum_address
from web3.exceptions import Web3Exception

from clients.bindings import (
    Contracts,
    Founder,
    MemberKind,
    events,
    member_id,
    revert_from_exception,
)
from clients.bindings.reads import MemberInfo
from clients.errors import LedgerError, NodeRefused
from clients.member_signing import MemberRegistration, sign_member_message
from node_gateway.deploy.contracts import Deployment, contracts_of, deploy
from node_gateway.ledger.signer import LocalSigner, RawSender, head_base_fee

GAS_MONEY = 10**21  # wei for each account on a chain that charges gas
AREA_ROLES = ("return_centre", "origin", "both")


@dataclass(frozen=True)
class MemberSpec:
    """A member to found: label, kind and signing account; a customs area adds its customs
    code and its gateway's role (not kept on the ledger), a platform its sponsor's label."""

    label: str
    kind: MemberKind
    account: str
    customs_code: int = 0
    role: str = ""
    sponsor: str = ""

    @property
    def member_id(self) -> bytes:
        """The member id on the ledger (the label, padded)."""
        return member_id(self.label)


def acting_founders(
    members: Sequence[MemberSpec], signing_keys: Mapping[str, bytes]
) -> list[MemberSpec]:
    """The customs founders that can sign at founding (their key is given), in member order."""
    return [m for m in members if m.kind == MemberKind.CUSTOMS and m.label in signing_keys]


def check_members(
    members: Sequence[MemberSpec],
    threshold: int,
    signing_keys: Mapping[str, bytes] | None = None,
) -> None:
    """Raise ValueError naming the first reason `found` would fail: bad or duplicate labels,
    accounts or customs codes, a bad role, a threshold outside 1..customs areas, a platform
    sponsor that is no founder. With `signing_keys` (a founding still to do) also: a platform
    whose sponsor's key is missing, a platform or auditor whose own key is missing (it signs
    its registration), auditors without `threshold` founders with keys to vote, a key that is
    not its member's account."""
    labels: set[str] = set()
    accounts: set[str] = set()
    codes: set[int] = set()
    by_label = {m.label: m for m in members}
    for m in members:
        _check_identity(m, labels, accounts)
        if m.kind == MemberKind.CUSTOMS:
            _check_customs_area(m, codes)
        elif m.kind == MemberKind.PLATFORM:
            _check_platform(m, by_label, signing_keys)
        elif m.kind != MemberKind.AUDITOR:
            raise ValueError(f"{m.label}: kind {m.kind!r} cannot be founded")
        if m.kind != MemberKind.CUSTOMS and signing_keys is not None:
            if m.label not in signing_keys:
                raise ValueError(
                    f"{m.label}: its own key is needed to sign its registration (keyFile)"
                )
    if not codes:
        raise ValueError("a consortium needs at least one founding customs area")
    if not 1 <= threshold <= len(codes):
        raise ValueError(f"threshold must be between 1 and {len(codes)} (the customs areas)")
    if signing_keys is not None:
        _check_signing_keys(members, threshold, signing_keys)


def _check_identity(m: MemberSpec, labels: set[str], accounts: set[str]) -> None:
    """A valid label and account, neither taken by an earlier member (recorded as seen)."""
    member_id(m.label)  # raises on a label that is not 1-32 ASCII characters
    if m.label in labels:
        raise ValueError(f"member label {m.label!r} appears twice")
    labels.add(m.label)
    if not is_address(m.account):
        raise ValueError(f"{m.label}: account {m.account!r} is not an address")
    account = to_checksum_address(m.account)
    if account in accounts:
        raise ValueError(f"{m.label}: account {account} belongs to another member too")
    accounts.add(account)


def _check_customs_area(m: MemberSpec, codes: set[int]) -> None:
    """A customs code 0001-9999 not taken by an earlier area (recorded as seen), and a role."""
    if not 1 <= m.customs_code <= 9999:
        raise ValueError(f"{m.label}: customs code must be 0001-9999")
    if m.customs_code in codes:
        raise ValueError(f"{m.label}: customs code {m.customs_code:04d} appears twice")
    codes.add(m.customs_code)
    if m.role not in AREA_ROLES:
        raise ValueError(f"{m.label}: role must be one of {', '.join(AREA_ROLES)}")


def _check_platform(
    m: MemberSpec, by_label: Mapping[str, MemberSpec], signing_keys: Mapping[str, bytes] | None
) -> None:
    """A platform's sponsor is a founding customs area, whose key is at hand for a founding."""
    sponsor = by_label.get(m.sponsor)
    if sponsor is None or sponsor.kind != MemberKind.CUSTOMS:
        raise ValueError(f"{m.label}: sponsor {m.sponsor!r} is not a founding customs area")
    if signing_keys is not None and m.sponsor not in signing_keys:
        raise ValueError(f"{m.label}: registering a platform needs its sponsor {m.sponsor}'s key")


def _check_signing_keys(
    members: Sequence[MemberSpec], threshold: int, signing_keys: Mapping[str, bytes]
) -> None:
    """Each key is its founding member's account key, and enough founders act to admit the
    auditors by vote."""
    by_label = {m.label: m for m in members}
    for label, key in signing_keys.items():
        member = by_label.get(label)
        if member is None:
            raise ValueError(f"a key is given for {label!r}, which is no founding member")
        if Account.from_key(key).address != to_checksum_address(member.account):
            raise ValueError(f"{label}: the key given is not the key of account {member.account}")
    auditors = [m for m in members if m.kind == MemberKind.AUDITOR]
    if auditors and len(acting_founders(members, signing_keys)) < threshold:
        raise ValueError(
            f"admitting an auditor takes {threshold} votes: give the keys of at least "
            f"{threshold} founding customs areas"
        )


def found(
    ledger: RawSender,
    funder_key: bytes,
    members: Sequence[MemberSpec],
    threshold: int,
    signing_keys: Mapping[str, bytes] | None = None,
    gas_money: int = GAS_MONEY,
) -> Deployment:
    """Deploy from the funder's account with the customs members as founders, then register
    the platforms (sent by their sponsors) and admit the auditors (proposed and voted by the
    founders), each with its registration signed by its own account. `signing_keys` maps labels
    to private keys: the founders that act, every platform and auditor. Each member account
    first gets `gas_money` wei from the funder (none when 0, e.g. on a zero-gas Besu
    network)."""
    keys = dict(signing_keys or {})
    check_members(members, threshold, keys)
    funder = LocalSigner(ledger, funder_key)
    if gas_money > 0:
        for m in members:
            funder.transfer(to_checksum_address(m.account), gas_money)
    customs = [m for m in members if m.kind == MemberKind.CUSTOMS]
    founders = [Founder(m.member_id, m.customs_code, m.account) for m in customs]
    deployment = deploy(funder, founders, threshold)
    c = contracts_of(funder, deployment)
    signers = {label: LocalSigner(ledger, key) for label, key in keys.items()}
    acting = acting_founders(members, keys)
    chain_id = ledger.w3.eth.chain_id
    for m in members:
        if m.kind == MemberKind.CUSTOMS:
            continue
        account = to_checksum_address(m.account)
        nonce = int(c.consortium.functions.possessionNonce(account).call())
        registration = sign_member_message(
            MemberRegistration(m.member_id, account, b"", "", nonce),
            keys[m.label],
            chain_id,
            c.consortium.address,
        )
        if m.kind == MemberKind.PLATFORM:
            signers[m.sponsor].send(
                c.consortium.functions.registerPlatform(m.member_id, account, b"", "", registration)
            )
        else:  # check_members: enough founders act to vote
            voters = [signers[f.label] for f in acting[:threshold]]
            _admit_auditor(c, voters, m.member_id, account, registration)
    return deployment


def _admit_auditor(
    c: Contracts, voters: Sequence[LocalSigner], member: bytes, account: str, registration: bytes
) -> None:
    """Propose an auditor's admission by the first of `voters`, vote it by the others, and
    execute it if the last vote did not."""
    proposer = voters[0]
    receipt = proposer.send(
        c.consortium.functions.proposeAdmission(
            member, int(MemberKind.AUDITOR), 0, account, b"", "", registration
        )
    )
    created = [a for name, a in events(receipt, c) if name == "ProposalCreated"]
    pid = int(created[0]["proposalId"])
    for voter in voters[1:]:
        voter.send(c.consortium.functions.vote(pid))
    info = MemberInfo.decode(c.consortium.functions.memberInfo(member).call())
    if info.kind != MemberKind.AUDITOR:
        proposer.send(c.consortium.functions.execute(pid))


def found_on_node(
    node: RawSender,
    funder_key: bytes,
    members: Sequence[MemberSpec],
    threshold: int,
    signing_keys: dict[str, bytes],
    gas_money: int | None = None,
) -> Deployment:
    """`found` on a JSON-RPC node, its failures sorted for an operator: ContractRevert (a
    deployment transaction reverted), NodeRefused (the node would not take one), LedgerError
    (the node was lost). `gas_money` defaults to 10 ETH per member on a chain that charges
    gas, nothing on a zero-gas chain."""
    try:
        if gas_money is None:
            base_fee = head_base_fee(node.w3)
            gas_money = 10**19 if base_fee > 0 else 0  # 10 ETH: thousands of writes
        return found(node, funder_key, members, threshold, signing_keys, gas_money)
    except LedgerError:
        raise
    except (requests.RequestException, OSError) as exc:
        raise LedgerError(" ".join(str(exc).split())[:300] or type(exc).__name__) from exc
    except (Web3Exception, ValueError) as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            raise revert from exc
        raise NodeRefused(" ".join(str(exc).split())[:300] or type(exc).__name__) from exc
