"""`vpclab audit`: small independent checks that evaluate a snapshot with the engine (reach, `Engine.decide`, the
compiled policies), each finding with its resource, evidence, provenance and fix (DESIGN.md, "Questions")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vpclab.analysis.audit.checks import CHECKS, CHECKS_BY_ID
from vpclab.analysis.audit.context import Context
from vpclab.analysis.audit.finding import AuditResult, Check, Finding, Fix, Severity
from vpclab.analysis.audit.inputs import AuditInput, read_input
from vpclab.gc_pause import collector_paused

__all__ = ["CHECKS", "CHECKS_BY_ID", "AuditInput", "AuditResult", "Check", "Context", "Finding", "Fix", "Severity",
           "audit", "audit_path", "read_input"]


def audit(found: AuditInput, checks: Iterable[Check] = CHECKS) -> AuditResult:
    """Run `checks` on a read snapshot; findings in check order, each check's in the order it found them."""
    ctx = Context(found)
    chosen = tuple(checks)
    with collector_paused():  # many small acyclic objects (answers, findings) on a big heap
        findings = tuple(f for check in chosen for f in check.run(ctx))
    return AuditResult(found.path, found.snapshot.kind, findings, chosen, tuple(found.snapshot.warnings))


def audit_path(path: str | Path, checks: Iterable[Check] = CHECKS) -> AuditResult:
    """Read the snapshot at `path` and audit it (InputError when it cannot be used)."""
    return audit(read_input(path), checks)
