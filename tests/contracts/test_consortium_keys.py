"""Consortium: each member alone controls its own signing accounts and profile.

A change comes from one of the member's active accounts, or carries an EIP-712 authorisation
signed by one (relayed by anyone); a new account proves possession of its key; a member that
lost every key is re-keyed only by an M-of-N vote. The story that motivated it: Ningbo, the
sponsor of PLATFORM_A, must have no way to put its own key on the platform and sign the
platform's return applications.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from clients.bindings import MemberKind, call, events, load_artifact, member_id
from clients.errors import ContractRevert
from clients.member_signing import (
    AccountAddition,
    AccountPossession,
    MemberRegistration,
    ProfileUpdate,
    recover_member_signer,
)
from tests.utils.chain import AUDITOR, NB, PLATFORM_A, World

ZERO_ADDRESS = "0x" + "00" * 20
NEW_PLATFORM = member_id("platform-c")
ENC_KEY = b"\x5a" * 32
GATEWAY = "https://gateway.example"


def fns(world: World) -> Any:
    """The Consortium's contract functions."""
    return world.c.consortium.functions


def reverts(world: World, fn: Any, sender: str) -> ContractRevert:
    """Send `fn` from `sender`, expecting a revert, and return the decoded revert."""
    with pytest.raises(ContractRevert) as excinfo:
        world.send(fn, sender)
    return excinfo.value


def profile(world: World, member: bytes) -> tuple[bytes, str]:
    """A member's published (encryption key, gateway URL)."""
    record = call(fns(world).getMember(member))
    return bytes(record[6]), str(record[7])


def pass_vote(world: World, fn: Any) -> None:
    """HZ proposes, Zhengzhou approves (threshold 2): the proposal executes (Ningbo, the
    re-keyed area of these tests, is not in the electorate of a proposal about itself)."""
    world.send(fn, world.hz)
    world.send(fns(world).vote(int(call(fns(world).proposalCount())) - 1), world.zz)


def admit_auditor(world: World) -> str:
    """Admit AUDITOR by vote with a fresh first account; its address."""
    account = world.new_account()
    proof = world.registration(AUDITOR, account, ENC_KEY, GATEWAY)
    pass_vote(
        world,
        fns(world).proposeAdmission(
            AUDITOR, MemberKind.AUDITOR, 0, account, ENC_KEY, GATEWAY, proof
        ),
    )
    return account


def c_register(world: World, account: str, proof: bytes) -> Any:
    """registerPlatform(NEW_PLATFORM, account, ENC_KEY, GATEWAY, proof), unsent."""
    return fns(world).registerPlatform(NEW_PLATFORM, account, ENC_KEY, GATEWAY, proof)


def register(world: World, account: str, proof: bytes) -> Any:
    """Ningbo registers NEW_PLATFORM with `account` and the given proof."""
    return world.send(c_register(world, account, proof), world.nb)


# ---------------------------------------------------------------------- the sponsor forgery


def test_sponsor_has_no_function_to_change_a_platform_account() -> None:
    names = {item.get("name") for item in load_artifact("Consortium").abi}
    assert "addPlatformAccount" not in names
    assert "removePlatformAccount" not in names


def test_sponsor_cannot_take_over_platform_and_forge_its_application(world: World) -> None:
    c = fns(world)
    platform_key = world.platform_a_key.address
    accounts_before = call(c.accountsOf(PLATFORM_A))
    profile_before = profile(world, PLATFORM_A)
    ningbo_key = world.new_account()

    # Ningbo signs as the "platform" with its own account: refused, it is not the platform's.
    deadline, auth = world.authorise_addition(PLATFORM_A, ningbo_key, world.nb)
    add = c.addAccountBySig(
        PLATFORM_A, ningbo_key, deadline, auth, world.possession(PLATFORM_A, ningbo_key)
    )
    revert = reverts(world, add, world.nb)
    assert (revert.name, revert.args_dict) == (
        "NotAuthorisedByMember",
        {"memberId": PLATFORM_A, "signer": world.nb},
    )
    deadline, auth = world.authorise_removal(PLATFORM_A, platform_key, world.nb)
    revert = reverts(
        world, c.removeAccountBySig(PLATFORM_A, platform_key, deadline, auth), world.nb
    )
    assert (revert.name, revert.args_dict) == (
        "NotAuthorisedByMember",
        {"memberId": PLATFORM_A, "signer": world.nb},
    )
    deadline, auth = world.authorise_profile(PLATFORM_A, b"\x66" * 32, "https://nb", world.nb)
    update = c.updateProfileBySig(PLATFORM_A, b"\x66" * 32, "https://nb", deadline, auth)
    revert = reverts(world, update, world.nb)
    assert (revert.name, revert.args_dict) == (
        "NotAuthorisedByMember",
        {"memberId": PLATFORM_A, "signer": world.nb},
    )
    # Its direct calls act on Ningbo itself, never on the platform.
    world.send(c.addAccount(ningbo_key, world.possession(NB, ningbo_key)), world.nb)
    assert call(c.accountInfo(ningbo_key))[0] == NB
    revert = reverts(world, c.removeAccount(platform_key), world.nb)
    assert (revert.name, revert.args_dict) == (
        "AccountNotOfMember",
        {"account": platform_key, "memberId": NB},
    )

    assert call(c.accountsOf(PLATFORM_A)) == accounts_before
    assert profile(world, PLATFORM_A) == profile_before
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    forged = world.terms(case.header.case_id, 1)
    with pytest.raises(ContractRevert) as excinfo:
        world.open_and_apply(case, forged, Account.from_key(world.key_of(ningbo_key)))
    assert (excinfo.value.name, excinfo.value.args_dict) == (
        "WrongMemberKind",
        {"memberId": NB, "actual": MemberKind.CUSTOMS},
    )
    world.open_and_apply(case, forged, world.platform_a_key)  # the platform's own key still works


def test_register_platform_signed_by_sponsor_reverts(world: World) -> None:
    account = world.new_account()
    proof = world.sign_member(
        MemberRegistration(NEW_PLATFORM, account, ENC_KEY, GATEWAY, 0), world.nb
    )
    revert = reverts(world, c_register(world, account, proof), world.nb)
    assert (revert.name, revert.args_dict) == (
        "PossessionNotProven",
        {"memberId": NEW_PLATFORM, "account": account, "signer": world.nb},
    )


# ---------------------------------------------------------------------- possession proofs


def test_register_platform_with_registration_signature_admits_it(world: World) -> None:
    account = world.new_account()
    receipt = register(world, account, world.registration(NEW_PLATFORM, account, ENC_KEY, GATEWAY))
    assert ("AccountAdded", {"memberId": NEW_PLATFORM, "account": account}) in events(
        receipt, world.c
    )
    assert call(fns(world).accountsOf(NEW_PLATFORM)) == [account]
    assert profile(world, NEW_PLATFORM) == (ENC_KEY, GATEWAY)
    assert world.possession_nonce(account) == 1


def test_register_platform_signed_by_other_account_reverts(world: World) -> None:
    account, other = world.new_account(), world.new_account()
    message = MemberRegistration(NEW_PLATFORM, account, ENC_KEY, GATEWAY, 0)
    revert = reverts(world, c_register(world, account, world.sign_member(message, other)), world.nb)
    assert (revert.name, revert.args_dict) == (
        "PossessionNotProven",
        {"memberId": NEW_PLATFORM, "account": account, "signer": other},
    )
    assert call(fns(world).memberInfo(NEW_PLATFORM))[0] == MemberKind.NONE


def test_register_platform_with_profile_the_account_did_not_sign_reverts(world: World) -> None:
    account = world.new_account()
    proof = world.registration(NEW_PLATFORM, account, b"\x01" * 32, GATEWAY)  # another key
    revert = reverts(world, c_register(world, account, proof), world.nb)
    assert revert.name == "PossessionNotProven"
    assert revert.args_dict["account"] == account
    assert revert.args_dict["signer"] != account


def test_register_platform_without_signature_reverts(world: World) -> None:
    account = world.new_account()
    revert = reverts(world, c_register(world, account, b""), world.nb)
    assert (revert.name, revert.args_dict) == (
        "PossessionNotProven",
        {"memberId": NEW_PLATFORM, "account": account, "signer": ZERO_ADDRESS},
    )


def test_register_platform_zero_account_reverts_before_any_proof(world: World) -> None:
    revert = reverts(world, c_register(world, ZERO_ADDRESS, b"\x00" * 65), world.nb)
    assert (revert.name, revert.args_dict) == ("ZeroAccount", {"memberId": NEW_PLATFORM})


def test_possession_proof_replayed_after_removal_reverts(world: World) -> None:
    platform_key = world.platform_a_key.address
    extra = world.new_account()
    old_proof = world.possession(PLATFORM_A, extra)
    deadline, auth = world.authorise_addition(PLATFORM_A, extra, platform_key)
    add = fns(world).addAccountBySig(PLATFORM_A, extra, deadline, auth, old_proof)
    world.send(add, world.outsider)
    world.remove_own_account(PLATFORM_A, extra, platform_key)
    # The platform authorises re-adding it, but the relayer shows the old proof again.
    deadline, auth = world.authorise_addition(PLATFORM_A, extra, platform_key)
    replay = fns(world).addAccountBySig(PLATFORM_A, extra, deadline, auth, old_proof)
    revert = reverts(world, replay, world.outsider)
    assert revert.name == "PossessionNotProven"
    assert revert.args_dict["signer"] != extra
    assert call(fns(world).accountInfo(extra))[0] == b"\x00" * 32


def test_authorisation_replayed_reverts(world: World) -> None:
    platform_key = world.platform_a_key.address
    deadline, auth = world.authorise_profile(PLATFORM_A, ENC_KEY, GATEWAY, platform_key)
    update = fns(world).updateProfileBySig(PLATFORM_A, ENC_KEY, GATEWAY, deadline, auth)
    world.send(update, world.outsider)
    world.send(fns(world).updateProfile(b"", "https://own"), world.nb)  # unrelated member
    revert = reverts(world, update, world.outsider)
    assert revert.name == "NotAuthorisedByMember"
    assert revert.args_dict["signer"] != platform_key
    assert world.member_nonce(PLATFORM_A) == 1


def test_add_account_signed_possession_by_other_account_reverts(world: World) -> None:
    platform_key = world.platform_a_key.address
    account = world.new_account()
    deadline, auth = world.authorise_addition(PLATFORM_A, account, platform_key)
    proof = world.possession(PLATFORM_A, account, signer=platform_key)
    fn = fns(world).addAccountBySig(PLATFORM_A, account, deadline, auth, proof)
    revert = reverts(world, fn, world.outsider)
    assert (revert.name, revert.args_dict) == (
        "PossessionNotProven",
        {"memberId": PLATFORM_A, "account": account, "signer": platform_key},
    )


def test_propose_account_addition_without_possession_reverts(world: World) -> None:
    account = world.new_account()
    proof = world.possession(PLATFORM_A, account, signer=world.hz)
    revert = reverts(world, fns(world).proposeAccountAddition(PLATFORM_A, account, proof), world.hz)
    assert (revert.name, revert.args_dict) == (
        "PossessionNotProven",
        {"memberId": PLATFORM_A, "account": account, "signer": world.hz},
    )
    assert call(fns(world).proposalCount()) == 0


def test_propose_admission_without_possession_reverts(world: World) -> None:
    account = world.new_account()
    message = MemberRegistration(AUDITOR, account, ENC_KEY, GATEWAY, 0)
    fn = fns(world).proposeAdmission(
        AUDITOR,
        MemberKind.AUDITOR,
        0,
        account,
        ENC_KEY,
        GATEWAY,
        world.sign_member(message, world.hz),
    )
    revert = reverts(world, fn, world.hz)
    assert (revert.name, revert.args_dict) == (
        "PossessionNotProven",
        {"memberId": AUDITOR, "account": account, "signer": world.hz},
    )


def test_sdk_recovers_the_signer_the_contract_checks(world: World) -> None:
    account = world.new_account()
    message = AccountPossession(PLATFORM_A, account, 0)
    signature = world.possession(PLATFORM_A, account)
    chain_id, address = world.w3.eth.chain_id, world.c.consortium.address
    assert recover_member_signer(message, signature, chain_id, address) == account
    other = AccountAddition(PLATFORM_A, account, 0, 1)
    assert recover_member_signer(other, signature, chain_id, address) != account


# ---------------------------------------------------------------------- the member itself


def test_platform_adds_account_by_relayed_signature(world: World) -> None:
    account = world.new_account()
    receipt = world.add_own_account(PLATFORM_A, account, world.platform_a_key.address, world.nb)
    assert events(receipt, world.c) == [
        ("AccountAdded", {"memberId": PLATFORM_A, "account": account})
    ]
    assert call(fns(world).accountsOf(PLATFORM_A)) == [world.platform_a_key.address, account]
    assert world.member_nonce(PLATFORM_A) == 1
    assert world.possession_nonce(account) == 1


def test_platform_rotates_key_and_new_key_applies(world: World) -> None:
    old = world.platform_a_key.address
    new = world.new_account()
    world.add_own_account(PLATFORM_A, new, old)
    receipt = world.remove_own_account(PLATFORM_A, old, new)
    assert events(receipt, world.c) == [
        ("AccountRemoved", {"memberId": PLATFORM_A, "account": old})
    ]
    assert call(fns(world).accountsOf(PLATFORM_A)) == [new]
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    world.open_and_apply(
        case, world.terms(case.header.case_id, 1), Account.from_key(world.key_of(new))
    )


def test_platform_updates_profile_by_relayed_signature(world: World) -> None:
    signer = world.platform_a_key.address
    deadline, auth = world.authorise_profile(PLATFORM_A, ENC_KEY, GATEWAY, signer)
    fn = fns(world).updateProfileBySig(PLATFORM_A, ENC_KEY, GATEWAY, deadline, auth)
    receipt = world.send(fn, world.nb)
    assert events(receipt, world.c) == [
        (
            "MemberProfileUpdated",
            {"memberId": PLATFORM_A, "encryptionKey": ENC_KEY, "gatewayUrl": GATEWAY},
        )
    ]
    assert profile(world, PLATFORM_A) == (ENC_KEY, GATEWAY)


def test_relayed_profile_other_than_signed_reverts(world: World) -> None:
    signer = world.platform_a_key.address
    deadline, auth = world.authorise_profile(PLATFORM_A, ENC_KEY, GATEWAY, signer)
    fn = fns(world).updateProfileBySig(PLATFORM_A, b"\x66" * 32, GATEWAY, deadline, auth)
    revert = reverts(world, fn, world.nb)
    assert revert.name == "NotAuthorisedByMember"
    assert profile(world, PLATFORM_A) == (b"", "https://platform-a.example")


def test_platform_account_manages_keys_and_profile_directly(world: World) -> None:
    c = fns(world)
    funded = world.spare[0]
    world.add_own_account(PLATFORM_A, funded, world.platform_a_key.address)
    extra = world.new_account()
    world.send(c.addAccount(extra, world.possession(PLATFORM_A, extra)), funded)
    world.send(c.removeAccount(world.platform_a_key.address), funded)
    world.send(c.updateProfile(ENC_KEY, GATEWAY), funded)
    assert call(c.accountsOf(PLATFORM_A)) == [extra, funded]
    assert profile(world, PLATFORM_A) == (ENC_KEY, GATEWAY)
    assert world.member_nonce(PLATFORM_A) == 4


def test_remove_last_account_by_signature_reverts(world: World) -> None:
    key = world.platform_a_key.address
    deadline, auth = world.authorise_removal(PLATFORM_A, key, key)
    revert = reverts(
        world, fns(world).removeAccountBySig(PLATFORM_A, key, deadline, auth), world.nb
    )
    assert (revert.name, revert.args_dict) == ("LastAccount", {"memberId": PLATFORM_A})


def test_expired_authorisation_reverts(world: World) -> None:
    account = world.new_account()
    deadline = world.now() + 60
    deadline, auth = world.authorise_addition(
        PLATFORM_A, account, world.platform_a_key.address, deadline
    )
    world.travel_to(deadline + 10)
    fn = fns(world).addAccountBySig(
        PLATFORM_A, account, deadline, auth, world.possession(PLATFORM_A, account)
    )
    revert = reverts(world, fn, world.nb)
    assert revert.name == "AuthorisationExpired"
    assert revert.args_dict["deadline"] == deadline
    assert revert.args_dict["timestamp"] > deadline


def test_suspended_platform_cannot_authorise(world: World) -> None:
    world.send(fns(world).setPlatformActive(PLATFORM_A, False), world.nb)
    account = world.new_account()
    deadline, auth = world.authorise_addition(PLATFORM_A, account, world.platform_a_key.address)
    fn = fns(world).addAccountBySig(
        PLATFORM_A, account, deadline, auth, world.possession(PLATFORM_A, account)
    )
    revert = reverts(world, fn, world.nb)
    assert (revert.name, revert.args_dict) == ("MemberNotActive", {"memberId": PLATFORM_A})


def test_removed_account_can_no_longer_authorise(world: World) -> None:
    old = world.platform_a_key.address
    new = world.new_account()
    world.add_own_account(PLATFORM_A, new, old)
    world.remove_own_account(PLATFORM_A, old, new)
    deadline, auth = world.authorise_profile(PLATFORM_A, ENC_KEY, GATEWAY, old)
    fn = fns(world).updateProfileBySig(PLATFORM_A, ENC_KEY, GATEWAY, deadline, auth)
    revert = reverts(world, fn, world.nb)
    assert (revert.name, revert.args_dict) == (
        "NotAuthorisedByMember",
        {"memberId": PLATFORM_A, "signer": old},
    )


def test_outsider_relays_but_cannot_authorise(world: World) -> None:
    account = world.new_account()
    deadline, auth = world.authorise_addition(PLATFORM_A, account, world.outsider)
    fn = fns(world).addAccountBySig(
        PLATFORM_A, account, deadline, auth, world.possession(PLATFORM_A, account)
    )
    revert = reverts(world, fn, world.outsider)
    assert (revert.name, revert.args_dict) == (
        "NotAuthorisedByMember",
        {"memberId": PLATFORM_A, "signer": world.outsider},
    )


# ---------------------------------------------------------------------- re-keying by vote


def test_platform_that_lost_every_key_is_rekeyed_by_vote(world: World) -> None:
    lost = world.platform_a_key.address  # its key is gone: it can sign nothing any more
    new = world.new_account()
    pass_vote(
        world, fns(world).proposeAccountAddition(PLATFORM_A, new, world.possession(PLATFORM_A, new))
    )
    pass_vote(world, fns(world).proposeAccountRemoval(PLATFORM_A, lost))
    assert call(fns(world).accountsOf(PLATFORM_A)) == [new]
    (case,) = world.anchor_cases(NB, PLATFORM_A)
    world.open_and_apply(
        case, world.terms(case.header.case_id, 1), Account.from_key(world.key_of(new))
    )


def test_rekey_proposal_alone_changes_nothing(world: World) -> None:
    new = world.new_account()
    fn = fns(world).proposeAccountAddition(PLATFORM_A, new, world.possession(PLATFORM_A, new))
    world.send(fn, world.nb)  # the sponsor proposes: one approval of two needed
    assert call(fns(world).accountsOf(PLATFORM_A)) == [world.platform_a_key.address]


# ---------------------------------------------------------------------- every member kind


@pytest.fixture(params=["customs", "auditor"])
def other_member(request: pytest.FixtureRequest, world: World) -> tuple[bytes, str]:
    """A member that is not HZ, with one of its accounts: Ningbo, or an admitted auditor."""
    if request.param == "customs":
        return NB, world.nb
    return AUDITOR, admit_auditor(world)


def test_another_customs_area_cannot_change_member_alone(
    world: World, other_member: tuple[bytes, str]
) -> None:
    member, own = other_member
    c = fns(world)
    accounts_before, profile_before = call(c.accountsOf(member)), profile(world, member)
    intruder = world.new_account()
    deadline, auth = world.authorise_addition(member, intruder, world.hz)
    add = c.addAccountBySig(member, intruder, deadline, auth, world.possession(member, intruder))
    assert reverts(world, add, world.hz).args_dict == {"memberId": member, "signer": world.hz}
    deadline, auth = world.authorise_removal(member, own, world.hz)
    remove = c.removeAccountBySig(member, own, deadline, auth)
    assert reverts(world, remove, world.hz).name == "NotAuthorisedByMember"
    deadline, auth = world.authorise_profile(member, b"\x66" * 32, "https://hz", world.hz)
    update = c.updateProfileBySig(member, b"\x66" * 32, "https://hz", deadline, auth)
    assert reverts(world, update, world.hz).name == "NotAuthorisedByMember"
    assert call(c.accountsOf(member)) == accounts_before
    assert profile(world, member) == profile_before


def test_member_changes_its_own_keys_and_profile(
    world: World, other_member: tuple[bytes, str]
) -> None:
    member, own = other_member
    new = world.new_account()
    world.add_own_account(member, new, own, world.hz)
    world.remove_own_account(member, own, new, world.hz)
    deadline, auth = world.authorise_profile(member, ENC_KEY, "https://v2", new)
    world.send(
        fns(world).updateProfileBySig(member, ENC_KEY, "https://v2", deadline, auth), world.hz
    )
    assert call(fns(world).accountsOf(member)) == [new]
    assert profile(world, member) == (ENC_KEY, "https://v2")


def test_member_that_lost_every_key_is_rekeyed_by_vote(
    world: World, other_member: tuple[bytes, str]
) -> None:
    member, lost = other_member
    new = world.new_account()
    pass_vote(world, fns(world).proposeAccountAddition(member, new, world.possession(member, new)))
    pass_vote(world, fns(world).proposeAccountRemoval(member, lost))
    assert call(fns(world).accountsOf(member)) == [new]
    assert call(fns(world).accountInfo(new))[0] == member


def test_sdk_types_match_contract_typehashes(world: World) -> None:
    assert call(fns(world).MEMBER_REGISTRATION_TYPEHASH()) == _typehash(MemberRegistration)
    assert call(fns(world).ACCOUNT_POSSESSION_TYPEHASH()) == _typehash(AccountPossession)
    assert call(fns(world).ACCOUNT_ADDITION_TYPEHASH()) == _typehash(AccountAddition)
    assert call(fns(world).PROFILE_UPDATE_TYPEHASH()) == _typehash(ProfileUpdate)


def _typehash(message: type[Any]) -> bytes:
    fields = ",".join(f"{f['type']} {f['name']}" for f in message.FIELDS)
    return bytes(keccak(text=f"{message.PRIMARY}({fields})"))
