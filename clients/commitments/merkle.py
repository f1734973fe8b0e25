"""Sorted-pair keccak256 Merkle trees, exactly as TaxAnchor and OpenZeppelin's MerkleProof check.

Rule (OpenAttestation's): the leaves are sorted ascending as 32-byte strings and de-duplicated;
each level pairs neighbours (0,1), (2,3)...; a parent is keccak256(min(a, b) || max(a, b)); an
odd node at the end of a level is promoted unchanged. The root of one leaf is the leaf. A proof
lists the sibling of each level the node was paired at (promotions add nothing), so verifying is
folding `parent(node, sibling)` over the proof.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from clients.commitments.keccak import keccak256


def hash_pair(a: bytes, b: bytes) -> bytes:
    """The parent of two nodes (commutative)."""
    return keccak256(a + b if a <= b else b + a)


def process_proof(leaf: bytes, proof: Iterable[bytes]) -> bytes:
    """The root a proof leads to from `leaf`."""
    node = leaf
    for sibling in proof:
        node = keccak256(node + sibling if node <= sibling else sibling + node)
    return node


def verify_proof(root: bytes, leaf: bytes, proof: Iterable[bytes]) -> bool:
    """Whether `proof` leads from `leaf` to `root`."""
    return process_proof(leaf, proof) == root


def _parent_level(level: list[bytes]) -> list[bytes]:
    parents = [
        keccak256(a + b if a <= b else b + a)
        for a, b in zip(level[0::2], level[1::2], strict=False)
    ]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """The root of the tree over `leaves` (without keeping the levels)."""
    level = sorted(set(leaves))
    if not level:
        raise ValueError("a Merkle tree needs at least one leaf")
    if any(len(leaf) != 32 for leaf in level):
        raise ValueError("Merkle leaves must be 32 bytes")
    while len(level) > 1:
        level = _parent_level(level)
    return level[0]


class MerkleTree:
    """A tree kept whole, to hand out proofs for each leaf."""

    def __init__(self, leaves: Iterable[bytes]) -> None:
        ordered = sorted(set(leaves))
        if not ordered:
            raise ValueError("a Merkle tree needs at least one leaf")
        if any(len(leaf) != 32 for leaf in ordered):
            raise ValueError("Merkle leaves must be 32 bytes")
        self._index = {leaf: i for i, leaf in enumerate(ordered)}
        self._levels: list[list[bytes]] = [ordered]
        while len(self._levels[-1]) > 1:
            self._levels.append(_parent_level(self._levels[-1]))

    @property
    def root(self) -> bytes:
        """The root."""
        return self._levels[-1][0]

    @property
    def leaves(self) -> Sequence[bytes]:
        """The leaves in tree order (sorted, unique)."""
        return self._levels[0]

    def __contains__(self, leaf: object) -> bool:
        return leaf in self._index

    def proof(self, leaf: bytes) -> list[bytes]:
        """The proof of `leaf`; KeyError if it is not in the tree."""
        index = self._index[leaf]
        out: list[bytes] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                out.append(level[sibling])
            index //= 2
        return out
