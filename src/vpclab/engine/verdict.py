"""Verdicts: whether a packet gets through, and the trace of every filter that saw it and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from vpclab.engine.packet import Packet


@dataclass(frozen=True, slots=True)
class Step:
    """One filter's decision on a packet.

    `component` is `sg`, `nacl`, `conntrack` or `route`; `id` the object (group, NACL, ENI, gateway);
    `rule` the rule's reference (`ingress rule 2`, `100`, `*`), `entry` the conntrack entry if one decided.
    """

    component: str
    id: str
    decision: str  # allow | deny | info
    code: str
    reason: str
    host: str | None = None
    direction: str | None = None
    rule: str | None = None
    entry: str | None = None

    def to_dict(self) -> dict[str, str]:
        data = {"component": self.component, "id": self.id}
        if self.host is not None:
            data["host"] = self.host
        if self.direction is not None:
            data["direction"] = self.direction
        data.update(decision=self.decision, code=self.code, reason=self.reason)
        if self.rule is not None:
            data["rule"] = self.rule
        if self.entry is not None:
            data["entry"] = self.entry
        return data

    def line(self) -> str:
        """`sg sg-b testb ingress allow: ingress rule 1: tcp 4321 from 198.18.0.0/16`."""
        where = " ".join(x for x in (self.component, self.id, self.host or "", self.direction or "") if x)
        return f"{where} {self.decision}: {self.reason} [{self.code}]"


@dataclass(slots=True)
class Verdict:
    """The fate of one packet: allowed or dropped, the deciding code, and (unless skipped) the full trace.

    `delivered` is the packet as the receiver sees it (after the internet gateway's translation);
    `receiver` names the host it reached, or is None when it left the VPC for an address with no host.
    """

    allowed: bool
    code: str
    trace: tuple[Step, ...] = ()
    delivered: Packet | None = None
    receiver: str | None = None
    where: str = ""  # for a drop: `testb ingress`, `nacl locked ingress`, `route`
    reason_text: str = field(default="")

    @property
    def decisive(self) -> Step | None:
        """The step that dropped the packet (None if it was allowed or explanations were skipped)."""
        if self.allowed or not self.trace:
            return None
        return self.trace[-1]

    def reason(self) -> str:
        """One line: `dropped at testb ingress: sg-b has no rule for tcp/4321 and no tracked connection`."""
        if self.allowed:
            return "delivered" + (f" to {self.receiver}" if self.receiver else "")
        step = self.decisive
        detail = step.reason if step else (self.reason_text or self.code)
        return f"dropped at {self.where}: {detail}" if self.where else f"dropped: {detail}"

    def to_dict(self) -> dict[str, object]:
        return {"verdict": "allowed" if self.allowed else "dropped", "code": self.code,
                "trace": [s.to_dict() for s in self.trace]}
