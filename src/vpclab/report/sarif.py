"""Audit results as SARIF 2.1.0 (OASIS), for code scanning: one rule per check, one result per finding, located in
the snapshot file it came from (artifact URI relative to the snapshot, the JSON path or Terraform address as a
logical location, the line when the source has one). A pure function of an `AuditResult`."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Mapping
from typing import Any

from vpclab import __version__
from vpclab.analysis.audit.finding import AuditResult, Finding, Severity

SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
#: SARIF result levels and GitHub's security-severity scores per severity
LEVEL = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note", Severity.INFO: "note"}
SCORE = {Severity.HIGH: "8.0", Severity.MEDIUM: "5.0", Severity.LOW: "3.0", Severity.INFO: "0.0"}
BASE = "SNAPSHOT"


def to_sarif(result: AuditResult, lines: Mapping[tuple[str, str], int] | None = None) -> dict[str, Any]:
    """The SARIF log of one audit run; `lines` gives the line of a (file, JSON path) origin
    (`analysis.audit.lines.source_lines`), so describe-JSON results get a region too."""
    rules = [{"id": c.id, "name": c.id.replace("-", " ").title().replace(" ", ""),
              "shortDescription": {"text": c.title}, "fullDescription": {"text": c.rationale},
              "help": {"text": f"{c.rationale} Fix: {c.fix}. AWS source: {c.aws_source}."},
              "defaultConfiguration": {"level": LEVEL[c.severity]},
              "properties": {"aws_source": c.aws_source, "severity": c.severity.value,
                             "security-severity": SCORE[c.severity], "tags": ["security", "aws", "vpc"]}}
             for c in result.checks]
    index = {c.id: i for i, c in enumerate(result.checks)}
    root = Path(result.snapshot).resolve()
    base = root if root.is_dir() else root.parent
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "vpclab", "version": __version__, "semanticVersion": __version__,
                            "rules": rules}},
        "originalUriBaseIds": {BASE: {"uri": base.as_uri() + "/"}},
        "results": [_result(f, index[f.check], root, lines or {}) for f in result.findings if f.check in index],
        "properties": {"snapshot": result.snapshot, "kind": result.kind},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _result(f: Finding, rule_index: int, root: Path, lines: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": f.check, "ruleIndex": rule_index, "level": LEVEL[f.severity],
                              "message": {"text": f"{f.message}. Fix: {f.fix.text}"},
                              "locations": [_location(f, root, lines)],
                              "partialFingerprints": {"vpclabResource/v1": f"{f.check}:{f.resource}:"
                                                      f"{f.source.path if f.source else ''}"},
                              "properties": {"severity": f.severity.value, "resource": f.resource,
                                             "fix": {"text": f.fix.text, "cli": f.fix.cli},
                                             "evidence": dict(f.evidence)}}
    return result


def _location(f: Finding, root: Path, lines: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """The file the finding's source is in (relative to the snapshot), its line if known, its JSON path or address."""
    source = f.source
    where: dict[str, Any] = {}
    logical = []
    if source is not None and source.file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(source.file, root), "uriBaseId": BASE}}
        line = source.line or lines.get((source.file, source.path))
        if line:
            physical["region"] = {"startLine": line}
        where["physicalLocation"] = physical
    elif root.is_file():  # a Terraform document: the address is the location inside it
        where["physicalLocation"] = {"artifactLocation": {"uri": _uri(root.name, root), "uriBaseId": BASE}}
    if source is not None and source.path:
        logical.append({"fullyQualifiedName": source.path, "kind": "member" if source.path.startswith("$")
                        else "resource"})
    logical.append({"name": f.resource, "kind": "resource"})
    where["logicalLocations"] = logical
    return where


def _uri(file: str, root: Path) -> str:
    """A relative URI for `file` (as written in the origin: relative to the snapshot, or absolute)."""
    path = Path(file)
    if path.is_absolute():
        base = root if root.is_dir() else root.parent
        try:
            path = path.relative_to(base)
        except ValueError:
            return path.as_uri()
    return "/".join(part.replace(" ", "%20") for part in path.parts)
