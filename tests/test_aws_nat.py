"""NAT gateways (aws-routing-terraform.md §3; aws-semantics.md §2.3 for tracking)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from vpclab.engine import Engine, Packet, codes
from vpclab.model import Host, NaclEntry, Network, NetworkAcl, SecurityGroup, SgRule, Subnet, Vpc
from vpclab.model.routing import Gateway, NatGateway, Route, RouteTable, TargetKind
from vpclab.report.explain import verdict_reason

WORLD = "0.0.0.0/0"
EIP, NAT_IP, APP, SERVER = "54.1.2.3", "10.0.0.5", "10.0.1.10", "203.0.113.10"


def nat_network(connectivity: str = "public", nat_acl: NetworkAcl | None = None, open_world: bool = False) -> Network:
    """app (private subnet, 0.0.0.0/0 → nat-1) and nat-1 in a public subnet (0.0.0.0/0 → igw-1); a server outside."""
    vpc = Vpc(ip_network("10.0.0.0/16"), id="vpc-1")
    subnets = [Subnet("public", ip_network("10.0.0.0/24"), vpc="vpc-1", nacl=nat_acl.id if nat_acl else "default"),
               Subnet("private", ip_network("10.0.1.0/24"), vpc="vpc-1")]
    rules = (SgRule.make("-1", cidr=WORLD),) if open_world else (SgRule.make("tcp", 22, cidr="10.0.0.0/16"),)
    group = SecurityGroup("sg-app", rules, (SgRule.make("-1", cidr=WORLD),))
    hosts = [Host("app", ip_address(APP), "private", ("sg-app",)),
             Host("server", ip_address(SERVER), internet=True)]
    local = Route(ip_network("10.0.0.0/16"), "local")
    tables = [RouteTable("rtb-public", "vpc-1", (local, Route(ip_network(WORLD), "igw-1")), subnets=("public",)),
              RouteTable("rtb-private", "vpc-1", (local, Route(ip_network(WORLD), "nat-1")), main=True)]
    net = Network.build(vpc, subnets, hosts, [group], [nat_acl] if nat_acl else [], route_tables=tables,
                        gateways=[Gateway("igw-1", TargetKind.INTERNET_GATEWAY, "vpc-1")])
    nat = NatGateway("nat-1", "public", ip_address(NAT_IP), ip_address(EIP) if connectivity == "public" else None,
                     connectivity)
    return net._changed(nat_gateways=net.nat_gateways.replace("nat-1", nat))


def test_a_private_host_reaches_the_internet_through_the_nat_gateway_and_the_reply_comes_back():
    """§3: the source becomes the NAT gateway's Elastic IP; replies are translated back to the instance."""
    engine = Engine(nat_network())
    syn = engine.evaluate(Packet.tcp(APP, 40000, SERVER, 443), 0.0)
    assert syn.allowed and syn.receiver == "server" and syn.delivered.src == int(ip_address(EIP))
    assert [s.code for s in syn.trace if s.component == "route"] == [codes.NAT_TRANSLATION, codes.ROUTE_IGW]
    reply = engine.evaluate(Packet.tcp(SERVER, 443, EIP, syn.delivered.sport, "SA"), 0.1)
    assert reply.allowed and reply.receiver == "app"
    assert (reply.delivered.dst, reply.delivered.dport) == (int(ip_address(APP)), 40000)
    assert reply.code == codes.CONNTRACK_MATCH  # the instance's group admits it by state


def test_the_internet_cannot_start_a_connection_through_a_nat_gateway():
    """§3: unsolicited inbound traffic is not forwarded."""
    verdict = Engine(nat_network()).evaluate(Packet.tcp(SERVER, 50000, EIP, 22), 0.0)
    assert not verdict.allowed and verdict.code == codes.NAT_NO_MAPPING
    assert "only replies to flows started inside" in verdict_reason(verdict)


def test_the_nat_subnets_nacl_applies_both_ways():
    """§3: no security group on a NAT gateway, but its subnet's NACL applies, and replies come back to its ports
    1024-65535."""
    acl = NetworkAcl("acl-nat",
                     (NaclEntry.make(100, "allow", "tcp", "10.0.0.0/16", "443"),),           # no ephemeral ports in
                     (NaclEntry.make(100, "allow", "tcp", WORLD, "443"),
                      NaclEntry.make(110, "allow", "tcp", "10.0.0.0/16", "1024-65535")))
    engine = Engine(nat_network(nat_acl=acl))
    syn = engine.evaluate(Packet.tcp(APP, 40000, SERVER, 443), 0.0)
    assert syn.allowed
    reply = engine.evaluate(Packet.tcp(SERVER, 443, EIP, syn.delivered.sport, "SA"), 0.1)
    assert not reply.allowed and reply.code == codes.SUBNET_ACL_RESTRICTION and reply.where == "subnet public ingress"


def test_flows_through_a_nat_gateway_are_always_tracked():
    """aws-semantics.md §2.3: connections through a NAT gateway are automatically tracked, even when the group's
    0.0.0.0/0 rules both ways would make them untracked."""
    engine = Engine(nat_network(open_world=True))
    syn = engine.evaluate(Packet.tcp(APP, 40000, SERVER, 443), 0.0)
    assert syn.allowed and syn.trace[0].code == codes.SG_RULE_MATCH and engine.conntrack("app").count == 1


def test_a_nat_mapping_is_forgotten_after_350_seconds_idle():
    """§3: idle timeout 350 s."""
    engine = Engine(nat_network())
    syn = engine.evaluate(Packet.tcp(APP, 40000, SERVER, 443), 0.0)
    late = engine.evaluate(Packet.tcp(SERVER, 443, EIP, syn.delivered.sport, "SA"), 351.0)
    assert not late.allowed and late.code == codes.NAT_NO_MAPPING


def test_nat_gateways_carry_tcp_udp_and_icmp_only():
    """§3: TCP, UDP, ICMP only."""
    verdict = Engine(nat_network()).evaluate(Packet.other(APP, SERVER, 47), 0.0)
    assert not verdict.allowed and verdict.code == codes.NAT_PROTOCOL
    ping = Engine(nat_network()).evaluate(Packet.icmp(APP, SERVER, 8, ident=7), 0.0)
    assert ping.allowed and ping.delivered.src == int(ip_address(EIP))


def test_a_private_nat_gateway_routed_to_an_internet_gateway_drops():
    """§3: an IGW drops traffic routed to it from a private NAT gateway."""
    verdict = Engine(nat_network(connectivity="private")).evaluate(Packet.tcp(APP, 40000, SERVER, 443), 0.0)
    assert not verdict.allowed and verdict.code == codes.NAT_PRIVATE_TO_IGW


def test_decide_lists_the_nat_subnets_nacl_gates():
    decision = Engine(nat_network()).decide(Packet.tcp(APP, 40000, SERVER, 443))
    assert [(g.component, g.where, str(g.direction)) for g in decision.gates] == [
        ("sg", "app", "egress"), ("nacl", "private", "egress"), ("nacl", "public", "ingress"),
        ("nacl", "public", "egress")]
    assert decision.allowed


def test_a_nat_gateway_reaches_a_public_ip_of_its_own_vpc_out_through_the_igw_and_back():
    """aws-routing-terraform.md §2-§3: app (private subnet, 0.0.0.0/0 → the NAT gateway) connects to the public IP of
    a host in the public subnet. The NAT gateway sends it to the internet gateway, which translates the destination
    1:1 back to the host's private address: source NAT's Elastic IP, delivered to the host (before, the packet
    "reached no one"). The host's reply goes to the Elastic IP through the IGW and back to app. The kernel backend
    does the same with real packets (tests/kernel/test_snapshot_labs_kernel.py)."""
    net = nat_network(open_world=True)
    web = Host("web", ip_address("10.0.0.20"), "public", ("sg-app",), public_ip=ip_address("54.9.9.9"))
    net = net._changed(hosts=net.hosts.replace("web", web))
    engine = Engine(net)
    syn = engine.evaluate(Packet.tcp(APP, 40000, "54.9.9.9", 22), 0.0)
    assert syn.allowed and syn.receiver == "web", verdict_reason(syn)
    assert (syn.delivered.src, syn.delivered.dst) == (int(ip_address(EIP)), int(ip_address("10.0.0.20")))
    reply = engine.evaluate(Packet.tcp("10.0.0.20", 22, EIP, syn.delivered.sport, "SA"), 0.1)
    assert reply.allowed and reply.receiver == "app", verdict_reason(reply)
    assert (reply.delivered.src, reply.delivered.dst, reply.delivered.dport) == (
        int(ip_address("54.9.9.9")), int(ip_address(APP)), 40000)
