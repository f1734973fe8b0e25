"""The Python Merkle library and leaf encoders against TaxAnchor and ReturnLedger on eth-tester."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.bindings import BatchKind, call
from clients.commitments.keccak import keccak256
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf, pieces_hash
from clients.commitments.merkle import (
    MerkleTree,
    hash_pair,
    merkle_root,
    process_proof,
    verify_proof,
)
from tests.utils.chain import HZ, NB, PLATFORM_A, World

SHAPES = [1, 2, 3, 5, 7, 8, 33, 257]
UINT64_MAX = 2**64 - 1
UINT32_MAX = 2**32 - 1

leaf_st = st.binary(min_size=32, max_size=32)
leaves_st = st.lists(leaf_st, min_size=1, max_size=70)
multi_leaves_st = st.lists(leaf_st, min_size=2, max_size=70, unique=True)


def random_leaves(count: int, seed: int) -> list[bytes]:
    """`count` distinct random 32-byte leaves, reproducible from `seed`."""
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(count)]


def flip_bit(value: bytes, bit: int = 0) -> bytes:
    """`value` with bit `bit` (0 = lowest of the last byte) flipped."""
    index = len(value) - 1 - bit // 8
    return value[:index] + bytes([value[index] ^ (1 << bit % 8)]) + value[index + 1 :]


def sample(tree: MerkleTree, seed: int) -> list[bytes]:
    """Every leaf of a small tree; ~20 random leaves plus the first and last of a big one."""
    leaves = list(tree.leaves)
    if len(leaves) <= 33:
        return leaves
    rng = random.Random(seed)
    return [leaves[0], *rng.sample(leaves[1:-1], 20), leaves[-1]]


def anchor(world: World, tree: MerkleTree) -> None:
    """Anchor `tree` as a Hangzhou assessment batch."""
    fn = world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, len(tree.leaves))
    world.send(fn, world.hz)


def is_active(world: World, root: bytes, leaf: bytes, proof: list[bytes]) -> bool:
    """TaxAnchor.isActive under Hangzhou's anchoring (the area `anchor` anchors for)."""
    return bool(call(world.c.tax_anchor.functions.isActive(2900, root, leaf, proof)))


# ---------------------------------------------------------------------- trees on the contract


@pytest.mark.parametrize("size", SHAPES)
def test_is_active_python_proof_true(world: World, size: int) -> None:
    tree = MerkleTree(random_leaves(size, seed=size))
    anchor(world, tree)
    for leaf in sample(tree, seed=size):
        proof = tree.proof(leaf)
        assert verify_proof(tree.root, leaf, proof)
        assert is_active(world, tree.root, leaf, proof) is True


@pytest.mark.parametrize("size", SHAPES)
def test_is_active_leaf_not_in_tree_false(world: World, size: int) -> None:
    tree = MerkleTree(random_leaves(size, seed=size))
    anchor(world, tree)
    stranger = random_leaves(1, seed=10_000 + size)[0]
    assert stranger not in tree
    proof = tree.proof(tree.leaves[0])
    assert not verify_proof(tree.root, stranger, proof)
    assert is_active(world, tree.root, stranger, proof) is False


@pytest.mark.parametrize("size", [s for s in SHAPES if s > 1])
def test_is_active_flipped_proof_element_false(world: World, size: int) -> None:
    tree = MerkleTree(random_leaves(size, seed=size))
    anchor(world, tree)
    for leaf in (tree.leaves[0], tree.leaves[len(tree.leaves) // 2], tree.leaves[-1]):
        proof = tree.proof(leaf)
        for i in range(len(proof)):
            bad = [*proof[:i], flip_bit(proof[i]), *proof[i + 1 :]]
            assert not verify_proof(tree.root, leaf, bad)
            assert is_active(world, tree.root, leaf, bad) is False


def test_is_active_single_leaf_tree_extra_proof_element_false(world: World) -> None:
    tree = MerkleTree(random_leaves(1, seed=1))
    anchor(world, tree)
    leaf = tree.leaves[0]
    assert tree.root == leaf
    assert tree.proof(leaf) == []
    bogus = random_leaves(1, seed=99)
    assert not verify_proof(tree.root, leaf, bogus)
    assert is_active(world, tree.root, leaf, bogus) is False


@pytest.mark.parametrize("size", [2, 33])
def test_require_active_leaf_python_proof_passes(world: World, size: int) -> None:
    tree = MerkleTree(random_leaves(size, seed=size))
    anchor(world, tree)
    anchored_at = call(world.c.tax_anchor.functions.getRoot(2900, tree.root))[2]
    for leaf in tree.leaves:
        fn = world.c.tax_anchor.functions.requireActiveLeaf(
            tree.root, leaf, tree.proof(leaf), 2900, BatchKind.ASSESSMENT
        )
        assert call(fn) == anchored_at


# ---------------------------------------------------------------------- pure library


@pytest.mark.parametrize("size", SHAPES)
def test_merkle_root_any_shape_matches_tree_root(size: int) -> None:
    leaves = random_leaves(size, seed=size)
    assert merkle_root(leaves) == MerkleTree(leaves).root


@pytest.mark.parametrize("size", SHAPES)
def test_merkle_tree_shuffled_leaves_same_root(size: int) -> None:
    leaves = random_leaves(size, seed=size)
    shuffled = list(leaves)
    random.Random(size).shuffle(shuffled)
    assert MerkleTree(shuffled).root == MerkleTree(leaves).root
    assert list(MerkleTree(shuffled).leaves) == sorted(leaves)


def test_merkle_tree_duplicates_ignored() -> None:
    leaves = random_leaves(7, seed=7)
    with_duplicates = leaves + leaves[:3] + [leaves[0]]
    tree = MerkleTree(with_duplicates)
    assert tree.root == MerkleTree(leaves).root
    assert merkle_root(with_duplicates) == tree.root
    assert len(tree.leaves) == 7
    for leaf in leaves:
        assert verify_proof(tree.root, leaf, tree.proof(leaf))


def test_merkle_tree_empty_raises() -> None:
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(ValueError):
        merkle_root([])


BAD_LEAF_SETS = [
    pytest.param([b"\x01" * 31, b"\x02" * 32], id="short"),
    pytest.param([b"\x02" * 32, b"\x01" * 33], id="long"),
    pytest.param([b""], id="empty-leaf"),
    pytest.param([b"\x01" * 31], id="single-short"),
    pytest.param([*random_leaves(6, seed=6), b"\x01" * 20], id="one-bad-among-many"),
]


@pytest.mark.parametrize("leaves", BAD_LEAF_SETS)
def test_merkle_tree_wrong_length_leaf_raises(leaves: list[bytes]) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleTree(leaves)


@pytest.mark.parametrize("leaves", BAD_LEAF_SETS)
def test_merkle_root_wrong_length_leaf_raises(leaves: list[bytes]) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        merkle_root(leaves)


def test_merkle_tree_proof_unknown_leaf_raises() -> None:
    tree = MerkleTree(random_leaves(5, seed=5))
    with pytest.raises(KeyError):
        tree.proof(b"\x00" * 32)


def test_merkle_tree_two_leaves_root_is_hash_pair() -> None:
    a, b = random_leaves(2, seed=2)
    tree = MerkleTree([a, b])
    assert tree.root == hash_pair(a, b) == hash_pair(b, a)
    assert tree.proof(a) == [b]
    assert tree.proof(b) == [a]


def test_merkle_tree_three_leaves_last_promoted() -> None:
    a, b, c = sorted(random_leaves(3, seed=3))
    tree = MerkleTree([c, a, b])
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(c) == [hash_pair(a, b)]


@settings(max_examples=50, deadline=None)
@given(leaves=leaves_st)
def test_verify_proof_every_leaf_true(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    assert merkle_root(leaves) == tree.root
    for leaf in tree.leaves:
        proof = tree.proof(leaf)
        assert process_proof(leaf, proof) == tree.root
        assert verify_proof(tree.root, leaf, proof)


@settings(max_examples=50, deadline=None)
@given(leaves=multi_leaves_st, data=st.data())
def test_verify_proof_changed_element_false(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    leaf = data.draw(st.sampled_from(list(tree.leaves)), label="leaf")
    proof = tree.proof(leaf)
    i = data.draw(st.integers(0, len(proof) - 1), label="element")
    replacement = data.draw(leaf_st.filter(lambda v: v != proof[i]), label="replacement")
    bad = [*proof[:i], replacement, *proof[i + 1 :]]
    assert not verify_proof(tree.root, leaf, bad)


@settings(max_examples=50, deadline=None)
@given(leaves=multi_leaves_st, data=st.data())
def test_verify_proof_flipped_bit_false(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    leaf = data.draw(st.sampled_from(list(tree.leaves)), label="leaf")
    proof = tree.proof(leaf)
    i = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not verify_proof(tree.root, leaf, [*proof[:i], flip_bit(proof[i], bit), *proof[i + 1 :]])
    assert not verify_proof(tree.root, flip_bit(leaf, bit), proof)


@settings(max_examples=50, deadline=None)
@given(leaves=leaves_st, data=st.data())
def test_verify_proof_changed_leaf_false(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    leaf = data.draw(st.sampled_from(list(tree.leaves)), label="leaf")
    other = data.draw(leaf_st.filter(lambda v: v != leaf), label="other")
    assert not verify_proof(tree.root, other, tree.proof(leaf))


@settings(max_examples=50, deadline=None)
@given(leaves=multi_leaves_st, extra=leaf_st, data=st.data())
def test_verify_proof_truncated_or_extended_false(
    leaves: list[bytes], extra: bytes, data: st.DataObject
) -> None:
    tree = MerkleTree(leaves)
    leaf = data.draw(st.sampled_from(list(tree.leaves)), label="leaf")
    proof = tree.proof(leaf)
    assert not verify_proof(tree.root, leaf, proof[:-1])
    assert not verify_proof(tree.root, leaf, [*proof, extra])


# ---------------------------------------------------------------------- leaf encoders


def header(seed: int, release_time: int, line_count: int) -> CaseHeader:
    """A case header with random ids, digest and declared pieces (1..UINT32_MAX per line)."""
    case_id, digest = random_leaves(2, seed=seed)
    rng = random.Random(seed)
    pieces = tuple(
        rng.choice([1, 2, 7, UINT32_MAX, rng.randrange(1, 2**32)])
        for _ in range(max(0, line_count))
    )
    return CaseHeader(case_id, NB, PLATFORM_A, release_time, line_count, digest, pieces)


@pytest.mark.parametrize(
    ("release_time", "line_count"),
    [
        (0, 1),
        (0, 255),
        (UINT64_MAX, 1),
        (UINT64_MAX, 255),
        (1_700_000_000, 3),
        (2**32, 128),
        (random.Random(1).randrange(2**64), random.Random(2).randrange(1, 256)),
    ],
)
def test_case_header_leaf_matches_contract(
    world: World, release_time: int, line_count: int
) -> None:
    h = header(release_time ^ line_count, release_time, line_count)
    on_chain = call(world.c.return_ledger.functions.caseHeaderLeaf(h.as_tuple()))
    assert on_chain == h.leaf()


@pytest.mark.parametrize("piece", [0, 1, UINT32_MAX])
def test_case_header_leaf_extreme_words_match_contract(world: World, piece: int) -> None:
    h = CaseHeader(
        b"\xff" * 32, b"\x00" * 32, b"\xff" * 32, UINT64_MAX, 255, b"\x00" * 32, (piece,) * 255
    )
    assert call(world.c.return_ledger.functions.caseHeaderLeaf(h.as_tuple())) == h.leaf()


@settings(max_examples=25, deadline=None)
@given(pieces=st.lists(st.integers(0, UINT32_MAX), min_size=1, max_size=40))
def test_case_header_leaf_any_pieces_match_contract(base_world: World, pieces: list[int]) -> None:
    h = dataclasses.replace(
        header(9, 1_700_000_000, 1), line_count=len(pieces), pieces=tuple(pieces)
    )
    assert call(base_world.c.return_ledger.functions.caseHeaderLeaf(h.as_tuple())) == h.leaf()


def test_pieces_hash_is_keccak_of_32_byte_words() -> None:
    # abi.encodePacked(uint32[]) pads each element to 32 bytes, unlike packed scalars.
    words = b"".join(n.to_bytes(32, "big") for n in (3, 1, UINT32_MAX))
    assert pieces_hash((3, 1, UINT32_MAX)) == keccak256(words)
    assert pieces_hash(()) == keccak256(b"")


def test_case_header_leaf_distinct_fields_distinct_leaves() -> None:
    h = dataclasses.replace(header(5, 1_700_000_000, 3), pieces=(3, 1, 2))
    variants = [
        dataclasses.replace(h, origin_area=HZ),
        dataclasses.replace(h, release_time=h.release_time + 1),
        dataclasses.replace(h, line_count=4, pieces=(*h.pieces, 1)),
        dataclasses.replace(h, pieces=(h.pieces[0] ^ 1, *h.pieces[1:])),
        dataclasses.replace(h, pieces=(h.pieces[1], h.pieces[0], h.pieces[2])),
    ]
    assert len({h.leaf(), *(v.leaf() for v in variants)}) == 6


@pytest.mark.parametrize(("release_time", "line_count"), [(0, 0), (0, 256), (-1, 1), (2**64, 1)])
def test_case_header_leaf_out_of_range_raises(release_time: int, line_count: int) -> None:
    with pytest.raises(ValueError):
        header(1, release_time, line_count).leaf()


def test_case_header_leaf_short_id_raises() -> None:
    h = header(1, 1, 1)
    bad = dataclasses.replace(h, case_id=h.case_id[:31])
    with pytest.raises(ValueError):
        bad.leaf()


@pytest.mark.parametrize("pieces", [(), (1, 1), (1, 1, 1, 1), (1, 2**32, 1), (1, -1, 1)], ids=str)
def test_case_header_leaf_bad_pieces_raises(pieces: tuple[int, ...]) -> None:
    # Three lines need three piece counts, each fitting uint32.
    with pytest.raises(ValueError):
        dataclasses.replace(header(1, 1, 3), pieces=pieces).leaf()


@pytest.mark.parametrize("code", [1, 2900, 3100, 4600, 9999])
def test_payment_leaf_matches_contract(world: World, code: int) -> None:
    case_id, digest = random_leaves(2, seed=code)
    on_chain = call(world.c.return_ledger.functions.paymentLeaf(case_id, code, digest))
    assert on_chain == payment_leaf(case_id, code, digest)


def test_payment_leaf_extreme_words_match_contract(world: World) -> None:
    case_id, digest = b"\xff" * 32, b"\x00" * 32
    on_chain = call(world.c.return_ledger.functions.paymentLeaf(case_id, 9999, digest))
    assert on_chain == payment_leaf(case_id, 9999, digest)


@pytest.mark.parametrize("code", [0, 10_000, -1])
def test_payment_leaf_invalid_code_raises(code: int) -> None:
    with pytest.raises(ValueError):
        payment_leaf(b"\x01" * 32, code, b"\x02" * 32)


def test_case_header_leaf_in_anchored_tree_active(world: World) -> None:
    headers = [header(100 + i, 1_700_000_000 + i, 1 + i) for i in range(5)]
    tree = MerkleTree(h.leaf() for h in headers)
    anchor(world, tree)
    for h in headers:
        leaf = call(world.c.return_ledger.functions.caseHeaderLeaf(h.as_tuple()))
        assert is_active(world, tree.root, leaf, tree.proof(h.leaf())) is True
