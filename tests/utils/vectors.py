"""Test vectors for other implementations of CrossReturn's commitments (tests/vectors/*.json).

Everything is derived from fixed inputs (salts are keccak256("crossreturn.vector.salt" || i)),
so `python -m tests.utils.vectors --write` regenerates byte-identical files and
tests/clients/test_vectors.py proves the committed files still match the code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from clients.commitments.document import commit, encode_field, flatten
from clients.commitments.ids import case_id, return_id
from clients.commitments.keccak import keccak256
from clients.commitments.ledger_leaves import CASE_HEADER_TAG, PAYMENT_LEAF_TAG, CaseHeader
from clients.commitments.ledger_leaves import payment_leaf as make_payment_leaf
from clients.commitments.merkle import MerkleTree
from clients.signing import ReturnApplicationTerms, sign_return_application

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"
RECORD: dict[str, Any] = {
    "docType": "tax_assessment",
    "invtNo": "310020261000000001",
    "customsCode": "3100",
    "releaseTime": "2026-11-11T10:00:00+08:00",
    "buyer": {"name": "张三", "idNumber": "330102199001011234", "phone": "13800000000"},
    "lines": [
        {"gnum": 1, "gcode": "3304990099", "gname": '面霜 "精华"\n', "qty": 2, "price": "199.00"},
        {"gnum": 2, "gcode": "3304990010", "gname": "洗面奶", "qty": 1, "price": "89.50"},
    ],
    "remark": None,
    "attachments": [],
    "urgent": False,
}


def h(data: bytes) -> str:
    """0x-hex."""
    return "0x" + data.hex()


def vector_salt(index: int) -> bytes:
    """The fixed salt of field `index` in the vectors."""
    return keccak256(b"crossreturn.vector.salt" + index.to_bytes(4, "big"))


def commitment_vector() -> dict[str, Any]:
    """A record, its fixed salts, every field's encoding and leaf, the digest, a disclosure."""
    fields = flatten(RECORD)
    salts = {path: vector_salt(i) for i, (path, _) in enumerate(fields)}
    c = commit(RECORD, salts)
    disclosed = c.disclose(["/lines/0"])
    return {
        "description": "leaf = keccak256(salt || JCS([path, value])); digest = sorted-pair root",
        "record": RECORD,
        "fields": [
            {
                "path": path,
                "value": value,
                "salt": h(salts[path]),
                "encoding": encode_field(path, value).decode(),
                "leaf": h(c.leaves[path]),
            }
            for path, value in fields
        ],
        "digest": h(c.digest),
        "disclosure": {"keep": ["/lines/0"], "document": disclosed.to_json()},
    }


def merkle_vector() -> dict[str, Any]:
    """Sorted-pair trees of 1, 2, 3, 5 and 8 leaves with every proof."""
    trees = []
    for size in (1, 2, 3, 5, 8):
        leaves = [keccak256(i.to_bytes(4, "big")) for i in range(size)]
        tree = MerkleTree(leaves)
        trees.append(
            {
                "leaves": [h(x) for x in leaves],
                "root": h(tree.root),
                "proofs": {h(x): [h(p) for p in tree.proof(x)] for x in leaves},
            }
        )
    return {
        "description": "parent = keccak256(min(a,b) || max(a,b)); odd node promoted",
        "trees": trees,
    }


def ledger_leaves_vector() -> dict[str, Any]:
    """A case header leaf and a payment leaf, as ReturnLedger computes them."""
    header = CaseHeader(
        keccak256(b"case"),
        b"customs-3100".ljust(32, b"\0"),
        b"platform-a".ljust(32, b"\0"),
        1_793_000_000,
        3,
        keccak256(b"record"),
        (2, 1, 5),
    )
    payment_digest = keccak256(b"payment")
    return {
        "caseHeaderTag": h(CASE_HEADER_TAG),
        "paymentLeafTag": h(PAYMENT_LEAF_TAG),
        "caseHeader": {
            "caseId": h(header.case_id),
            "originArea": h(header.origin_area),
            "platform": h(header.platform),
            "releaseTime": header.release_time,
            "lineCount": header.line_count,
            "pieces": list(header.pieces),
            "recordDigest": h(header.record_digest),
        },
        "caseHeaderLeaf": h(header.leaf()),
        "payment": {
            "caseId": h(header.case_id),
            "originCode": 3100,
            "paymentDigest": h(payment_digest),
        },
        "paymentLeaf": h(make_payment_leaf(header.case_id, 3100, payment_digest)),
    }


def eip712_vector() -> dict[str, Any]:
    """A return application's typed-data digest and signature under a fixed key."""
    key = keccak256(b"crossreturn.vector.platform-key")
    terms = ReturnApplicationTerms(
        keccak256(b"return"),
        keccak256(b"case"),
        b"customs-3100".ljust(32, b"\0"),
        0b101,
        (2, 5),
        keccak256(b"application"),
        b"customs-2900".ljust(32, b"\0"),
        1_795_000_000,
    )
    chain_id, ledger = 1337, "0x0000000000000000000000000000000000C0FFEE"
    message = encode_typed_data(full_message=terms.typed_data(chain_id, ledger))
    digest = keccak256(b"\x19" + message.version + message.header + message.body)
    return {
        "privateKey": h(key),
        "signer": Account.from_key(key).address,
        "chainId": chain_id,
        "verifyingContract": ledger,
        "application": {
            "returnId": h(terms.return_id),
            "caseId": h(terms.case_id),
            "originArea": h(terms.origin_area),
            "lineMask": terms.line_mask,
            "pieces": list(terms.pieces),
            "applicationDigest": h(terms.application_digest),
            "returnCentre": h(terms.return_centre),
            "deadline": terms.deadline,
        },
        "digest": h(digest),
        "signature": h(sign_return_application(terms, key, chain_id, ledger)),
    }


def ids_vector() -> dict[str, Any]:
    """Pseudonymous ids under a fixed secret."""
    secret = keccak256(b"crossreturn.vector.id-secret")
    return {
        "secret": h(secret),
        "caseId": {
            "customsCode": "3100",
            "invtNo": "310020261000000001",
            "id": h(case_id(secret, "3100", "310020261000000001")),
        },
        "returnId": {
            "customsCode": "3100",
            "invtNo": "310020261000000001",
            "applicationNo": "R1",
            "id": h(return_id(secret, "3100", "310020261000000001", "R1")),
        },
    }


VECTORS = {
    "commitment": commitment_vector,
    "merkle": merkle_vector,
    "ledger_leaves": ledger_leaves_vector,
    "eip712": eip712_vector,
    "ids": ids_vector,
}


def render(data: dict[str, Any]) -> str:
    """The committed text of a vector file."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="write tests/vectors/*.json")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.write:
        VECTORS_DIR.mkdir(exist_ok=True)
        for name, build in VECTORS.items():
            (VECTORS_DIR / f"{name}.json").write_text(render(build()), encoding="utf-8")


if __name__ == "__main__":
    main()
