"""The peer API accepts each field of a signed request in exactly one spelling: padded,
upper-case, short, long or mistyped values are refused with `bad_peer_request` (never a 5xx),
and a captured request cannot be answered twice by spelling its nonce differently.

The requester is Ningbo's gateway asking the return centre for the application of a return of
one of its cases (the origin's role), signed with Ningbo's account.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from clients.peer import DisclosureRequest
from tests.utils.gateway import CENTRE, NINGBO, GatewayWorld, assert_problem

PATH = "/peer/v1/disclosures"
DOC_TYPE = "return_application"
HEX_FIELDS = ("requester", "holder", "subject", "nonce")

Spelling = Callable[[str], Any]
WHITESPACE: dict[str, Spelling] = {
    "leading_space": lambda v: " " + v,
    "trailing_space": lambda v: v + " ",
    "trailing_spaces": lambda v: v + "   ",
    "leading_tab": lambda v: "\t" + v,
    "trailing_tab": lambda v: v + "\t",
    "trailing_newline": lambda v: v + "\n",
    "leading_newline": lambda v: "\n" + v,
    "inner_space": lambda v: v[:4] + " " + v[4:],
    "inner_tab": lambda v: v[:12] + "\t" + v[12:],
}
MALFORMED: dict[str, Spelling] = {
    "upper_case": lambda v: "0x" + v[2:].upper(),
    "upper_prefix": lambda v: "0X" + v[2:],
    "no_prefix": lambda v: v[2:],
    "one_byte_long": lambda v: v + "00",
    "one_byte_short": lambda v: v[:-2],
    "one_digit_short": lambda v: v[:-1],
    "non_hex": lambda v: v[:-1] + "g",
    "empty": lambda v: "",
    "number": lambda v: int(v, 16),
    "null": lambda v: None,
    "list": lambda v: [v],
}


@dataclass(frozen=True)
class Asker:
    """Ningbo, entitled to the application of a return the centre holds."""

    gw: GatewayWorld
    key: bytes
    return_id: str
    case_id: str

    def signed(self) -> tuple[DisclosureRequest, dict[str, Any]]:
        """A fresh request (new nonce, now) and its signed body."""
        consortium = self.gw.consortium
        request = DisclosureRequest.new(
            self.gw.member_hex(NINGBO), self.gw.member_hex(CENTRE), self.return_id, DOC_TYPE
        )
        signature = request.sign(
            self.key,
            consortium.centre.ledger.chain_id,
            consortium.manifest["addresses"]["Consortium"],
        )
        return request, {"request": request.to_json(), "signature": signature}

    def post(self, body: Any) -> httpx.Response:
        r: httpx.Response = self.gw.clients[CENTRE].post(PATH, json=body)
        return r

    def post_raw(self, text: str) -> httpx.Response:
        r: httpx.Response = self.gw.clients[CENTRE].post(
            PATH, content=text.encode(), headers={"content-type": "application/json"}
        )
        return r

    def logged(self) -> int:
        """Answers the centre gave Ningbo about this return (an identical request within the
        repeat window is answered with the disclosure logged first, so count answers)."""
        conn = self.gw.consortium.centre.connections.get()
        row = conn.execute(
            "SELECT count(*) FROM peer_answers WHERE requester = ? AND subject = ?",
            (self.gw.member_hex(NINGBO), self.return_id),
        ).fetchone()
        return int(row[0])


@pytest.fixture(scope="module")
def asker(gw: GatewayWorld) -> Asker:
    (case,) = gw.anchored_cases()
    app = gw.applied(case)
    key_file = gw.consortium.data_dir / "areas" / NINGBO / "keys" / "account.key"
    return Asker(gw, bytes.fromhex(key_file.read_text().strip()), app.return_id, case.case_id)


def _bad_request(r: httpx.Response, field: str | None = None) -> None:
    body = assert_problem(r, 422, "bad_peer_request")
    if field is not None:
        assert field in body["detail"], body


def _respelt(body: dict[str, Any], field: str, spell: Spelling) -> dict[str, Any]:
    """The same signed body with one field spelt differently (the signature left as is)."""
    out: dict[str, Any] = json.loads(json.dumps(body))
    if field == "signature":
        out["signature"] = spell(out["signature"])
    else:
        out["request"][field] = spell(out["request"][field])
    return out


# ---------------------------------------------------------------- the one spelling answers


def test_signed_request_is_answered_once(asker: Asker) -> None:
    before = asker.logged()
    _, body = asker.signed()
    assert asker.post(body).status_code == 200
    assert_problem(asker.post(body), 409, "replayed_request")
    assert asker.logged() == before + 1


def test_captured_request_with_respelt_nonce_is_answered_once(asker: Asker) -> None:
    before = asker.logged()
    _, body = asker.signed()
    # Spelt differently before the original arrives: refused, and the nonce is not spent.
    for spell in (*WHITESPACE.values(), MALFORMED["upper_case"]):
        _bad_request(asker.post(_respelt(body, "nonce", spell)), "nonce")
    assert asker.post(body).status_code == 200
    # ... and after: still refused (not re-answered).
    for spell in (*WHITESPACE.values(), MALFORMED["upper_case"]):
        _bad_request(asker.post(_respelt(body, "nonce", spell)), "nonce")
    assert_problem(asker.post(body), 409, "replayed_request")
    assert asker.logged() == before + 1


# ---------------------------------------------------------------- other spellings refused


@pytest.mark.parametrize("spelling", sorted(WHITESPACE))
@pytest.mark.parametrize("field", [*HEX_FIELDS, "signature"])
def test_whitespace_in_hex_field_is_refused(asker: Asker, field: str, spelling: str) -> None:
    _, body = asker.signed()
    _bad_request(asker.post(_respelt(body, field, WHITESPACE[spelling])), field)


@pytest.mark.parametrize("spelling", sorted(MALFORMED))
@pytest.mark.parametrize("field", [*HEX_FIELDS, "signature"])
def test_malformed_hex_field_is_refused(asker: Asker, field: str, spelling: str) -> None:
    _, body = asker.signed()
    _bad_request(asker.post(_respelt(body, field, MALFORMED[spelling])), field)


def test_refused_spellings_leave_no_trace(asker: Asker) -> None:
    before = asker.logged()
    _, body = asker.signed()
    for field in (*HEX_FIELDS, "signature"):
        for spell in (*WHITESPACE.values(), *MALFORMED.values()):
            assert asker.post(_respelt(body, field, spell)).status_code == 422
    assert asker.logged() == before
    assert asker.post(body).status_code == 200  # its nonce was never claimed


@pytest.mark.parametrize(
    "value", [-1, 2**64, 10**30, -(10**30), "123", True, False, 1.5, 123.0, None, [1], {}]
)
def test_bad_timestamp_is_refused(asker: Asker, value: Any) -> None:
    _, body = asker.signed()
    body["request"]["timestamp"] = value
    _bad_request(asker.post(body), "timestamp")


@pytest.mark.parametrize("token", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e3"])
def test_non_integer_json_timestamp_is_refused(asker: Asker, token: str) -> None:
    # Python's JSON parser reads these tokens (1e400 as inf); a JSON encoder never writes them.
    _, body = asker.signed()
    body["request"]["timestamp"] = "@TIMESTAMP@"
    r = asker.post_raw(json.dumps(body).replace('"@TIMESTAMP@"', token))
    _bad_request(r, "timestamp")


@pytest.mark.parametrize("value", [0, 2**64 - 1])
def test_timestamp_at_the_bounds_is_stale(asker: Asker, value: int) -> None:
    _, body = asker.signed()
    body["request"]["timestamp"] = value
    assert_problem(asker.post(body), 401, "stale_request")


@pytest.mark.parametrize(
    "value",
    ["", "x" * 65, "Return_application", " return_application", "return_application ", 5, None],
)
def test_bad_doc_type_is_refused(asker: Asker, value: Any) -> None:
    _, body = asker.signed()
    body["request"]["docType"] = value
    _bad_request(asker.post(body), "docType")


@pytest.mark.parametrize("request_part", [[], "request", 5, None, [["requester", "0x"]]])
def test_non_object_request_is_refused(asker: Asker, request_part: Any) -> None:
    _, body = asker.signed()
    body["request"] = request_part
    _bad_request(asker.post(body), "request must be a JSON object")


def test_missing_or_unknown_request_field_is_refused(asker: Asker) -> None:
    _, body = asker.signed()
    del body["request"]["nonce"]
    _bad_request(asker.post(body), "nonce")
    _, body = asker.signed()
    body["request"]["extra"] = 1
    _bad_request(asker.post(body), "extra")


@pytest.mark.parametrize(
    "body", [{}, {"request": {}}, {"signature": "0x"}, {"request": {}, "signature": "", "x": 1}]
)
def test_incomplete_body_is_refused(asker: Asker, body: dict[str, Any]) -> None:
    _bad_request(asker.post(body))


def test_non_object_body_is_refused(asker: Asker) -> None:
    _, body = asker.signed()
    assert_problem(asker.post([body]), 422, "invalid_request")


def test_well_formed_unrecoverable_signature_is_refused(asker: Asker) -> None:
    _, body = asker.signed()
    body["signature"] = "0x" + "00" * 32 + "00" * 31 + "01" + "1b"  # r = 0: no public key
    assert_problem(asker.post(body), 401, "bad_peer_signature")


N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _other_forms(signature: str) -> list[str]:
    """The same signature spelt the other ways ecrecover would accept: v as 0/1, high s."""
    raw = bytes.fromhex(signature[2:])
    r, s_value, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    low_v = r + raw[32:64] + bytes([v - 27])
    high_s = r + (N - s_value).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    return ["0x" + low_v.hex(), "0x" + high_s.hex()]


def test_other_forms_of_a_valid_signature_are_refused(asker: Asker) -> None:
    """One spelling per signature too (EIP-2): v 27/28 and low s only."""
    _, body = asker.signed()
    for form in _other_forms(body["signature"]):
        _bad_request(asker.post({**body, "signature": form}))
    assert asker.post(body).status_code == 200  # the nonce was not spent by the refusals
