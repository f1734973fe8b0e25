"""DisclosureRequest parsing: one spelling per field, every other one refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from clients.peer import DisclosureRequest, parse_signature

CHAIN_ID = 1337
CONSORTIUM = "0x" + "11" * 20
HEX_FIELDS = ("requester", "holder", "subject", "nonce")


def _request() -> DisclosureRequest:
    return DisclosureRequest.new("0x" + "aa" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32, "arrival")


def _with(field: str, value: Any) -> dict[str, Any]:
    data = _request().to_json()
    data[field] = value
    return data


def test_from_json_round_trips_to_json() -> None:
    request = _request()
    back = DisclosureRequest.from_json(json.loads(json.dumps(request.to_json())))
    assert back == request
    assert back.to_json() == request.to_json()
    assert back.nonce_bytes == bytes.fromhex(request.nonce[2:])
    assert back.requester_id == b"\xaa" * 32
    assert back.holder_id == b"\xbb" * 32
    assert back.subject_id == b"\xcc" * 32


def test_new_lowercases_ids() -> None:
    request = DisclosureRequest.new("0x" + "AA" * 32, "0x" + "Bb" * 32, "0x" + "cC" * 32, "arrival")
    assert request.requester == "0x" + "aa" * 32
    assert request.holder == "0x" + "bb" * 32
    assert request.subject == "0x" + "cc" * 32


@pytest.mark.parametrize("field", HEX_FIELDS)
@pytest.mark.parametrize(
    "spell",
    [
        lambda v: " " + v,
        lambda v: v + " ",
        lambda v: v + "\t",
        lambda v: v + "\n",
        lambda v: "\n" + v,
        lambda v: v[:10] + " " + v[10:],
        lambda v: v.upper(),
        lambda v: "0x" + v[2:].upper(),
        lambda v: v[2:],
        lambda v: v + "00",
        lambda v: v[:-2],
        lambda v: "0x" + "g" * 64,
        lambda v: "0x",
        lambda v: "",
        lambda v: int(v, 16),
        lambda v: None,
        lambda v: [v],
    ],
)
def test_from_json_other_spelling_of_hex_field_is_refused(field: str, spell: Any) -> None:
    data = _request().to_json()
    data[field] = spell(data[field])
    with pytest.raises(ValueError, match=f"^{field} must be 32 bytes of lowercase 0x-hex$"):
        DisclosureRequest.from_json(data)


@pytest.mark.parametrize(
    "value",
    [-1, 2**64, 10**30, "123", True, False, 1.5, 1e400, float("nan"), float("inf"), None, 123.0],
)
def test_from_json_bad_timestamp_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="^timestamp must be an integer"):
        DisclosureRequest.from_json(_with("timestamp", value))


@pytest.mark.parametrize("value", [0, 2**64 - 1])
def test_from_json_timestamp_bounds_are_accepted(value: int) -> None:
    assert DisclosureRequest.from_json(_with("timestamp", value)).timestamp == value


@pytest.mark.parametrize(
    "value", ["", "a" * 65, "Arrival", "arrival ", " arrival", "arrival\n", "arr-ival", "_x", 5]
)
def test_from_json_bad_doc_type_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="^docType must be"):
        DisclosureRequest.from_json(_with("docType", value))


@pytest.mark.parametrize("data", [[], "request", None, 5, [("requester", "0x")]])
def test_from_json_non_object_is_refused(data: Any) -> None:
    with pytest.raises(ValueError, match="^request must be a JSON object$"):
        DisclosureRequest.from_json(data)


def test_from_json_missing_field_is_named() -> None:
    data = _request().to_json()
    del data["nonce"]
    with pytest.raises(ValueError, match="^request lacks nonce$"):
        DisclosureRequest.from_json(data)


def test_from_json_unknown_field_is_named() -> None:
    with pytest.raises(ValueError, match="^request has unknown fields Nonce$"):
        DisclosureRequest.from_json(_with("Nonce", "0x" + "00" * 32))


def test_signature_other_spelling_is_refused() -> None:
    key = Account.create().key
    request = _request()
    signature = request.sign(key, CHAIN_ID, CONSORTIUM)
    assert request.signer(signature, CHAIN_ID, CONSORTIUM) == Account.from_key(key).address
    for other in (
        " " + signature,
        signature + "\n",
        signature.upper(),
        "0x" + signature[2:].upper(),
        signature[:-2],
        signature + "00",
        signature[2:],
        None,
    ):
        with pytest.raises(ValueError, match="^signature must be 65 bytes"):
            parse_signature(other)
        with pytest.raises(ValueError, match="^signature must be 65 bytes"):
            request.signer(other, CHAIN_ID, CONSORTIUM)  # type: ignore[arg-type]
