"""The smallest change that lets each blocker of a reach answer pass, as text and as an AWS CLI command.

Smallest means: one rule or entry, for the one protocol and port asked (replies: the initiator's ephemeral range,
since its source port varies), for the one peer address (/32, /128) — or 0.0.0.0/0 when the question was about
`internet` (any outside address). A group rule goes to the ENI's group with the fewest members, so the change
opens the path for the fewest other ENIs; a NACL allow entry takes the free number just before the entry that
denied (or after the last entry, when the `*` rule did). `Fix.change` is the same change as model data, so tests
apply it and ask again (tests/test_reach_snapshots.py).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from vpclab.engine import codes
from vpclab.engine.packet import Packet
from vpclab.engine.verdict import Step
from vpclab.model.network import Network
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP, PortRange, protocol_name
from vpclab.model.routing import TargetKind
from vpclab.model.rules import Direction, NaclEntry, SgRule
from vpclab.report.awscli import ip_permissions

if TYPE_CHECKING:
    from vpclab.analysis.reach import Blocker, Question, Reacher

DESCRIPTION = "vpclab reach"


@dataclass(frozen=True, slots=True)
class Change:
    """A fix as model data: `authorize` (group, direction, SgRule) or `nacl_entry` (NACL, direction, NaclEntry)."""

    kind: str
    target: str
    direction: Direction
    item: SgRule | NaclEntry

    def apply(self, network: Network) -> Network:
        if self.kind == "authorize":
            assert isinstance(self.item, SgRule)
            return network.authorize(self.target, self.direction, self.item)
        assert isinstance(self.item, NaclEntry)
        return network.add_nacl_entry(self.target, self.direction, self.item)


def fixes(reacher: "Reacher", q: "Question", blockers: tuple["Blocker", ...]) -> tuple["Blocker", ...]:
    """The blockers with their fixes filled in."""
    from vpclab.analysis.reach import Fix

    out = []
    taken: dict[tuple[str, Direction], set[int]] = {}  # NACL numbers this answer's fixes use, so they never collide
    for b in blockers:
        text, cli, change = _fix(reacher, q, b.hop.path, b.hop.step, taken)
        out.append(replace(b, fix=Fix(text, cli, change) if text else None))
    return tuple(out)


def _fix(reacher: "Reacher", q: "Question", path: str, step: Step, taken: dict[tuple[str, Direction], set[int]]
         ) -> tuple[str, str, Change | None]:
    if step.component == "sg":
        return _sg_fix(reacher, q, path, step)
    if step.component == "nacl":
        return _nacl_fix(reacher, q, path, step, taken)
    return _route_fix(reacher, q, step)


# ---- what to allow --------------------------------------------------------------------------------------


def _peer(q: "Question", step: Step) -> str:
    """The CIDR to allow: the peer address as this gate sees it, or the world for the `internet` keyword."""
    p = step.packet
    assert p is not None
    direction = Direction(step.direction)
    address = p.src if direction is Direction.INGRESS else p.dst
    for side in (q.src, q.dst):
        if side.internet and int(side.address) == address:
            return "::/0" if p.v6 else "0.0.0.0/0"
    ip = ipaddress.IPv6Address(address) if p.v6 else ipaddress.IPv4Address(address)
    return f"{ip}/{128 if p.v6 else 32}"


def _ports(reacher: "Reacher", q: "Question", path: str, p: Packet) -> PortRange | None:
    """Ports to allow: the destination port forward; the initiator's ephemeral range for replies."""
    if p.proto not in (TCP, UDP):
        return None
    if path == "forward":
        return PortRange(p.dport, p.dport)
    return reacher._initiator(q).ephemeral_ports


def _icmp(p: Packet) -> dict[str, int] | None:
    return {"type": p.icmp_type, "code": -1} if p.proto in (ICMP, ICMPV6) else None


def _what(p: Packet, ports: PortRange | None) -> str:
    if ports is not None:
        return f"{protocol_name(p.proto)} {ports}"
    if p.proto in (ICMP, ICMPV6):
        return f"{protocol_name(p.proto)} type {p.icmp_type}"
    return f"protocol {protocol_name(p.proto)}"


# ---- security groups ------------------------------------------------------------------------------------


def _sg_fix(reacher: "Reacher", q: "Question", path: str, step: Step) -> tuple[str, str, Change | None]:
    network = reacher.network
    p = step.packet
    assert p is not None and step.host is not None
    host = network.hosts[step.host]
    groups = [g for g in host.security_groups if g in network.security_groups]
    if not groups:
        return "", "", None
    group = min(groups, key=lambda g: (len(network.group_members(g)), groups.index(g)))
    direction = Direction(step.direction)
    cidr = _peer(q, step)
    ports = _ports(reacher, q, path, p)
    rule = SgRule.make(protocol_name(p.proto), str(ports) if ports is not None else None, cidr=cidr, icmp=_icmp(p),
                       description=DESCRIPTION)
    word = "inbound" if direction is Direction.INGRESS else "outbound"
    preposition = "from" if direction is Direction.INGRESS else "to"
    shared = len(network.group_members(group))
    why = (f" ({host.name} carries {', '.join(groups)}; {group} has the fewest members: {shared} address"
           f"{'es' if shared != 1 else ''})" if len(groups) > 1 else "")
    text = f"allow {word} {_what(p, ports)} {preposition} {cidr} in {group}{why}"
    if path == "return":
        text += " (the flow is untracked, so its replies are judged by the rules)"
    verb = "authorize-security-group-ingress" if direction is Direction.INGRESS else "authorize-security-group-egress"
    cli = f"aws ec2 {verb} --group-id {group} --ip-permissions '{ip_permissions(rule, description=True)}'"
    return text, cli, Change("authorize", group, direction, rule)


# ---- network ACLs ---------------------------------------------------------------------------------------


def _nacl_fix(reacher: "Reacher", q: "Question", path: str, step: Step,
              taken: dict[tuple[str, Direction], set[int]]) -> tuple[str, str, Change | None]:
    network = reacher.network
    p = step.packet
    assert p is not None and step.rule is not None
    acl = network.nacls[step.id]
    direction = Direction(step.direction)
    reserved = taken.setdefault((acl.id, direction), set())
    used = {e.number for e in acl.entries(direction)} | reserved
    denying = step.rule.number
    if denying is None:
        top = max(used, default=0)
        number = next((n for n in (top // 10 * 10 + 10, top + 1) if n <= 32766 and n not in used), None)
    else:
        number = next((n for n in range(denying - 1, 0, -1) if n not in used), None)
    cidr = _peer(q, step)
    ports = _ports(reacher, q, path, p)
    subnet = step.facts.get("subnet", "")
    word = "inbound" if direction is Direction.INGRESS else "outbound"
    preposition = "from" if direction is Direction.INGRESS else "to"
    what = _what(p, ports)
    before = f"entry {denying}" if denying is not None else "the * rule"
    if number is None:
        return (f"{acl.id} (subnet {subnet}) has no free rule number before {before}: renumber its entries, then "
                f"allow {word} {what} {preposition} {cidr}", "", None)
    reserved.add(number)
    entry = NaclEntry.make(number, "allow", p.proto, cidr, str(ports) if ports is not None else None, _icmp(p))
    reply = " (the reply of the connection: NACLs are stateless)" if path == "return" else ""
    text = f"add {acl.id} {word} entry {number}: allow {what} {preposition} {cidr} (before {before}){reply}"
    flag = "--ingress" if direction is Direction.INGRESS else "--egress"
    match = (f" --port-range From={ports.first},To={ports.last}" if ports is not None else
             f" --icmp-type-code Type={p.icmp_type},Code=-1" if p.proto in (ICMP, ICMPV6) else "")
    block = "--ipv6-cidr-block" if ":" in cidr else "--cidr-block"
    cli = (f"aws ec2 create-network-acl-entry --network-acl-id {acl.id} {flag} --rule-number {number} "
           f"--protocol {p.proto}{match} {block} {cidr} --rule-action allow")
    return text, cli, Change("nacl_entry", acl.id, direction, entry)


# ---- routes -------------------------------------------------------------------------------------------------


def _route_fix(reacher: "Reacher", q: "Question", step: Step) -> tuple[str, str, Change | None]:
    network = reacher.network
    facts, code = step.facts, step.code
    p = step.packet
    if code == codes.IGW_PRIVATE_IP_ASSOCIATION or facts.get("why") == "private-address":
        eni = facts.get("host") or (q.dst.eni if q.src.eni is None else q.src.eni) or ""
        return (f"give {eni} a public IP: allocate an Elastic IP and associate it with the ENI (its subnet must "
                "route 0.0.0.0/0 to an internet gateway too)",
                "aws ec2 allocate-address --domain vpc && aws ec2 associate-address --network-interface-id "
                f"{eni} --allocation-id ALLOCATION_ID", None)
    if code == codes.NO_ROUTE_TO_DESTINATION:
        why = facts.get("why")
        if why == "target-subnet-private":
            return _default_route(network, facts.get("subnet", ""), "0.0.0.0/0",
                                  f"{facts.get('host', '')}'s subnet has no route to an internet gateway")
        if why == "tgw":
            return (f"add a route to {facts.get('address')} in transit gateway route table "
                    f"{facts.get('tgw_route_table') or '(none associated)'}",
                    f"aws ec2 create-transit-gateway-route --transit-gateway-route-table-id "
                    f"{facts.get('tgw_route_table') or 'TGW_ROUTE_TABLE_ID'} --destination-cidr-block "
                    f"{facts.get('address')}/32 --transit-gateway-attachment-id ATTACHMENT_ID", None)
        if why in ("no-route", "private-subnet"):
            return _route_to(reacher, q, facts.get("subnet", ""), facts.get("address", ""), p)
    if code == "ROUTE_MISSES_DESTINATION":
        return _route_to(reacher, q, facts.get("subnet", ""), facts.get("address", ""), p)
    if code == codes.BLACKHOLE_ROUTE:
        table = network.route_table_of(facts.get("subnet", ""))
        rtb = table.id if table is not None else "RTB_ID"
        return (f"route {facts.get('destination')} in {rtb} points at {facts.get('target')}, which is gone: replace "
                "it with a live target (or delete it)",
                f"aws ec2 replace-route --route-table-id {rtb} --destination-cidr-block {facts.get('destination')} "
                "--gateway-id TARGET_ID", None)
    if code == codes.PEERING_NOT_ACTIVE:
        target = facts.get("target", "")
        if facts.get("state") == "pending-acceptance":
            return (f"accept peering connection {target}",
                    f"aws ec2 accept-vpc-peering-connection --vpc-peering-connection-id {target}", None)
        return (f"peering connection {target} is {facts.get('state')}: create a new one and route through it", "",
                None)
    if code == codes.TGW_NO_ATTACHMENT:
        return (f"attach VPC {facts.get('vpc')} to {facts.get('target')} with a subnet in every zone it uses",
                f"aws ec2 create-transit-gateway-vpc-attachment --transit-gateway-id {facts.get('target')} "
                f"--vpc-id {facts.get('vpc')} --subnet-ids SUBNET_ID", None)
    if code == codes.NAT_NO_MAPPING:
        return ("a NAT gateway accepts no connection from outside: give the instance a public IP in a public "
                "subnet, or put a load balancer in front of it", "", None)
    if code == codes.EIGW_INBOUND:
        return ("an egress-only internet gateway accepts no connection from outside: route the subnet's ::/0 to an "
                "internet gateway instead", "", None)
    return "", "", None


def _default_route(network: Network, subnet: str, destination: str, why: str) -> tuple[str, str, Change | None]:
    table = network.route_table_of(subnet) if subnet in network.subnets else None
    vpc = network.subnets[subnet].vpc if subnet in network.subnets else ""
    igw = next((g.id for g in network.gateways.values() if g.kind is TargetKind.INTERNET_GATEWAY and g.vpc == vpc),
               None)
    rtb = table.id if table is not None else "RTB_ID"
    if igw is None:
        return (f"{why}, and {vpc} has no internet gateway: create and attach one, then route {destination} to it "
                f"in {rtb}",
                f"aws ec2 create-internet-gateway && aws ec2 attach-internet-gateway --vpc-id {vpc} "
                f"--internet-gateway-id IGW_ID && aws ec2 create-route --route-table-id {rtb} "
                f"--destination-cidr-block {destination} --gateway-id IGW_ID", None)
    return (f"{why}: route {destination} to {igw} in {rtb}",
            f"aws ec2 create-route --route-table-id {rtb} --destination-cidr-block {destination} --gateway-id {igw}",
            None)


def _nat_for(network: Network, subnet: str, enis: list[str]) -> tuple[str, str] | None:
    """(the ENI of `subnet` without a public IPv4, a public NAT gateway of its VPC in another subnet), or None."""
    host = next((network.hosts[e] for e in enis if e in network.hosts and network.hosts[e].subnet == subnet), None)
    if host is None or host.public_map:
        return None
    vpc = network.subnets[subnet].vpc
    gateway = next((n.id for n in sorted(network.nat_gateways.values(), key=lambda n: n.id)
                    if n.connectivity == "public" and n.public_ip is not None and n.subnet != subnet
                    and n.subnet in network.subnets and network.subnets[n.subnet].vpc == vpc), None)
    return (host.name, gateway) if gateway is not None else None


def _route_to(reacher: "Reacher", q: "Question", subnet: str, address: str, p: Packet | None
              ) -> tuple[str, str, Change | None]:
    """A missing route from `subnet` to `address`: to the internet gateway for an outside address, else through a
    peering connection or transit gateway that joins the two VPCs."""
    network = reacher.network
    ip = ipaddress.ip_address(address)
    inside = [v for v in network.vpcs.values() if v.holds(ip)]
    table = network.route_table_of(subnet) if subnet in network.subnets else None
    rtb = table.id if table is not None else "RTB_ID"
    vpc = network.subnets[subnet].vpc if subnet in network.subnets else ""
    if not inside:
        world = any(s.internet and str(s.address) == address for s in (q.src, q.dst))
        destination = ("::/0" if ip.version == 6 else "0.0.0.0/0") if world else f"{ip}/{ip.max_prefixlen}"
        why = f"subnet {subnet} has no route to {address}"
        nat = _nat_for(network, subnet, [e.eni for e in (q.src, q.dst) if e.eni]) if ip.version == 4 else None
        if nat is not None:  # §2: without a public IPv4 the IGW route does not work; a public NAT gateway does
            host, gateway = nat
            return (f"{why}, and {host} has no public IPv4 to leave through the internet gateway with: route "
                    f"{destination} to NAT gateway {gateway} in {rtb}",
                    f"aws ec2 create-route --route-table-id {rtb} --destination-cidr-block {destination} "
                    f"--nat-gateway-id {gateway}", None)
        return _default_route(network, subnet, destination, why)
    other = inside[0].id
    destination = str(inside[0].cidr)
    for peering in network.peerings.values():
        if {peering.requester, peering.accepter} == {vpc, other} and peering.state == "active":
            return (f"route {destination} to {peering.id} in {rtb} (subnet {subnet})",
                    f"aws ec2 create-route --route-table-id {rtb} --destination-cidr-block {destination} "
                    f"--vpc-peering-connection-id {peering.id}", None)
    for tgw in network.transit_gateways.values():
        attached = {a.resource for a in tgw.attachments if a.type == "vpc"}
        if {vpc, other} <= attached:
            return (f"route {destination} to {tgw.id} in {rtb} (subnet {subnet})",
                    f"aws ec2 create-route --route-table-id {rtb} --destination-cidr-block {destination} "
                    f"--transit-gateway-id {tgw.id}", None)
    return (f"nothing joins {vpc} and {other}: peer them (or attach both to a transit gateway), then route "
            f"{destination} in {rtb}",
            f"aws ec2 create-vpc-peering-connection --vpc-id {vpc} --peer-vpc-id {other}", None)
