"""Known differences between the simulator (AWS's documented behaviour) and the kernel backend (Linux).

Each has an id, a description (also in docs/assumptions.md, "The kernel backend") and a test saying whether a lab
step is exposed to it. `vpclab lab diff` reports a disagreement on an exposed step as listed, not as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from vpclab.engine.paths import service_map
from vpclab.lab.loader import Lab, LabStep
from vpclab.lab.steps import target
from vpclab.model.addresses import parse_ip
from vpclab.model.errors import ModelError
from vpclab.model.protocols import parse_protocol

STREAM_DELAY = 2.0  # Linux: a replied UDP flow becomes a stream only when still active 2 s after it started


@dataclass(frozen=True, slots=True)
class Difference:
    id: str
    summary: str
    exposes: Callable[[Lab, LabStep, dict[str, Any]], bool]


def _target(lab: Lab, step: LabStep) -> str | None:
    """The address a sending step goes to (a host's IPv4 address, its IPv6 one with family: ipv6)."""
    if getattr(step.spec, "to", None) is None:
        return None
    to = target(lab.network, step.spec)
    return str(lab.network.hosts[to].ip) if to in lab.network.hosts else to


def _service(lab: Lab, step: LabStep, _: dict[str, Any]) -> bool:
    target = _target(lab, step)
    if target is None:
        return False
    try:
        value = int(parse_ip(target))
    except ModelError:
        return False
    return value in service_map(lab.network.vpc)


def _capacity(lab: Lab, step: LabStep, state: dict[str, Any]) -> bool:
    """Every step of a lab where an ENI has a capacity, from the start or from a set_conntrack on."""
    if step.action == "set_conntrack" and step.spec.max_entries is not None:  # type: ignore[attr-defined]
        state["limited"] = True
    return state.get("limited", False) or any(h.conntrack.max_entries is not None for h in lab.network.vpc_hosts())


#: protocols Linux tracks with a tracker of their own, not by addresses and protocol as AWS does
OWN_TRACKERS = {47: "GRE", 132: "SCTP"}


def _own_tracker(lab: Lab, step: LabStep, _: dict[str, Any]) -> bool:
    """An `ip` step of GRE or SCTP: Linux tracks them with their own trackers and timeouts."""
    return step.action == "ip" and parse_protocol(step.spec.proto) in OWN_TRACKERS  # type: ignore[attr-defined]


def _udp_stream(lab: Lab, step: LabStep, state: dict[str, Any]) -> bool:
    """A UDP flow whose second transaction came less than 2 s after it started: AWS calls it a stream, Linux
    keeps the single-transaction timeout. Every later step of that flow is exposed."""
    clock = state.setdefault("clock", 0.0)
    flows: dict[tuple, float] = state.setdefault("flows", {})
    fast: set[tuple] = state.setdefault("fast", set())
    if step.action == "wait":
        state["clock"] = clock + step.spec.seconds  # type: ignore[attr-defined]
        return False
    if step.action != "udp" or step.spec.sport is None:  # type: ignore[attr-defined]
        return False
    s: Any = step.spec
    flow = tuple(sorted([(s.src, s.sport), (s.to, s.port)]))
    if flow in fast:
        return True
    if flow in flows and clock - flows[flow] < STREAM_DELAY:
        fast.add(flow)
        return False
    flows.setdefault(flow, clock)
    return False


DIFFERENCES = (
    Difference("K3", "Linux makes a UDP flow a stream only if it is still active 2 s after it started; AWS after "
                     "its second request-response transaction", _udp_stream),
    Difference("K4", "Amazon DNS, IMDS and Time Sync answer in the simulator but do not exist in the kernel backend",
               _service),
    Difference("K5", "conntrack capacity (max_entries) is approximated with nftables `ct count`", _capacity),
    Difference("K8", "Linux tracks GRE (30 s, 180 s once replied) and SCTP (its states) with trackers of their own, "
                     "not by addresses and protocol for 600 s as AWS tracks other protocols", _own_tracker),
)


def exposures(lab: Lab, sim_outcomes: dict[int, str] | None = None) -> dict[int, list[str]]:
    """For each step index, the ids of the known differences it is exposed to (some need the simulator's
    outcomes, e.g. which segments it dropped)."""
    states: dict[str, dict[str, Any]] = {d.id: {"sim": sim_outcomes or {}} for d in DIFFERENCES}
    result: dict[int, list[str]] = {}
    for step in lab.steps:
        ids = [d.id for d in DIFFERENCES if d.exposes(lab, step, states[d.id])]
        if ids:
            result[step.index] = ids
    return result
