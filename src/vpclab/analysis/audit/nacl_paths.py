"""NACLs on real paths: a service's requests let in but its replies dropped (no ephemeral return range), and Path
MTU Discovery broken (ICMP type 3 code 4 refused). No scanner has these: both need the path, both directions.

Return traffic is decided by reach (the engine's `decide` on the request and on the reply to every segment of the
client's ephemeral range), for each client the security groups admit: the internet for an ENI with a public IP, and
the ENIs of other subnets a rule's peer covers — one question per (client NACL, service NACL, protocol, port), first
filtered on the compiled NACLs, then asked of reach.
"""

from __future__ import annotations

from collections.abc import Iterator

from vpclab.analysis.audit.commands import free_number, nacl_allow
from vpclab.analysis.audit.context import EGRESS, INGRESS, Context
from vpclab.analysis.audit.evidence import packet_data, path_data, rule_data
from vpclab.analysis.audit.finding import Check, Finding, Fix
from vpclab.analysis.reach import ReachAnswer
from vpclab.engine.nacl import NaclPolicy
from vpclab.engine.packet import Packet
from vpclab.model.network import Host
from vpclab.model.protocols import ALL, ICMP, ICMPV6, TCP, UDP, protocol_name
from vpclab.model.rules import Direction

def run_returns(check: Check, ctx: Context) -> Iterator[Finding]:
    asked: set[tuple[object, ...]] = set()
    seen_rules: set[tuple[object, ...]] = set()
    reported: set[tuple[object, ...]] = set()
    by_address = {h.ip: h for h in ctx.hosts}
    clients_of: dict[object, list[tuple[Host, str]]] = {}
    for hosts in ctx.unions.values():
        for server in _one_per_subnet(hosts):
            server_nacl = _nacl_of(ctx, server)
            policy = ctx.engine.sg_policy(server.name, INGRESS)
            for ref, blocks in zip(policy.rules, policy.peers):
                rule = ref.rule
                if rule.protocol not in (TCP, UDP):  # type: ignore[union-attr]
                    continue
                proto, port = rule.protocol, rule.ports.first  # type: ignore[union-attr]
                rule_key = (server_nacl, server.public_ip is not None, rule.peer, proto, port)  # type: ignore[union-attr]
                if rule_key in seen_rules:
                    continue
                seen_rules.add(rule_key)
                key_blocks = (rule.peer, server.subnet, server.public_ip is not None)  # type: ignore[union-attr]
                if key_blocks not in clients_of:
                    clients_of[key_blocks] = [(c, _nacl_of(ctx, c)) for c in _clients(ctx, server, blocks, by_address)]
                for client, client_nacl in clients_of[key_blocks]:
                    if not client.internet and not ctx.may_route(client, server):
                        continue  # VPCs with no peering or transit gateway between them
                    key = (client_nacl, server_nacl, proto, port)
                    if key in asked:
                        continue
                    asked.add(key)
                    if not _nacls_drop_replies(ctx, client, server, proto, port):
                        continue  # the NACLs pass the request and every reply: nothing for reach to find here
                    if not client.internet and not _direct(ctx, client, server):
                        continue  # no direct route (another VPC without peering, through a NAT gateway)
                    answer = (ctx.from_internet(server, proto, port) if client.internet
                              else ctx.reach(client, server, proto, port))
                    finding = _return_finding(check, answer, server, client)
                    if finding is not None and (finding.resource, finding.evidence["reply_entry"], key) not in reported:
                        reported.add((finding.resource, finding.evidence["reply_entry"], key))
                        yield finding


def _nacl_of(ctx: Context, host: Host) -> str:
    """The NACL a host's subnet applies (`internet` for the stand-in): one question per pair of NACLs, protocol and
    port, asked for the first pair of ENIs met (docs/assumptions.md A4)."""
    if host.internet or host.subnet is None:
        return "internet"
    return ctx.network.subnets[host.subnet].nacl


def _direct(ctx: Context, client: Host, server: Host) -> bool:
    """True when the engine's router delivers from the client to the server without a NAT gateway."""
    route = ctx.engine.router.route(int(client.ip), int(server.ip), client.ip.version == 6)
    return route.drop_code is None and route.nat is None and route.receiver == server.name


def _allowed(policy: NaclPolicy, proto: int, peer: int, port: int) -> bool:
    position = policy.decide(4, proto, peer, port)
    return position >= 0 and policy.allow[position]


def _nacls_drop_replies(ctx: Context, client: Host, server: Host, proto: int, port: int) -> bool:
    """A cheap filter on the engine's compiled NACLs before asking reach: True when the NACLs on the way pass the
    request and refuse the reply to some segment of the client's ephemeral range (the only case this check reports)."""
    if server.subnet is None or server.subnet == client.subnet:
        return False
    c, s = int(client.ip), int(server.public_ip if client.internet and server.public_ip else server.ip)
    s_in, s_out = ctx.engine.nacl_policy(server.subnet, INGRESS), ctx.engine.nacl_policy(server.subnet, EGRESS)
    gates_in = [(s_in, c)]  # (policy, peer) the request meets
    gates_back = [(s_out, c)]
    if not client.internet and client.subnet is not None:
        gates_in.append((ctx.engine.nacl_policy(client.subnet, EGRESS), int(server.ip)))
        gates_back.append((ctx.engine.nacl_policy(client.subnet, INGRESS), int(server.ip)))
    if not all(_allowed(p, proto, peer, port) for p, peer in gates_in):
        return False
    ports = client.ephemeral_ports
    cuts = {ports.first}
    for p, _ in gates_back:
        for e in p.entries:
            if e.protocol in (proto, ALL):
                cuts.update(b for b in (e.ports.first, e.ports.last + 1) if ports.first < b <= ports.last)
    return any(not _allowed(p, proto, peer, cut) for cut in cuts for p, peer in gates_back)


def _one_per_subnet(hosts: list[Host]) -> list[Host]:
    seen: dict[str | None, Host] = {}
    for h in hosts:
        seen.setdefault(h.subnet, h)
    return list(seen.values())


def _clients(ctx: Context, server: Host, blocks: tuple, by_address: dict) -> list[Host]:
    """Who a rule's peer admits, one per subnet other than the server's: the internet stand-in when the peer covers
    it and the server has a public IP; ENIs whose address a peer block holds."""
    found: dict[str, Host] = {}
    standin = ctx.internet_host
    for block in blocks:
        if block.version != 4:
            continue
        if block.prefixlen == 32:
            host = by_address.get(block.network_address)
            if host is not None and host.subnet != server.subnet and host.subnet is not None:
                found.setdefault(host.subnet, host)
            continue
        if server.public_ip is not None and ctx.standin in block:
            found.setdefault("internet", standin)
        for name in ctx.subnets_overlapping(int(block.network_address), int(block.broadcast_address)):
            if name == server.subnet or name in found:
                continue
            host = next((h for h in ctx.subnet_hosts.get(name, []) if h.ip in block), None)
            if host is not None:
                found[name] = host
    return list(found.values())


def _return_finding(check: Check, answer: ReachAnswer, server: Host, client: Host) -> Finding | None:
    """A finding when the request gets through and a NACL drops replies to some of the client's ports."""
    if any(h.blocking for h in answer.forward):
        return None
    blockers = [b for b in answer.blockers if b.hop.path == "return" and b.hop.step.component == "nacl"]
    if not blockers:
        return None
    step = blockers[0].hop.step
    # reach lists the dropped source-port ranges when only part of the range fails; all of it otherwise
    dropped = list(answer.blocked_ports) or [(client.ephemeral_ports.first, client.ephemeral_ports.last)]
    ports = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in dropped)
    who = "internet clients" if client.internet else f"{client.name} ({client.subnet})"
    what = f"{protocol_name(answer.proto)}/{answer.port}"
    message = (f"{step.id} lets requests from {who} to {server.name} on {what} through but drops the replies "
               f"({step.direction}, source ports {ports} of the client's ephemeral range)")
    fix = blockers[0].fix
    evidence = {"service": server.name, "client": client.name if not client.internet else "internet",
                "path": path_data(answer), "reply_entry": rule_data(step.rule)["rule"] if step.rule else "",
                "dropped_client_ports": [list(r) for r in dropped]}
    return check.finding(step.id, message, evidence, step.rule.origin if step.rule else None,
                         Fix(fix.text, fix.cli) if fix is not None else
                         Fix(f"allow the replies: {step.id} {step.direction} {protocol_name(answer.proto)} to the "
                             f"client's ephemeral ports ({ports})"))


# ---- Path MTU Discovery ------------------------------------------------------------------------------------


#: the ICMP message Path MTU Discovery needs per family: (protocol, type, code, name, CLI protocol, CLI type/code)
PMTUD = {4: (ICMP, 3, 4, "ICMP type 3 code 4 (fragmentation needed)", "1", "Type=3,Code=4"),
         6: (ICMPV6, 2, 0, "ICMPv6 type 2 (packet too big)", "58", "Type=2,Code=0")}


def run_pmtud(check: Check, ctx: Context) -> Iterator[Finding]:
    """Subnets that route to the internet (or hold a NAT gateway) whose NACL refuses ICMP 3/4 (IPv6: ICMPv6 type 2)
    from outside while it lets TCP with the internet through: large packets from a smaller-MTU path then vanish
    (aws-semantics.md §3.5). IPv6 only for subnets with an IPv6 CIDR and a ::/0 route to an internet gateway."""
    nat_subnets = {n.subnet for n in ctx.network.nat_gateways.values()}
    done: set[tuple[str, int]] = set()
    for name, subnet in ctx.network.subnets.items():
        for version in (4, 6):
            if version == 4 and not (ctx.network.routes_to_internet(name) or name in nat_subnets):
                continue
            if version == 6 and (subnet.ipv6_cidr is None or not ctx.network.routes_to_internet(name, 6)):
                continue
            policy = ctx.engine.nacl_policy(name, INGRESS)
            if (policy.id, version) in done:
                continue
            proto, kind, code, what, cli_proto, cli_icmp = PMTUD[version]
            outside = ctx.standin if version == 4 else ctx.standin6
            position = policy.decide(version, proto, int(outside), kind << 8 | code)
            if position >= 0 and policy.allow[position]:
                continue
            if not _talks_tcp(ctx, name, version):
                continue
            done.add((policy.id, version))
            ref = policy.ref(position)
            inside = (subnet.cidr if version == 4 else subnet.ipv6_cidr).network_address + 4  # type: ignore[union-attr]
            packet = Packet.icmp(outside, inside, kind, code)
            taken = {e.number for e in policy.entries}
            number = free_number(taken, ref.number if ref.number is not None else 32767) or 1
            subnets = [s for s, v in ctx.network.subnets.items() if v.nacl == policy.id]
            world = "0.0.0.0/0" if version == 4 else "::/0"
            yield check.finding(policy.id, f"{policy.id} refuses {what} from the internet "
                                f"({'rule ' + str(ref.number) if ref.number is not None else 'the * deny'}), while TCP "
                                f"with the internet passes: Path MTU Discovery breaks for {', '.join(subnets)}",
                                {"nacl": policy.id, "subnets": subnets, "family": f"ipv{version}",
                                 "packet": packet_data(packet), "deciding_entry": rule_data(ref)},
                                ref.origin or policy.star.origin,
                                Fix(f"add an ingress entry numbered {number} allowing {what} from {world}",
                                    nacl_allow(policy.id, Direction.INGRESS, number, cli_proto, world, icmp=cli_icmp)))


def _talks_tcp(ctx: Context, subnet: str, version: int = 4) -> bool:
    """True when the subnet's NACL lets some TCP between the internet and the subnet through in either sense:
    a request in (to a service port) and its reply out, or a request out (HTTPS) and its reply in."""
    inbound = ctx.engine.nacl_policy(subnet, INGRESS)
    outbound = ctx.engine.nacl_policy(subnet, EGRESS)
    outside = int(ctx.standin if version == 4 else ctx.standin6)

    def allowed(policy: NaclPolicy, port: int) -> bool:
        position = policy.decide(version, TCP, outside, port)
        return position >= 0 and policy.allow[position]
    ephemeral = (32768, 49152, 60999, 1024)
    return (allowed(outbound, 443) and any(allowed(inbound, p) for p in ephemeral)) or \
        (any(allowed(inbound, p) for p in (22, 80, 443)) and any(allowed(outbound, p) for p in ephemeral))
