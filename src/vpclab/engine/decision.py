"""Answers of the engine's stateless calls: what the rules say on a path, and what conntrack holds for it."""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.engine.packet import Packet
from vpclab.engine.paths import Route
from vpclab.engine.verdict import RuleRef, TrackedFlow
from vpclab.model.rules import Direction


@dataclass(frozen=True, slots=True)
class GateDecision:
    """One filter's rule decision on a packet, without connection tracking.

    `component` is `sg` (at ENI `where`) or `nacl` (of subnet `where`); `rule` is the deciding rule (for a
    security group the first admitting rule, None when none admits; for a NACL the first matching entry or
    the `*` deny). `untracked`: a security group admits the packet as part of an untracked flow, so it would
    be judged by the rules on every packet.
    """

    component: str
    id: str
    direction: Direction
    where: str
    allowed: bool
    rule: RuleRef | None
    untracked: bool
    packet: Packet


@dataclass(frozen=True, slots=True)
class Decision:
    """Every gate on a packet's path with its rule decision; `delivered` is the packet after translation."""

    packet: Packet
    route: Route
    gates: tuple[GateDecision, ...]
    delivered: Packet | None

    @property
    def allowed(self) -> bool:
        """True when the route exists and every gate's rules admit the packet."""
        return self.route.drop_code is None and all(g.allowed for g in self.gates)

    @property
    def blockers(self) -> tuple[GateDecision, ...]:
        """The gates whose rules refuse the packet (all of them, not just the first)."""
        return tuple(g for g in self.gates if not g.allowed)


@dataclass(frozen=True, slots=True)
class TrackedLookup:
    """What one ENI on a path tracks for a packet: the live entry that would admit it, or None."""

    host: str
    direction: Direction
    flow: TrackedFlow | None
