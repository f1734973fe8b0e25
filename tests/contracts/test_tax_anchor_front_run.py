"""TaxAnchor: roots are per anchoring area. The story of issue "Nothing is settled that was not
returned" (part 2): Zhengzhou copies Ningbo's pending root and anchors it first. Ningbo's own
anchoring must still succeed, its cases open from it, and Zhengzhou's copy neither blocks nor
shadows it; each area revokes only its own anchoring."""

from __future__ import annotations

from typing import Any

import pytest

from clients.bindings import BatchKind, call, events
from clients.commitments.ledger_leaves import CaseHeader
from clients.commitments.merkle import MerkleTree
from clients.errors import ContractRevert
from clients.records.lines import mask_of
from tests.utils.chain import DAY, NB, PLATFORM_A, AnchoredCase, World, random32

NB_CODE = 3100
ZZ_CODE = 4600


def _ningbo_batch(world: World, count: int = 3) -> tuple[MerkleTree, list[AnchoredCase]]:
    """A batch of Ningbo case headers (platform A), not anchored yet."""
    headers = [
        CaseHeader(random32(), NB, PLATFORM_A, world.now(), 2, random32(), (1, 1))
        for _ in range(count)
    ]
    tree = MerkleTree(h.leaf() for h in headers)
    return tree, [AnchoredCase(h, tree.root, tree.proof(h.leaf())) for h in headers]


def _anchor(world: World, sender: str, tree: MerkleTree) -> list[tuple[str, dict[str, Any]]]:
    fn = world.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, len(tree.leaves))
    return events(world.send(fn, sender), world.c)


def _active(world: World, area_code: int, case: AnchoredCase) -> bool:
    leaf = case.header.leaf()
    return bool(call(world.c.tax_anchor.functions.isActive(area_code, case.root, leaf, case.proof)))


def _record(world: World, area_code: int, root: bytes) -> tuple[int, int, int, int]:
    """getRoot: (kind, leafCount, anchoredAt, revokedReason)."""
    kind, count, at, reason = call(world.c.tax_anchor.functions.getRoot(area_code, root))
    return int(kind), int(count), int(at), int(reason)


def _open(world: World, case: AnchoredCase) -> list[str]:
    terms = world.terms(case.header.case_id, mask_of([1]))
    receipt = world.open_and_apply(case, terms, world.platform_a_key)
    return [name for name, _ in events(receipt, world.c)]


def test_front_run_root_neither_blocks_nor_shadows_the_origins_anchoring(world: World) -> None:
    tree, cases = _ningbo_batch(world)
    # Zhengzhou anchors Ningbo's pending root first.
    assert _anchor(world, world.zz, tree) == [
        ("RootAnchored", {"root": tree.root, "areaCode": ZZ_CODE, "kind": 1, "leafCount": 3})
    ]
    zz_time = world.now()
    # Until Ningbo anchors it, its cases cannot open from Zhengzhou's copy.
    with pytest.raises(ContractRevert) as info:
        _open(world, cases[0])
    assert (info.value.name, info.value.args_dict) == (
        "RootOfAnotherArea",
        {"root": tree.root, "anchoredBy": ZZ_CODE, "expected": NB_CODE},
    )
    assert not _active(world, NB_CODE, cases[0])

    world.travel_to(zz_time + DAY)
    # Ningbo's own anchoring of the same bytes succeeds ...
    assert _anchor(world, world.nb, tree) == [
        ("RootAnchored", {"root": tree.root, "areaCode": NB_CODE, "kind": 1, "leafCount": 3})
    ]
    nb_time = world.now()
    assert nb_time >= zz_time + DAY
    # ... and is its own record: Zhengzhou's earlier one does not shadow it.
    assert _record(world, NB_CODE, tree.root) == (BatchKind.ASSESSMENT, 3, nb_time, 0)
    assert _record(world, ZZ_CODE, tree.root) == (BatchKind.ASSESSMENT, 3, zz_time, 0)
    leaf, proof = cases[0].header.leaf(), cases[0].proof
    got = call(
        world.c.tax_anchor.functions.requireActiveLeaf(
            tree.root, leaf, proof, NB_CODE, BatchKind.ASSESSMENT
        )
    )
    assert got == nb_time
    # Ningbo's cases open from it.
    assert _open(world, cases[0]) == ["CaseOpened", "ReturnApplied"]
    opened = call(world.c.return_ledger.functions.getCase(cases[0].header.case_id))
    assert opened[2] == cases[0].header.release_time

    # Each area revokes only its own anchoring: Zhengzhou's revocation leaves Ningbo's alone.
    receipt = world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 9), world.zz)
    assert events(receipt, world.c) == [
        ("RootRevoked", {"root": tree.root, "areaCode": ZZ_CODE, "reason": 9})
    ]
    assert _record(world, ZZ_CODE, tree.root)[3] == 9
    assert _record(world, NB_CODE, tree.root)[3] == 0
    assert not _active(world, ZZ_CODE, cases[1])
    assert _active(world, NB_CODE, cases[1])
    revoke = world.c.tax_anchor.functions.revokeLeaf(
        tree.root, cases[2].header.leaf(), cases[2].proof, 4
    )
    world.send(revoke, world.zz)  # under its own (revoked) copy: Zhengzhou's own leaf record
    assert _active(world, NB_CODE, cases[2])
    assert _open(world, cases[1]) == ["CaseOpened", "ReturnApplied"]

    # Ningbo revokes its own root; Zhengzhou's record is untouched by it.
    receipt = world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 5), world.nb)
    assert events(receipt, world.c) == [
        ("RootRevoked", {"root": tree.root, "areaCode": NB_CODE, "reason": 5})
    ]
    assert _record(world, NB_CODE, tree.root)[3] == 5
    assert _record(world, ZZ_CODE, tree.root)[3] == 9
    assert not _active(world, NB_CODE, cases[2])
    with pytest.raises(ContractRevert) as info:
        _open(world, cases[2])
    assert (info.value.name, info.value.args_dict) == (
        "RevokedRoot",
        {"root": tree.root, "reason": 5},
    )


def test_anchoring_twice_by_the_same_area_is_still_refused(world: World) -> None:
    tree, _ = _ningbo_batch(world)
    _anchor(world, world.zz, tree)
    _anchor(world, world.nb, tree)
    with pytest.raises(ContractRevert) as info:
        _anchor(world, world.nb, tree)
    assert (info.value.name, info.value.args_dict) == (
        "RootAlreadyAnchored",
        {"root": tree.root, "areaCode": NB_CODE},
    )


def test_revoking_a_root_the_caller_never_anchored_names_the_area_that_did(world: World) -> None:
    tree, _ = _ningbo_batch(world)
    _anchor(world, world.zz, tree)
    with pytest.raises(ContractRevert) as info:
        world.send(world.c.tax_anchor.functions.revokeRoot(tree.root, 1), world.nb)
    assert (info.value.name, info.value.args_dict) == (
        "RootOfAnotherArea",
        {"root": tree.root, "anchoredBy": ZZ_CODE, "expected": NB_CODE},
    )
    assert _record(world, ZZ_CODE, tree.root)[3] == 0
