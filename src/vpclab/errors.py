"""vpclab's one exception hierarchy, and `Origin`: where an input object came from.

    VpclabError
    ├── InputError          bad input: every Problem found, each located (file and line, JSON path, address)
    │   ├── ModelError      raised by the model's own validation (problems named by field path)
    │   └── LabError        a lab file that cannot be loaded
    └── BackendError        a backend that cannot run or failed while running
        ├── BackendUnavailable   cannot run here (no root, no nftables): says what to install
        └── KernelError          a kernel command failed

A Problem has a severity: `error` problems make an InputError; `warning` problems are reported and the input
is still used (an unknown key, an unknown file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a model object came from: a file with a line, a JSON path in a file, or a resource address.

    Printed as `FILE:LINE`, `FILE: $.SecurityGroups[3]` or `module.web.aws_security_group.app`. It is
    provenance only: never part of an object's equality.
    """

    file: str = ""
    line: int | None = None
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file
        if self.path:
            return f"{where}: {self.path}" if where else self.path
        return where

    def __bool__(self) -> bool:
        return bool(self.file or self.path)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: the field it concerns (a dotted path), what is expected, and where."""

    field: str
    message: str
    origin: Origin | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        where = str(self.origin) if self.origin else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{text}" if where else f"{prefix}{text}"


class ProblemList:
    """Something that holds `problems`: which of them are errors, and which only warnings."""

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class VpclabError(Exception):
    """The root of every error vpclab raises on purpose."""


class InputError(ProblemList, VpclabError, ValueError):
    """Bad input, with every problem found so a user can fix them all in one pass (CLI: exit status 2)."""

    def __init__(self, problems: "list[Problem] | Problem | str", field: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(field, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) if any(p.origin for p in self.problems)
                         else "; ".join(str(p) for p in self.problems))


class BackendError(VpclabError):
    """A backend cannot run here or failed while running (CLI: exit status 3)."""


class BackendUnavailable(BackendError):
    """The backend cannot run here (e.g. no root, no nftables); the message says what to install or run."""


class KernelError(BackendError):
    """A kernel command (ip, nft, sysctl, conntrack) failed; the message holds its output."""
