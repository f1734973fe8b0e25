"""Typed struct reads decode by the ABI's names; the old module path still imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from clients.bindings.enums import MemberKind, MemberStatus, ReturnState
from clients.bindings.reads import (
    LedgerStruct,
    MemberRecord,
    ReturnRecord,
    output_names,
    snake_case,
)
from clients.errors import LedgerError


def test_snake_case_of_abi_names() -> None:
    assert snake_case("customsCode") == "customs_code"
    assert snake_case("kind") == "kind"


def test_output_names_of_struct_view_come_from_the_abi() -> None:
    assert output_names("ReturnLedger", "getReturn")[:2] == ("caseId", "lineMask")


def test_decode_return_record_by_name() -> None:
    raw = (b"\1" * 32, 0b101, 0b1, 0, 3, True, 10, 20, 3100)
    record = ReturnRecord.decode(raw)
    assert record.case_id == b"\1" * 32
    assert record.state is ReturnState.INSPECTED
    assert (record.line_mask, record.centre_code, record.late) == (5, 3100, True)


def test_decode_member_record_gateway_url() -> None:
    raw = (1, 1, 3100, 2, False, b"\0" * 32, b"key", "http://gw")
    member = MemberRecord.decode(raw)
    assert member.kind is MemberKind.CUSTOMS and member.status is MemberStatus.ACTIVE
    assert member.gateway_url == "http://gw"


def test_decode_with_names_not_in_abi_raises() -> None:
    @dataclass(frozen=True)
    class Shifted(LedgerStruct):
        VIEW: ClassVar[tuple[str, str]] = ("TaxAnchor", "getRoot")
        kind: int
        leaf_count: int
        anchored: int
        revoked_reason: int

    with pytest.raises(LedgerError):
        Shifted.decode((1, 2, 3, 4))


def test_decode_with_wrong_arity_raises() -> None:
    with pytest.raises(ValueError):
        ReturnRecord.decode((b"\1" * 32, 1))
