"""tests/vectors/*.json are what the code produces, and they hold independently of it."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from clients.commitments.document import DisclosedDocument
from clients.commitments.keccak import keccak256
from clients.commitments.merkle import merkle_root, verify_proof
from clients.signing import ReturnApplicationTerms
from tests.utils.vectors import VECTORS, VECTORS_DIR, render


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_committed_vectors_match_regenerated(name: str) -> None:
    committed = (VECTORS_DIR / f"{name}.json").read_text(encoding="utf-8")
    assert committed == render(VECTORS[name]()), "run: python -m tests.utils.vectors --write"


def load(name: str) -> dict:  # type: ignore[type-arg]
    data: dict = json.loads((VECTORS_DIR / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[type-arg]
    return data


def b(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def test_commitment_vector_recomputes_from_its_own_text() -> None:
    # Recompute from the file's strings alone, as another implementation would.
    v = load("commitment")
    leaves = []
    for f in v["fields"]:
        expected = json.dumps([f["path"], f["value"]], ensure_ascii=False, separators=(",", ":"))
        assert f["encoding"] == expected
        leaf = keccak256(b(f["salt"]) + f["encoding"].encode())
        assert leaf == b(f["leaf"])
        leaves.append(leaf)
    assert merkle_root(leaves) == b(v["digest"])
    disclosed = DisclosedDocument.from_json(v["disclosure"]["document"])
    assert disclosed.compute_digest() == b(v["digest"])


def test_merkle_vector_proofs_verify() -> None:
    for tree in load("merkle")["trees"]:
        for leaf, proof in tree["proofs"].items():
            assert verify_proof(b(tree["root"]), b(leaf), [b(p) for p in proof])


def test_eip712_vector_signature_recovers_signer() -> None:
    v = load("eip712")
    a = v["application"]
    terms = ReturnApplicationTerms(
        b(a["returnId"]),
        b(a["caseId"]),
        b(a["originArea"]),
        a["lineMask"],
        tuple(a["pieces"]),
        b(a["applicationDigest"]),
        b(a["returnCentre"]),
        a["deadline"],
    )
    message = encode_typed_data(full_message=terms.typed_data(v["chainId"], v["verifyingContract"]))
    assert Account.recover_message(message, signature=b(v["signature"])) == v["signer"]
