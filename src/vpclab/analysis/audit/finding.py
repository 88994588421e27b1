"""The audit's vocabulary: a check's metadata, a finding, a fix — plain data that every renderer formats."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from vpclab.errors import Origin, Problem

if TYPE_CHECKING:
    from vpclab.analysis.audit.context import Context


class Severity(str, Enum):
    """How much a finding matters; `info` findings never fail a run (`--fail-on`)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __str__(self) -> str:
        return self.value


_RANKS = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


@dataclass(frozen=True, slots=True)
class Fix:
    """What to change, in words and as a command ("" when no single command fits)."""

    text: str
    cli: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found: the resource, a sentence, the evidence (a path, a packet, rules) as plain data,
    the model object's origin (file and JSON path, or Terraform address) and the fix."""

    check: str
    severity: Severity
    resource: str
    message: str
    evidence: Mapping[str, Any]
    source: Origin | None
    fix: Fix


@dataclass(frozen=True, slots=True)
class Check:
    """A small independent check: metadata, and a function from the audit context to its findings.

    `severity` is the check's usual severity (a finding may be lower, e.g. an exposure nothing can reach);
    `aws_source` names the section of ../shared/reference/*.md the check rests on."""

    id: str
    title: str
    severity: Severity
    rationale: str
    aws_source: str
    fix: str
    run: Callable[["Context"], Iterable[Finding]] = field(repr=False, compare=False)

    def finding(self, resource: str, message: str, evidence: Mapping[str, Any], source: Origin | None, fix: Fix,
                severity: Severity | None = None) -> Finding:
        """A finding of this check (at its usual severity unless `severity` says otherwise)."""
        return Finding(self.id, severity or self.severity, resource, message, evidence, source, fix)


@dataclass(frozen=True, slots=True)
class AuditResult:
    """Every finding of one run, in check order, and the checks that ran."""

    snapshot: str
    kind: str
    findings: tuple[Finding, ...]
    checks: tuple[Check, ...]
    warnings: tuple[Problem, ...] = ()  # what the importer skipped or guessed while reading the snapshot

    def failing(self, threshold: Severity) -> tuple[Finding, ...]:
        """The findings at or above `threshold` (never `info` ones)."""
        floor = max(threshold.rank, Severity.LOW.rank)
        return tuple(f for f in self.findings if f.severity.rank >= floor)

    def counts(self) -> dict[str, int]:
        """Findings per severity, highest first."""
        return {s.value: sum(1 for f in self.findings if f.severity is s) for s in reversed(Severity)}
