"""`vpclab replay`: every aggregated flow row judged by the engine against today's configuration and a proposal.

What it answers (DESIGN.md "Flow logs"): what the proposal would block that the logs show ACCEPTed (nothing, for
tighten's own proposal); where the logs disagree with the model (a REJECT the model allows, an ACCEPT it refuses) —
a fidelity finding; and which observed TCP connections a revocation would not cut at once because they are tracked
(aws-semantics.md §2.4, the second seed article), and until when (the ENI's TCP established timeout, §2.5).
Rows stream from the flow engine; a row is judged once per client-port span where a decision can change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from vpclab.analysis.flowrows import FlowRow, flow_rows
from vpclab.analysis.gates import GateVerdict, RowJudge, is_request
from vpclab.engine.decision import GateDecision
from vpclab.flows.pipeline import FlowRun
from vpclab.model.network import Network
from vpclab.model.protocols import TCP


@dataclass
class Judged:
    """One row with its verdicts per client-port span, today and (when given) under the proposal."""

    row: FlowRow
    today: list[GateVerdict]
    proposal: list[GateVerdict] | None = None

    @property
    def today_allowed(self) -> bool:
        return all(v.allowed for v in self.today)

    def blocked_by_proposal(self) -> list[GateVerdict]:
        return [v for v in (self.proposal or []) if not v.allowed]


@dataclass
class Survivor:
    """An observed TCP connection set the proposal would block that today's rules admit, and how it ends."""

    row: FlowRow
    tracked: bool  # False: untracked today, so a revocation cuts it at once (§2.2, §2.4)
    timeout: int  # the ENI's TCP established idle timeout (§2.5)
    until: int | None  # last seen + timeout: how long it lasts if it goes idle after what the logs show


@dataclass
class ReplayResult:
    """The replay's findings and counts."""

    snapshot: str
    proposal_kind: str  # none | tighten | snapshot
    proposal: str
    broken: list[Judged] = field(default_factory=list)
    fidelity: list[tuple[str, Judged]] = field(default_factory=list)  # (kind, row)
    survivors: list[Survivor] = field(default_factory=list)
    unknown_enis: dict[str, int] = field(default_factory=dict)  # ENI -> records
    counts: dict[str, int] = field(default_factory=dict)
    time_range: tuple[int | None, int | None] = (None, None)
    unreadable: list[str] = field(default_factory=list)  # flow-log files none of whose records could be read

    @property
    def breaks(self) -> bool:
        return bool(self.broken)


def judge_row(row: FlowRow, today: RowJudge, proposal: RowJudge | None = None) -> Judged:
    """A row's verdicts per span (spans cut where either configuration's decision can change)."""
    extra = proposal.breakpoints(row.eni, row.protocol or 0) if proposal is not None and proposal.knows(row.eni) \
        else ()
    spans = today.spans(row, extra)
    verdicts = [today.judge(row, s) for s in spans]
    proposed = [proposal.judge(row, s) for s in spans] if proposal is not None else None
    return Judged(row, verdicts, proposed)


def judgeable(row: FlowRow) -> str | None:
    """Why a row cannot be judged (None when it can)."""
    if row.direction not in ("ingress", "egress"):
        return "direction-unknown"
    if row.protocol is None or row.peer_addr is None or row.local_addr is None:
        return "no-address-or-protocol"
    if (":" in row.peer_addr) != (":" in row.local_addr):
        return "mixed-family"
    return None


def replay(network: Network, run: FlowRun, proposal: Network | None = None, proposal_kind: str = "none",
           proposal_path: str = "", snapshot: str = "") -> ReplayResult:
    """Judge every aggregated row of `run` on `network` (and on `proposal`)."""
    today = RowJudge(network)
    other = RowJudge(proposal) if proposal is not None else None
    result = ReplayResult(snapshot, proposal_kind, proposal_path, time_range=run.summary.time_range,
                          unreadable=run.summary.unreadable)
    counts: dict[str, int] = defaultdict(int)
    unknown: dict[str, int] = defaultdict(int)
    for row in flow_rows(run):
        counts["rows"] += 1
        counts["records"] += row.records
        if not today.knows(row.eni):
            unknown[row.eni] += row.records
            counts["not_judged_eni_not_in_snapshot"] += 1
            continue
        why = judgeable(row)
        if why is not None:
            counts[f"not_judged_{why.replace('-', '_')}"] += 1
            continue
        if other is not None and not other.knows(row.eni):
            counts["not_judged_eni_not_in_proposal"] += 1
            other_row = None
        else:
            other_row = other
        judged = judge_row(row, today, other_row)
        counts["judged"] += 1
        counts["judged_records"] += row.records
        allowed = judged.today_allowed
        counts["allowed_today" if allowed else "blocked_today"] += 1
        if row.action == "REJECT" and allowed:
            result.fidelity.append(("log-reject-model-allows", judged))
        elif row.action == "ACCEPT" and not allowed:
            result.fidelity.append(("log-accept-model-blocks", judged))
        if judged.proposal is not None and row.action == "ACCEPT" and judged.blocked_by_proposal():
            result.broken.append(judged)
            survivor = _survivor(network, judged)
            if survivor is not None:
                result.survivors.append(survivor)
    for eni, records in sorted(unknown.items()):
        result.unknown_enis[eni] = records
    counts["malformed_lines"] = run.summary.malformed
    counts["fidelity"] = len(result.fidelity)
    counts["broken"] = len(result.broken)
    result.counts = dict(counts)
    return result


def _survivor(network: Network, judged: Judged) -> Survivor | None:
    """The second seed article: a tracked connection outlives the revocation of the rule that admitted it."""
    row = judged.row
    if row.protocol != TCP or not is_request(row) or not judged.today_allowed:
        return None
    tracked = not any(v.untracked for v in judged.today)
    timeout = network.hosts[row.eni].conntrack.tcp_established
    until = int(row.last_seen) + timeout if tracked and row.last_seen is not None else None
    return Survivor(row, tracked, timeout, until)


def gate_facts(gate: GateDecision) -> dict[str, Any]:
    """A gate decision as plain data for reports: which filter, where, and the rule that decided."""
    rule = gate.rule
    text = None
    if rule is not None and rule.rule is not None:
        text = f"{rule.ref}: {rule.rule.text(gate.direction)}"
    elif rule is not None:
        text = "rule *: deny (no entry matches)"
    return {"component": gate.component, "id": gate.id, "direction": str(gate.direction),
            "decision": "allow" if gate.allowed else "deny",
            "rule": text if gate.component == "nacl" or gate.allowed else "no rule admits it",
            "source": str(rule.origin) if rule is not None and rule.origin is not None else ""}
