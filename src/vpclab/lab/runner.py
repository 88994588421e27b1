"""Run a lab's steps on a backend, compare outcomes with expectations, and collect the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vpclab.lab.backend import Backend, Observation
from vpclab.lab.loader import Lab, LabStep
from vpclab.lab.steps import names_host, target
from vpclab.model.protocols import parse_protocol, protocol_name
from vpclab.lab.on_snapshot import hosts_used


@dataclass(slots=True)
class StepResult:
    """One step's outcome against its expectation, with the packets it caused."""

    index: int
    action: str
    description: str
    expect: str | None
    outcome: str
    packets: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    conntrack: dict[str, list[dict[str, Any]]] | None = None
    at: float = 0.0  # the lab's schedule: seconds of waits before this step (both backends wait them)
    wait: float | None = None  # a wait step's seconds

    @property
    def ok(self) -> bool:
        return self.expect is None or self.expect == self.outcome

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "action": self.action, "description": self.description,
                                "expect": self.expect, "outcome": self.outcome, "ok": self.ok,
                                "packets": self.packets, "at": self.at}
        if self.wait is not None:
            data["wait"] = self.wait
        if self.detail:
            data["detail"] = self.detail
        if self.conntrack is not None:
            data["conntrack"] = self.conntrack
        return data


@dataclass(slots=True)
class LabResult:
    """A whole run: `ok` when every expectation was met."""

    lab: str
    title: str
    backend: str
    steps: list[StepResult]
    warnings: list[dict[str, str]] = field(default_factory=list)  # the lab's load warnings (AWS quotas exceeded)
    hosts: list[dict[str, Any]] = field(default_factory=list)  # name, addresses, internet: who sent a packet

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if not s.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"lab": self.lab, "title": self.title, "backend": self.backend, "ok": self.ok,
                "warnings": self.warnings, "hosts": self.hosts, "steps": [s.to_dict() for s in self.steps]}


def run_lab(lab: Lab, backend: Backend, conntrack: bool = False) -> LabResult:
    """Run every step in order; the backend is started and always stopped. `conntrack` records the
    tables after each step (for --verbose)."""
    connections: dict[str, Any] = {}
    results: list[StepResult] = []
    used = hosts_used(lab.network, (s.spec for s in lab.steps)) if lab.snapshot else None
    backend.start(lab.network, used)
    at = 0.0
    try:
        for step in lab.steps:
            observation = _run_step(step, backend, connections, lab)
            wait = float(step.spec.seconds) if step.action == "wait" else None
            result = StepResult(step.index, step.action, describe(step), step.expect, observation.outcome,
                                observation.packets, observation.detail, at=at, wait=wait)
            at += wait or 0.0
            if conntrack:
                result.conntrack = backend.conntrack()
            results.append(result)
    finally:
        backend.stop()
    warnings = [{"where": str(w.origin) if w.origin else "", "message": f"{w.field}: {w.message}" if w.field
                 else w.message} for w in lab.warnings]  # the shape of `vpclab import --json`'s warnings
    return LabResult(lab.name, lab.title, backend.name, results, warnings, host_addresses(lab, used))


def host_addresses(lab: Lab, used: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Each host's name and every address it answers to (so a report can tell who sent a packet), by name;
    on a snapshot only the hosts the steps use."""
    hosts = lab.network.hosts
    return [{"name": name, "addresses": [str(a) for a in hosts[name].addresses], "internet": hosts[name].internet}
            for name in sorted(hosts) if used is None or name in used]


def _run_step(step: LabStep, backend: Backend, connections: dict[str, Any], lab: Lab) -> Observation:
    s: Any = step.spec
    action = step.action
    if step.network is not None:
        return backend.apply(step.network)
    if action == "listen":
        return backend.listen(s.host, s.proto, s.port, s.reply)
    to = target(lab.network, s) if hasattr(s, "to") else ""  # a host name, or an address (NAME@ipv6: its IPv6)
    if action == "connect":
        observation = backend.connect(s.src, to, s.port, s.sport)
        if s.name:
            connections[s.name] = observation.handle
        return observation
    if action == "send":
        return backend.send(connections[s.conn], s.data.encode(), s.side)
    if action == "close":
        return backend.close(connections[s.conn], s.side)
    if action == "udp":  # expect reply / no-reply: the outcome is whether the listener's answer came back
        return backend.udp(s.src, to, s.port, s.data.encode(), s.sport, reply=s.expect in ("reply", "no-reply"))
    if action == "ping":
        return backend.ping(s.src, to, s.id, s.seq)
    if action == "icmp":
        return backend.icmp(s.src, to, s.type, s.code, s.id, s.seq)
    if action == "ip":
        return backend.ip(s.src, to, parse_protocol(s.proto))
    if action == "wait":
        return backend.wait(s.seconds)
    raise ValueError(f"unknown action {action!r}")


def _proto_text(proto: object) -> str:
    """A rule's protocol as a step description shows it: `all traffic` for -1 (AWS's word), else as written."""
    return "all traffic" if str(proto).strip().lower() in ("-1", "all") else str(proto)


def describe(step: LabStep) -> str:
    """A short human description: `connect testa → testb:4321 as c1`, `revoke sg-b ingress tcp 4321 from …`."""
    s: Any = step.spec
    action = step.action
    if getattr(s, "family", None) == "ipv6" and names_host(s.to):  # which address of the host named: NAME@ipv6
        s = s.model_copy(update={"to": f"{s.to}@ipv6"})
    if action == "listen":
        return f"listen on {s.host} {s.proto}/{s.port}" + (" (replying)" if s.reply else "")
    if action == "connect":
        return (f"connect {s.src} → {s.to}:{s.port}" + (f" from port {s.sport}" if s.sport else "")
                + (f" as {s.name}" if s.name else ""))
    if action == "send":
        return f"send {s.data!r} on {s.conn}" + (" from the server" if s.side == "server" else "")
    if action == "close":
        return f"close {s.conn}" + (" from the server" if s.side == "server" else "")
    if action == "ip":
        return f"ip {protocol_name(parse_protocol(s.proto))} {s.src} → {s.to}"
    if action == "set_conntrack":
        given = s.model_dump(exclude_none=True, exclude={"host"})
        return f"set {s.host}'s conntrack " + ", ".join(f"{k} {v}" for k, v in given.items())
    if action == "modify_prefix_list":
        changes = [f"+{c}" for c in s.add] + [f"-{c}" for c in s.remove]
        return f"modify prefix list {s.prefix_list}: {' '.join(changes)}"
    if action == "udp":
        return (f"udp {s.src} → {s.to}:{s.port} {s.data!r}" + (f" from port {s.sport}" if s.sport else "")
                + (" (the listener's answer)" if s.expect in ("reply", "no-reply") else ""))
    if action == "ping":
        return f"ping {s.src} → {s.to} id {s.id} seq {s.seq}"
    if action == "icmp":
        return f"icmp {s.type} code {s.code} {s.src} → {s.to} id {s.id} seq {s.seq}"
    if action == "wait":
        return f"wait {s.seconds:g} s"
    if action in ("authorize", "revoke"):
        direction = "ingress" if s.ingress is not None else "egress"
        rule = s.ingress or s.egress
        peer = rule.cidr or rule.sg or rule.prefix_list
        what = _proto_text(rule.proto) + (f" {rule.ports}" if rule.ports is not None else "")
        if rule.icmp is not None:
            what += " all types" if rule.icmp.type in (-1, "-1") else f" type {rule.icmp.type}" + (
                f" code {rule.icmp.code}" if rule.icmp.code != -1 else "")
        return f"{action} {s.sg} {direction}: {what} {'from' if direction == 'ingress' else 'to'} {peer}"
    if action == "nacl_entry":
        direction = "ingress" if s.ingress is not None else "egress"
        e = s.ingress or s.egress
        ports = f" {e.ports}" if e.ports is not None else ""
        return f"NACL {s.nacl} {direction} rule {e.rule}: {e.action} {_proto_text(e.proto)}{ports} {e.cidr}"
    if action == "delete_nacl_entry":
        return f"delete NACL {s.nacl} {s.direction} rule {s.rule}"
    if action == "associate_nacl":
        return f"associate subnet {s.subnet} with NACL {s.nacl}"
    if action == "set_security_groups":
        return f"set {s.host}'s security groups to {', '.join(s.security_groups)}"
    return action
