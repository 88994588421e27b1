"""What every check shares: the network with the internet stand-in, one engine (compiled once, through reach's
`Reacher`), each group's ENIs, and reach answers cached per class of equivalent ENIs."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from vpclab.analysis.audit.inputs import AuditInput, GroupInfo
from vpclab.analysis.endpoints import Endpoint, internet_address
from vpclab.analysis.reach import ReachAnswer, Reacher
from vpclab.engine.engine import Engine
from vpclab.model.network import Host, Network
from vpclab.model.rules import Direction


class Context:
    """The audit of one snapshot: checks read the model from here and ask the engine through here."""

    def __init__(self, found: AuditInput) -> None:
        self.input = found
        #: the address that stands for `internet` (one nothing in the snapshot names more narrowly than 0.0.0.0/0)
        self.standin = internet_address(found.network)
        self.standin6 = internet_address(found.network, v6=True)
        self.reacher = Reacher(found.network, {self.standin, self.standin6})
        self.network: Network = self.reacher.network  # the snapshot's, with the internet stand-in as a host
        self.engine: Engine = self.reacher.engine
        self.hosts: list[Host] = self.network.vpc_hosts()
        self._internet: dict[tuple[object, ...], ReachAnswer] = {}

    @property
    def groups(self) -> dict[str, GroupInfo]:
        return self.input.groups

    @cached_property
    def members(self) -> dict[str, list[Host]]:
        """Each group's ENIs (every group present, with an empty list for a group on no ENI)."""
        found: dict[str, list[Host]] = {gid: [] for gid in self.network.security_groups}
        for host in self.hosts:
            for gid in host.security_groups:
                found.setdefault(gid, []).append(host)
        return found

    @cached_property
    def unions(self) -> dict[tuple[str, ...], list[Host]]:
        """ENIs by the groups they carry (the unit the engine compiles: one policy pair per set of groups)."""
        found: dict[tuple[str, ...], list[Host]] = defaultdict(list)
        for host in self.hosts:
            if host.security_groups:
                found[host.security_groups].append(host)
        return dict(found)

    @cached_property
    def _unions_by_group(self) -> dict[str, list[tuple[str, ...]]]:
        found: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for union in self.unions:
            for gid in union:
                found[gid].append(union)
        return dict(found)

    def unions_of(self, group: str) -> list[tuple[str, ...]]:
        """The sets of groups carried by the ENIs that carry `group`."""
        return self._unions_by_group.get(group, [])

    @cached_property
    def linked_vpcs(self) -> set[tuple[str, str]]:
        """Pairs of VPCs an active peering joins (both orders)."""
        pairs = set()
        for peering in self.network.peerings.values():
            if peering.state == "active":
                pairs |= {(peering.requester, peering.accepter), (peering.accepter, peering.requester)}
        return pairs

    def may_route(self, a: Host, b: Host) -> bool:
        """A cheap necessary condition for a route between two ENIs: one VPC, a peering, or a transit gateway in
        the snapshot (the engine's router decides; this only skips pairs it would refuse)."""
        if a.subnet is None or b.subnet is None:
            return False
        va, vb = self.network.subnets[a.subnet].vpc, self.network.subnets[b.subnet].vpc
        return va == vb or (va, vb) in self.linked_vpcs or bool(self.network.transit_gateways)

    @cached_property
    def subnet_spans(self) -> tuple[list[int], list[tuple[int, int, str]]]:
        """IPv4 subnets sorted by first address (starts, and (first, last, name)), to find those a block overlaps."""
        spans = sorted((int(s.cidr.network_address), int(s.cidr.broadcast_address), name)
                       for name, s in self.network.subnets.items())
        self._widest = max((hi - lo for lo, hi, _ in spans), default=0)
        return [lo for lo, _, _ in spans], spans

    def subnets_overlapping(self, first: int, last: int) -> list[str]:
        """The subnets with an address in [first, last]."""
        from bisect import bisect_right

        starts, spans = self.subnet_spans
        i = bisect_right(starts, first - self._widest - 1)
        found = []
        while i < len(spans) and spans[i][0] <= last:
            lo, hi, name = spans[i]
            if hi >= first:
                found.append(name)
            i += 1
        return found

    @cached_property
    def subnet_hosts(self) -> dict[str, list[Host]]:
        found: dict[str, list[Host]] = defaultdict(list)
        for host in self.hosts:
            if host.subnet is not None:
                found[host.subnet].append(host)
        return dict(found)

    @cached_property
    def internet_host(self) -> Host:
        """The internet stand-in as a host (its ephemeral range is the client's in questions from `internet`)."""
        return next(h for h in self.network.hosts.values() if h.internet and h.ip == self.standin)

    def from_internet(self, host: Host, proto: int, port: int | None, v6: bool = False) -> ReachAnswer:
        """Reach from `internet` to `host` (at its public IP, else its private one; with `v6`, at its IPv6 address)
        on proto/port, asked once per class: ENIs in one subnet with the same groups and the same kind of address
        answer alike, since from outside only the source address (the stand-in) is matched by groups and NACL
        entries."""
        key = (host.subnet, host.security_groups, host.public_ip is not None, v6, proto, port)
        answer = self._internet.get(key)
        if answer is None:
            target = Endpoint(host.name, host.name, address=host.ipv6 if v6 else None)
            answer = self._internet[key] = self.reacher.reach(Endpoint("internet", internet=True), target, proto,
                                                              port)
        return answer

    def reach(self, src: Host, dst: Host, proto: int, port: int | None) -> ReachAnswer:
        """Reach between two ENIs of the snapshot."""
        return self.reacher.reach(Endpoint(src.name, src.name), Endpoint(dst.name, dst.name), proto, port)


INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
