"""The errors of canonical records: one `FieldError` per broken rule, gathered in one exception."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from clients.errors import CrossReturnError

# The pydantic error type that carries FieldErrors found by a cross-field check; the paths in
# its context are relative to the location where it was raised.
PROBLEMS_ERROR_TYPE = "record_problems"


@dataclass(frozen=True)
class FieldError:
    """One broken rule: where (a JSON pointer with camelCase keys), which rule, and why."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.rule}: {self.message}"


class RecordValidationError(CrossReturnError):
    """A record, or a pair of records, breaks one or more rules; `errors` lists every one."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head = f"{count} record validation error{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *(str(e) for e in self.errors)]))

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(path, rule) of every error, in order: handy to assert on."""
        return [(e.path, e.rule) for e in self.errors]


def problems(found: Sequence[FieldError]) -> PydanticCustomError:
    """A pydantic error that carries FieldErrors (paths relative to where it is raised)."""
    summary = "; ".join(f"{e.path}: {e.rule}" for e in found)
    return PydanticCustomError(
        PROBLEMS_ERROR_TYPE, "{summary}", {"summary": summary, "problems": list(found)}
    )


def fail(path: str, rule: str, message: str) -> PydanticCustomError:
    """A pydantic error for one broken rule at a relative path."""
    return problems([FieldError(path, rule, message)])
