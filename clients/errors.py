"""The one exception root of the CrossReturn SDK and the errors every part of it shares."""

from __future__ import annotations

from typing import Any


class CrossReturnError(Exception):
    """Base class for everything the CrossReturn SDK raises."""


class LedgerError(CrossReturnError):
    """The ledger could not be reached or answered something unusable."""


class ContractRevert(LedgerError):
    """A contract call or transaction reverted; `name` and `args` come from its custom error."""

    def __init__(self, name: str, args: dict[str, Any], raw: bytes = b"") -> None:
        self.name = name
        self.args_dict = args
        self.raw = raw
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(f"{name}({shown})")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)
