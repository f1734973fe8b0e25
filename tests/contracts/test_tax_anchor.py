"""TaxAnchor: anchoring, revoking and checking Merkle roots of tax-record batches."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clients.bindings import BatchKind, MemberKind, call, events
from clients.commitments.merkle import MerkleTree, hash_pair
from clients.errors import ContractRevert
from tests.utils.chain import NB, PLATFORM_A, World

HZ_CODE = 2900
NB_CODE = 3100
UINT32_MAX = 2**32 - 1


# ---------------------------------------------------------------------- helpers

_RNG = random.Random()


@pytest.fixture(autouse=True)
def _seed_random(request: pytest.FixtureRequest) -> Iterator[None]:
    """Reproducible random values per test (seeded by the test id)."""
    _RNG.seed(request.node.nodeid)
    yield


def random32() -> bytes:
    """A random 32-byte value (roots, leaves), reproducible per test."""
    return _RNG.randbytes(32)


def revert_of(action: Callable[[], object]) -> ContractRevert:
    """The ContractRevert that `action` raises."""
    with pytest.raises(ContractRevert) as info:
        action()
    return info.value


def make_tree(size: int = 6) -> MerkleTree:
    """A tree over `size` random leaves."""
    return MerkleTree(random32() for _ in range(size))


def anchor_tree(
    world: World,
    sender: str,
    kind: BatchKind = BatchKind.ASSESSMENT,
    size: int = 6,
) -> MerkleTree:
    """Anchor a fresh random tree from `sender` and return it."""
    tree = make_tree(size)
    world.send(world.c.tax_anchor.functions.anchor(tree.root, kind, size), sender)
    return tree


def get_root(world: World, area_code: int, root: bytes) -> tuple[int, int, int, int]:
    """getRoot of `root` as `area_code` anchored it: (kind, leafCount, anchoredAt, reason)."""
    fn = world.c.tax_anchor.functions.getRoot(area_code, root)
    record: tuple[int, int, int, int] = call(fn)
    return record


def is_active(world: World, area_code: int, root: bytes, leaf: bytes, proof: list[bytes]) -> bool:
    """TaxAnchor.isActive: `leaf` active under `root` as `area_code` anchored it."""
    return bool(call(world.c.tax_anchor.functions.isActive(area_code, root, leaf, proof)))


def leaf_revocation(world: World, area_code: int, leaf: bytes) -> int:
    """TaxAnchor.leafRevocation: the reason `area_code` revoked `leaf` for (0 if it did not)."""
    return int(call(world.c.tax_anchor.functions.leafRevocation(area_code, leaf)))


def revoke_leaf(world: World, sender: str, tree: MerkleTree, leaf: bytes, reason: int) -> None:
    """Revoke `leaf` under `tree`'s root (anchored by `sender`'s area) with `reason`."""
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), reason)
    world.send(fn, sender)


def require_active(
    world: World,
    root: bytes,
    leaf: bytes,
    proof: list[bytes],
    area_code: int,
    kind: BatchKind = BatchKind.ASSESSMENT,
) -> Any:
    """TaxAnchor.requireActiveLeaf (a view; reverts become ContractRevert)."""
    return call(world.c.tax_anchor.functions.requireActiveLeaf(root, leaf, proof, area_code, kind))


def anchored_at(world: World, area_code: int, root: bytes) -> int:
    """The anchoring time of `root` by `area_code`, which requireActiveLeaf returns."""
    return get_root(world, area_code, root)[2]


def flipped(value: bytes) -> bytes:
    """`value` with its last bit flipped."""
    return value[:-1] + bytes([value[-1] ^ 1])


def suspend_nb(world: World) -> None:
    """Suspend Ningbo by a vote of Hangzhou (proposer) and Zhengzhou (threshold 2)."""
    receipt = world.send(world.c.consortium.functions.proposeSuspension(NB), world.hz)
    created = [args for name, args in events(receipt, world.c) if name == "ProposalCreated"]
    assert len(created) == 1
    world.send(world.c.consortium.functions.vote(created[0]["proposalId"]), world.zz)


# ---------------------------------------------------------------------- anchor


@pytest.mark.parametrize("kind", [BatchKind.ASSESSMENT, BatchKind.PAYMENT])
def test_anchor_valid_root_stores_record(world: World, kind: BatchKind) -> None:
    root = random32()
    receipt = world.send(world.c.tax_anchor.functions.anchor(root, kind, 17), world.hz)
    block = world.w3.eth.get_block(receipt["blockNumber"])
    assert get_root(world, HZ_CODE, root) == (kind, 17, block["timestamp"], 0)


def test_anchor_valid_root_emits_root_anchored(world: World) -> None:
    root = random32()
    receipt = world.send(world.c.tax_anchor.functions.anchor(root, BatchKind.PAYMENT, 42), world.nb)
    assert events(receipt, world.c) == [
        (
            "RootAnchored",
            {"root": root, "areaCode": NB_CODE, "kind": BatchKind.PAYMENT, "leafCount": 42},
        )
    ]


def test_anchor_max_leaf_count_stores_count(world: World) -> None:
    root = random32()
    world.send(
        world.c.tax_anchor.functions.anchor(root, BatchKind.ASSESSMENT, UINT32_MAX), world.hz
    )
    assert get_root(world, HZ_CODE, root)[1] == UINT32_MAX


def test_anchor_after_time_travel_records_new_timestamp(world: World) -> None:
    target = world.now() + 5 * 24 * 3600
    world.travel_to(target)
    root = random32()
    receipt = world.send(
        world.c.tax_anchor.functions.anchor(root, BatchKind.ASSESSMENT, 1), world.hz
    )
    anchored_at = get_root(world, HZ_CODE, root)[2]
    assert anchored_at == world.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert anchored_at >= target


def test_anchor_zero_root_reverts(world: World) -> None:
    fn = world.c.tax_anchor.functions.anchor(b"\0" * 32, BatchKind.ASSESSMENT, 1)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("ZeroHash", {})


def test_anchor_none_kind_reverts(world: World) -> None:
    fn = world.c.tax_anchor.functions.anchor(random32(), BatchKind.NONE, 1)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("InvalidBatchKind", {"kind": 0})


def test_anchor_zero_leaf_count_reverts(world: World) -> None:
    root = random32()
    fn = world.c.tax_anchor.functions.anchor(root, BatchKind.ASSESSMENT, 0)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("EmptyBatch", {"root": root})


def test_anchor_same_root_twice_reverts(world: World) -> None:
    root = random32()
    fn = world.c.tax_anchor.functions.anchor(root, BatchKind.ASSESSMENT, 3)
    world.send(fn, world.hz)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == (
        "RootAlreadyAnchored",
        {"root": root, "areaCode": HZ_CODE},
    )


def test_anchor_root_of_another_area_is_its_own_record(world: World) -> None:
    root = random32()
    world.send(world.c.tax_anchor.functions.anchor(root, BatchKind.ASSESSMENT, 3), world.hz)
    receipt = world.send(world.c.tax_anchor.functions.anchor(root, BatchKind.PAYMENT, 5), world.nb)
    assert events(receipt, world.c) == [
        (
            "RootAnchored",
            {"root": root, "areaCode": NB_CODE, "kind": BatchKind.PAYMENT, "leafCount": 5},
        )
    ]
    assert get_root(world, HZ_CODE, root)[:2] == (BatchKind.ASSESSMENT, 3)
    assert get_root(world, NB_CODE, root)[:2] == (BatchKind.PAYMENT, 5)
    assert get_root(world, 4600, root) == (0, 0, 0, 0)


# Regression: eth-tester reports revert data as the repr of a bytes literal in its message. Roots
# whose repr holds quotes, "b'" or the message prefix itself must still decode (byte 0x9b then
# 0x27 makes a double-quoted repr containing b', which the old parser started from).
QUOTE_ROOTS = [
    pytest.param(b"\x9b'" + bytes(range(1, 31)), id="b-quote"),
    pytest.param(b"\x9bb\"'" + bytes(range(1, 29)), id="both-quotes"),
    pytest.param(b"\x01execution reverted: b'0x" + bytes(7), id="message-prefix"),
]


@pytest.mark.parametrize("root", QUOTE_ROOTS)
def test_anchor_twice_root_with_quote_byte_reverts(world: World, root: bytes) -> None:
    assert len(root) == 32
    fn = world.c.tax_anchor.functions.anchor(root, BatchKind.ASSESSMENT, 3)
    world.send(fn, world.hz)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == (
        "RootAlreadyAnchored",
        {"root": root, "areaCode": HZ_CODE},
    )


@pytest.mark.parametrize("root", QUOTE_ROOTS)
def test_require_active_leaf_root_with_quote_byte_reverts(world: World, root: bytes) -> None:
    err = revert_of(lambda: require_active(world, root, root, [], HZ_CODE))
    assert (err.name, err.args_dict) == ("RootNotAnchored", {"root": root, "areaCode": HZ_CODE})


def test_anchor_outsider_reverts(world: World) -> None:
    fn = world.c.tax_anchor.functions.anchor(random32(), BatchKind.ASSESSMENT, 1)
    err = revert_of(lambda: world.send(fn, world.outsider))
    assert (err.name, err.args_dict) == ("NotAMember", {"account": world.outsider})


def test_anchor_platform_account_reverts(world: World) -> None:
    account = world.spare[0]
    world.add_own_account(PLATFORM_A, account, world.platform_a_key.address)
    fn = world.c.tax_anchor.functions.anchor(random32(), BatchKind.ASSESSMENT, 1)
    err = revert_of(lambda: world.send(fn, account))
    assert (err.name, err.args_dict) == (
        "WrongMemberKind",
        {"memberId": PLATFORM_A, "actual": MemberKind.PLATFORM},
    )


def test_anchor_suspended_area_reverts(world: World) -> None:
    suspend_nb(world)
    fn = world.c.tax_anchor.functions.anchor(random32(), BatchKind.ASSESSMENT, 1)
    err = revert_of(lambda: world.send(fn, world.nb))
    assert (err.name, err.args_dict) == ("MemberNotActive", {"memberId": NB})


@pytest.mark.parametrize("leaf_count", [1, 1_000, 4_000_000_000])
def test_anchor_any_batch_size_costs_bounded_gas(world: World, leaf_count: int) -> None:
    fn = world.c.tax_anchor.functions.anchor(random32(), BatchKind.ASSESSMENT, leaf_count)
    receipt = world.send(fn, world.hz)
    assert receipt["gasUsed"] <= 80_000


def test_anchor_gas_does_not_grow_with_batch_size(world: World) -> None:
    used = []
    for leaf_count in (1, 1_000, 4_000_000_000):
        fn = world.c.tax_anchor.functions.anchor(random32(), BatchKind.ASSESSMENT, leaf_count)
        used.append(world.send(fn, world.hz)["gasUsed"])
    # Only the calldata bytes of leafCount differ (at most 4 non-zero bytes).
    assert max(used) - min(used) <= 100


# ---------------------------------------------------------------------- revokeRoot


def test_revoke_root_own_root_records_reason(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 7), world.hz)
    assert get_root(world, HZ_CODE, tree.root)[3] == 7
    assert get_root(world, HZ_CODE, tree.root)[:2] == (BatchKind.ASSESSMENT, 6)


def test_revoke_root_own_root_emits_root_revoked(world: World) -> None:
    tree = anchor_tree(world, world.nb)
    receipt = world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 65535), world.nb)
    assert events(receipt, world.c) == [
        ("RootRevoked", {"root": tree.root, "areaCode": NB_CODE, "reason": 65535})
    ]


def test_revoke_root_of_another_area_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    fn = world.c.tax_anchor.functions.revokeRoot(tree.root, 1)
    err = revert_of(lambda: world.send(fn, world.nb))
    assert (err.name, err.args_dict) == (
        "RootOfAnotherArea",
        {"root": tree.root, "anchoredBy": HZ_CODE, "expected": NB_CODE},
    )
    assert get_root(world, HZ_CODE, tree.root)[3] == 0


def test_revoke_root_not_anchored_reverts(world: World) -> None:
    root = random32()
    fn = world.c.tax_anchor.functions.revokeRoot(root, 1)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("RootNotAnchored", {"root": root, "areaCode": HZ_CODE})


def test_revoke_root_zero_reason_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    fn = world.c.tax_anchor.functions.revokeRoot(tree.root, 0)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("InvalidReason", {"root": tree.root, "leaf": b"\0" * 32})


def test_revoke_root_twice_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 3), world.hz)
    fn = world.c.tax_anchor.functions.revokeRoot(tree.root, 4)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("RevokedRoot", {"root": tree.root, "reason": 3})
    assert get_root(world, HZ_CODE, tree.root)[3] == 3


def test_revoke_root_outsider_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    fn = world.c.tax_anchor.functions.revokeRoot(tree.root, 1)
    err = revert_of(lambda: world.send(fn, world.outsider))
    assert (err.name, err.args_dict) == ("NotAMember", {"account": world.outsider})


def test_revoke_root_suspended_area_reverts(world: World) -> None:
    tree = anchor_tree(world, world.nb)
    suspend_nb(world)
    fn = world.c.tax_anchor.functions.revokeRoot(tree.root, 1)
    err = revert_of(lambda: world.send(fn, world.nb))
    assert (err.name, err.args_dict) == ("MemberNotActive", {"memberId": NB})


# ---------------------------------------------------------------------- revokeLeaf


def test_revoke_leaf_valid_proof_records_reason(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[2]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 9)
    world.send(fn, world.hz)
    assert leaf_revocation(world, HZ_CODE, leaf) == 9
    assert leaf_revocation(world, NB_CODE, leaf) == 0
    assert get_root(world, HZ_CODE, tree.root)[3] == 0


def test_revoke_leaf_valid_proof_emits_leaf_revoked(world: World) -> None:
    tree = anchor_tree(world, world.nb, BatchKind.PAYMENT)
    leaf = tree.leaves[0]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 2)
    receipt = world.send(fn, world.nb)
    assert events(receipt, world.c) == [
        ("LeafRevoked", {"areaCode": 3100, "root": tree.root, "leaf": leaf, "reason": 2})
    ]


def test_revoke_leaf_single_leaf_tree_empty_proof_revokes(world: World) -> None:
    tree = anchor_tree(world, world.hz, size=1)
    leaf = tree.leaves[0]
    world.send(world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, [], 1), world.hz)
    assert leaf_revocation(world, HZ_CODE, leaf) == 1


def test_revoke_leaf_keeps_sibling_leaves_active(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    revoked = tree.leaves[1]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, revoked, tree.proof(revoked), 1)
    world.send(fn, world.hz)
    for leaf in tree.leaves:
        assert is_active(world, HZ_CODE, tree.root, leaf, tree.proof(leaf)) is (leaf != revoked)


def test_revoke_leaf_wrong_proof_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[3]
    proof = tree.proof(leaf)
    proof[0] = flipped(proof[0])
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, proof, 1)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("InvalidProof", {"root": tree.root, "leaf": leaf})
    assert leaf_revocation(world, HZ_CODE, leaf) == 0


def test_revoke_leaf_not_in_tree_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    stranger = random32()
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, stranger, tree.proof(tree.leaves[0]), 1)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("InvalidProof", {"root": tree.root, "leaf": stranger})


def test_revoke_leaf_twice_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[4]
    world.send(
        world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 5), world.hz
    )
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 6)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("RevokedLeaf", {"leaf": leaf, "reason": 5})
    assert leaf_revocation(world, HZ_CODE, leaf) == 5


def test_revoke_leaf_of_another_area_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[0]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 1)
    err = revert_of(lambda: world.send(fn, world.zz))
    assert (err.name, err.args_dict) == (
        "RootOfAnotherArea",
        {"root": tree.root, "anchoredBy": HZ_CODE, "expected": 4600},
    )


def test_revoke_leaf_not_anchored_root_reverts(world: World) -> None:
    tree = make_tree()
    leaf = tree.leaves[0]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 1)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == (
        "RootNotAnchored",
        {"root": tree.root, "areaCode": HZ_CODE},
    )


def test_revoke_leaf_zero_reason_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[0]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 0)
    err = revert_of(lambda: world.send(fn, world.hz))
    assert (err.name, err.args_dict) == ("InvalidReason", {"root": tree.root, "leaf": leaf})


def test_revoke_leaf_outsider_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[0]
    fn = world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 1)
    err = revert_of(lambda: world.send(fn, world.outsider))
    assert (err.name, err.args_dict) == ("NotAMember", {"account": world.outsider})


def test_revoke_leaf_under_own_root_keeps_other_areas_leaf_active(world: World) -> None:
    # Regression: revocations were keyed by leaf only, so an area could revoke another area's
    # record by anchoring its own tree holding the same leaf and revoking it there.
    victim = anchor_tree(world, world.nb)
    leaf = victim.leaves[0]
    attacker = MerkleTree([leaf, random32()])
    world.send(
        world.c.tax_anchor.functions.anchor(attacker.root, BatchKind.ASSESSMENT, 2), world.hz
    )
    revoke_leaf(world, world.hz, attacker, leaf, 1)
    assert leaf_revocation(world, HZ_CODE, leaf) == 1
    assert leaf_revocation(world, NB_CODE, leaf) == 0
    assert is_active(world, NB_CODE, victim.root, leaf, victim.proof(leaf)) is True
    active = require_active(world, victim.root, leaf, victim.proof(leaf), NB_CODE)
    assert active == anchored_at(world, NB_CODE, victim.root)
    assert is_active(world, HZ_CODE, attacker.root, leaf, attacker.proof(leaf)) is False


def test_revoke_leaf_refused_under_every_root_of_revoking_area_only(world: World) -> None:
    shared = random32()
    nb_first = MerkleTree([shared, random32(), random32()])
    nb_second = MerkleTree([shared, random32()])
    hz_tree = MerkleTree([shared, random32(), random32(), random32()])
    for tree, sender in ((nb_first, world.nb), (nb_second, world.nb), (hz_tree, world.hz)):
        fn = world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, len(tree.leaves))
        world.send(fn, sender)
    revoke_leaf(world, world.nb, nb_first, shared, 4)

    assert leaf_revocation(world, NB_CODE, shared) == 4
    assert leaf_revocation(world, HZ_CODE, shared) == 0
    for nb_tree in (nb_first, nb_second):
        proof = nb_tree.proof(shared)
        assert is_active(world, NB_CODE, nb_tree.root, shared, proof) is False
        with pytest.raises(ContractRevert) as info:
            require_active(world, nb_tree.root, shared, proof, NB_CODE)
        assert (info.value.name, info.value.args_dict) == (
            "RevokedLeaf",
            {"leaf": shared, "reason": 4},
        )
    # Revoking it again under the second Ningbo root is refused: it is Ningbo's record.
    fn = world.c.tax_anchor.functions.revokeLeaf(nb_second.root, shared, nb_second.proof(shared), 5)
    err = revert_of(lambda: world.send(fn, world.nb))
    assert (err.name, err.args_dict) == ("RevokedLeaf", {"leaf": shared, "reason": 4})

    hz_proof = hz_tree.proof(shared)
    assert is_active(world, HZ_CODE, hz_tree.root, shared, hz_proof) is True
    active = require_active(world, hz_tree.root, shared, hz_proof, HZ_CODE)
    assert active == anchored_at(world, HZ_CODE, hz_tree.root)
    # The other leaves of Ningbo's trees are untouched.
    for nb_tree in (nb_first, nb_second):
        for leaf in nb_tree.leaves:
            if leaf != shared:
                assert is_active(world, NB_CODE, nb_tree.root, leaf, nb_tree.proof(leaf)) is True


# ---------------------------------------------------------------------- isActive


def test_is_active_valid_proof_true(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    for leaf in tree.leaves:
        assert is_active(world, HZ_CODE, tree.root, leaf, tree.proof(leaf)) is True


def test_is_active_wrong_proof_false(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[0]
    proof = tree.proof(leaf)
    proof[-1] = flipped(proof[-1])
    assert is_active(world, HZ_CODE, tree.root, leaf, proof) is False


def test_is_active_proof_of_other_leaf_false(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    assert is_active(world, HZ_CODE, tree.root, tree.leaves[0], tree.proof(tree.leaves[3])) is False


def test_is_active_revoked_leaf_false(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[0]
    world.send(
        world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 1), world.hz
    )
    assert is_active(world, HZ_CODE, tree.root, leaf, tree.proof(leaf)) is False


def test_is_active_revoked_root_false(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 1), world.hz)
    for leaf in tree.leaves:
        assert is_active(world, HZ_CODE, tree.root, leaf, tree.proof(leaf)) is False


def test_is_active_unknown_root_false(world: World) -> None:
    tree = make_tree()
    leaf = tree.leaves[0]
    assert is_active(world, HZ_CODE, tree.root, leaf, tree.proof(leaf)) is False


def test_is_active_inner_node_with_shorter_proof_true(world: World) -> None:
    # Documented in TaxAnchor's NatSpec, not a bug: the contract cannot tell leaves from inner
    # nodes, so callers must compute the leaf from its data (as ReturnLedger and the SDK do).
    tree = anchor_tree(world, world.hz, size=4)
    a, b = tree.leaves[0], tree.leaves[1]
    inner = hash_pair(a, b)
    shorter = tree.proof(a)[1:]
    assert inner not in tree
    assert len(shorter) == 1
    assert is_active(world, HZ_CODE, tree.root, inner, shorter) is True
    active = require_active(world, tree.root, inner, shorter, HZ_CODE)
    assert active == anchored_at(world, HZ_CODE, tree.root)
    # Revoking a leaf does not revoke the inner node above it.
    revoke_leaf(world, world.hz, tree, a, 1)
    assert is_active(world, HZ_CODE, tree.root, a, tree.proof(a)) is False
    assert is_active(world, HZ_CODE, tree.root, inner, shorter) is True


# ---------------------------------------------------------------------- requireActiveLeaf


def test_require_active_leaf_valid_passes_and_returns_anchoring_time(world: World) -> None:
    tree = anchor_tree(world, world.nb, BatchKind.PAYMENT)
    anchored = anchored_at(world, NB_CODE, tree.root)
    assert anchored == world.now()
    for leaf in tree.leaves:
        assert (
            require_active(world, tree.root, leaf, tree.proof(leaf), NB_CODE, BatchKind.PAYMENT)
            == anchored
        )


def test_require_active_leaf_not_anchored_reverts(world: World) -> None:
    tree = make_tree()
    leaf = tree.leaves[0]
    err = revert_of(lambda: require_active(world, tree.root, leaf, tree.proof(leaf), HZ_CODE))
    assert (err.name, err.args_dict) == (
        "RootNotAnchored",
        {"root": tree.root, "areaCode": HZ_CODE},
    )


def test_require_active_leaf_other_area_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[0]
    err = revert_of(lambda: require_active(world, tree.root, leaf, tree.proof(leaf), NB_CODE))
    assert (err.name, err.args_dict) == (
        "RootOfAnotherArea",
        {"root": tree.root, "anchoredBy": HZ_CODE, "expected": NB_CODE},
    )


def test_require_active_leaf_wrong_kind_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz, BatchKind.ASSESSMENT)
    leaf = tree.leaves[0]
    err = revert_of(
        lambda: require_active(world, tree.root, leaf, tree.proof(leaf), HZ_CODE, BatchKind.PAYMENT)
    )
    assert (err.name, err.args_dict) == (
        "WrongBatchKind",
        {"root": tree.root, "kind": BatchKind.ASSESSMENT, "expected": BatchKind.PAYMENT},
    )


def test_require_active_leaf_revoked_root_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 11), world.hz)
    leaf = tree.leaves[0]
    err = revert_of(lambda: require_active(world, tree.root, leaf, tree.proof(leaf), HZ_CODE))
    assert (err.name, err.args_dict) == ("RevokedRoot", {"root": tree.root, "reason": 11})


def test_require_active_leaf_revoked_leaf_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[5]
    world.send(
        world.c.tax_anchor.functions.revokeLeaf(tree.root, leaf, tree.proof(leaf), 12), world.hz
    )
    err = revert_of(lambda: require_active(world, tree.root, leaf, tree.proof(leaf), HZ_CODE))
    assert (err.name, err.args_dict) == ("RevokedLeaf", {"leaf": leaf, "reason": 12})


def test_require_active_leaf_wrong_proof_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    leaf = tree.leaves[1]
    proof = tree.proof(leaf)
    proof[1] = flipped(proof[1])
    err = revert_of(lambda: require_active(world, tree.root, leaf, proof, HZ_CODE))
    assert (err.name, err.args_dict) == ("InvalidProof", {"root": tree.root, "leaf": leaf})


def test_require_active_leaf_not_in_tree_reverts(world: World) -> None:
    tree = anchor_tree(world, world.hz)
    stranger = random32()
    err = revert_of(
        lambda: require_active(world, tree.root, stranger, tree.proof(tree.leaves[0]), HZ_CODE)
    )
    assert (err.name, err.args_dict) == ("InvalidProof", {"root": tree.root, "leaf": stranger})


# ---------------------------------------------------------------------- views


def test_get_root_unknown_root_all_zero(world: World) -> None:
    assert get_root(world, HZ_CODE, random32()) == (0, 0, 0, 0)


@pytest.mark.parametrize("area_code", [0, HZ_CODE, NB_CODE, 65535])
def test_leaf_revocation_unknown_leaf_zero(world: World, area_code: int) -> None:
    assert leaf_revocation(world, area_code, random32()) == 0


def test_consortium_deployed_returns_consortium_address(world: World) -> None:
    assert call(world.c.tax_anchor.functions.consortium()) == world.c.consortium.address
