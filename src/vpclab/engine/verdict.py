"""Verdicts as data: whether a packet gets through, and every filter's decision with the rule behind it.

Nothing here is prose: `vpclab.report.explain` turns steps and verdicts into sentences and JSON, one renderer
for every caller (lab timeline, reach, replay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vpclab.engine.packet import Packet
from vpclab.errors import Origin
from vpclab.model.frozen import FrozenMap
from vpclab.model.rules import Direction, NaclEntry, SgRule

#: the facts of a step or verdict that has none (shared: creating a dict per verdict costs in bulk evaluation)
NO_FACTS: Mapping[str, Any] = FrozenMap()


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule or entry as a decision cites it: its owner (group or NACL), direction, number and origin.

    SG rules are numbered by position in their group (from 1); NACL entries by their rule number, and the
    final `*` deny has `number=None` and `rule=None` (its origin is the NACL's).
    """

    owner: str
    direction: Direction
    number: int | None
    rule: SgRule | NaclEntry | None
    origin: Origin | None = None

    @property
    def ref(self) -> str:
        """`ingress rule 2` for a security group rule, `100` or `*` for a NACL entry."""
        if isinstance(self.rule, SgRule):
            return f"{self.direction} rule {self.number}"
        return "*" if self.number is None else str(self.number)

    @property
    def source(self) -> str:
        """Where the rule was written (`lab.yaml:12`), or "" when unknown."""
        return str(self.origin) if self.origin else ""


@dataclass(frozen=True, slots=True)
class TrackedFlow:
    """A snapshot of a conntrack entry as a decision saw it (entries themselves keep changing)."""

    key: tuple[int, int, int, int, int]  # (src, dst, proto, a, b) of the flow's first packet
    v6: bool
    state: str
    timeout: float
    opened_by: RuleRef | None
    direction: str
    idle: float = 0.0  # for an expired entry: how long it had been idle


@dataclass(frozen=True, slots=True)
class Step:
    """One component's decision on a packet, as data.

    `component` is `sg`, `nacl`, `conntrack` or `route`; `id` the object (group, NACL, `eni-<host>`,
    `vpc-router`, `igw`); `rule` the deciding rule with its origin; `flow` the conntrack entry that decided
    or was opened; `packet` the packet as this component saw it; `facts` what else explains the decision
    (keys documented in `vpclab.report.explain`).
    """

    component: str
    id: str
    decision: str  # allow | deny | info
    code: str
    host: str | None = None
    direction: str | None = None
    rule: RuleRef | None = None
    flow: TrackedFlow | None = None
    packet: Packet | None = None
    facts: Mapping[str, Any] = NO_FACTS
    origin: Origin | None = None  # where the deciding object was written when no rule decided (a group, a NACL)

    @property
    def source(self) -> str:
        """Where the deciding rule was written; else the deciding object (a group, a NACL); else, for a
        tracked connection, the rule that opened it; "" when unknown."""
        if self.rule is not None and self.rule.origin:
            return self.rule.source
        if self.origin:
            return str(self.origin)
        if self.flow is not None and self.flow.opened_by is not None and self.flow.opened_by.origin:
            return self.flow.opened_by.source
        return ""


@dataclass(slots=True)
class Verdict:
    """The fate of one packet: allowed or dropped, the deciding code, and (unless skipped) the full trace.

    `delivered` is the packet as the receiver sees it (after the internet gateway's translation);
    `receiver` names the host it reached, or is None when it left the VPC for an address with no host.
    `where` names the gate that dropped it (`testb ingress`, `subnet b ingress`, `route`); `rule` is the
    deciding rule even when the trace was skipped (`explain=False`).
    """

    allowed: bool
    code: str
    trace: tuple[Step, ...] = ()
    delivered: Packet | None = None
    receiver: str | None = None
    where: str = ""
    rule: RuleRef | None = None
    facts: Mapping[str, Any] = NO_FACTS

    @property
    def decisive(self) -> Step | None:
        """The step that dropped the packet (None if it was allowed or explanations were skipped)."""
        if self.allowed or not self.trace:
            return None
        return self.trace[-1]
