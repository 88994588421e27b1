"""Errors raised when model input is invalid: every problem names the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: `field` is a dotted path, `message` says what is expected."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ModelError(ValueError):
    """Raised with every problem found, so a user can fix them all in one pass."""

    def __init__(self, problems: list[Problem] | Problem | str, field: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(field, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def under(self, prefix: str) -> "ModelError":
        """The same problems with their field paths placed under `prefix`."""
        return ModelError([Problem(_join(prefix, p.field), p.message) for p in self.problems])


def _join(prefix: str, field: str) -> str:
    if not prefix:
        return field
    if not field:
        return prefix
    return f"{prefix}.{field}"
