"""Reach on the real snapshots of ../shared/data/aws-snapshots/: answers derived by hand from the JSON files and
aws-semantics.md / aws-routing-terraform.md, each with its reasoning; then reach against the simulator on every
snapshot, pair by pair.

The shared snapshots are permissive (default NACLs, SSH from anywhere), so the NACL cases and the case where only
the return path decides change one real snapshot the way its owner would — a custom NACL without ephemeral return
ports, the classic mistake (modernisation-platform#917, materialize#37016 in peers.md §3) — and say so.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from shareddata import listing, shared
from vpclab.analysis.endpoints import Endpoint, internet_address, resolve
from vpclab.analysis.reach import Reacher, ReachAnswer, outside_addresses, reach_all, with_outside
from vpclab.engine import codes
from vpclab.load.snapshot import load_snapshot
from vpclab.model import Direction, NaclEntry, Network, NetworkAcl
from vpclab.model.frozen import FrozenMap
from vpclab.model.protocols import ICMP, TCP, UDP
from vpclab.sim.simulator import Simulator

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS


def network_of(name: str) -> Network:
    return load_snapshot(shared("aws-snapshots", name)).network


def ask(network: Network, src: str, dst: str, proto: int = TCP, port: int | None = 22) -> ReachAnswer:
    answers = reach_all(network, src, dst, proto, port)
    assert len(answers) == 1
    return answers[0]


def blockers(answer: ReachAnswer) -> set[tuple[str, str, str]]:
    """(path, code, component id) of every blocker."""
    return {(b.hop.path, b.code, b.hop.step.id) for b in answer.blockers}


def apply_fixes(network: Network, answer: ReachAnswer) -> Network:
    for b in answer.blockers:
        assert b.fix is not None and b.fix.change is not None
        network = b.fix.change.apply(network)
    return network


# ---- test-subnet: two instances in one private subnet, no internet gateway ----------------------------------


def test_same_subnet_ssh_is_reachable_without_nacls() -> None:
    """10.10.1.228 (sg-03dbad…: egress all) → 10.10.1.44 (sg-02566e…: tcp 22 from 0.0.0.0/0), same subnet
    subnet-06c830…: no route table, no NACL within a subnet (aws-semantics.md §4.2), the reply of a tracked flow."""
    answer = ask(network_of("test-subnet"), "10.10.1.228", "10.10.1.44")
    assert answer.reachable and not answer.blockers
    assert [h.step.code for h in answer.forward if h.step.component == "nacl"] == [codes.NACL_NOT_EVALUATED]
    assert answer.forward[-1].step.code == codes.SG_RULE_MATCH_UNTRACKED  # 22 from 0.0.0.0/0 + egress all: §2.2


def test_blocked_by_security_group_names_the_group_and_its_fix() -> None:
    """tcp/80: sg-02566e413c0030c70 (launch-wizard-1) allows only tcp 22 inbound → ENI_SG_RULES_MISMATCH at
    eni-029bf1…'s ingress, from SecurityGroups.json; the fix is one ingress rule tcp 80 from the sender's /32."""
    answer = ask(network_of("test-subnet"), "10.10.1.228", "10.10.1.44", TCP, 80)
    assert not answer.reachable
    assert blockers(answer) == {("forward", codes.ENI_SG_RULES_MISMATCH, "sg-02566e413c0030c70")}
    (b,) = answer.blockers
    assert b.ra and b.hop.step.source.startswith("aws_configs/SecurityGroups.json: $.SecurityGroups[")
    assert b.fix is not None
    assert b.fix.cli == ("aws ec2 authorize-security-group-ingress --group-id sg-02566e413c0030c70 --ip-permissions "
                         "'IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{CidrIp=10.10.1.228/32,"
                         "Description=\"vpclab reach\"}]'")
    assert ask(apply_fixes(network_of("test-subnet"), answer), "10.10.1.228", "10.10.1.44", TCP, 80).reachable


def test_no_internet_gateway_means_no_route_out() -> None:
    """The only route table (main, rtb-07243b…) holds 10.10.0.0/16 → local: nothing to 203.0.113.1; the VPC has
    no internet gateway, so the fix creates one first (aws-routing-terraform.md §2)."""
    answer = ask(network_of("test-subnet"), "10.10.1.44", "internet", TCP, 443)
    assert blockers(answer) == {("forward", codes.NO_ROUTE_TO_DESTINATION, "vpc-router")}
    fix = answer.blockers[0].fix
    assert fix is not None and "create-internet-gateway" in fix.cli and "0.0.0.0/0" in fix.cli


# ---- test-public-subnet and test-public-private-subnet: the internet both ways ------------------------------


def test_internet_in_to_a_public_instance() -> None:
    """18.216.80.133 is eni-00064850…'s public IP; subnet-0bb82a… routes 0.0.0.0/0 to igw-0a409e…; default NACL;
    sg-09ccba… allows tcp 22 from 0.0.0.0/0. The IGW translates the destination to 10.0.0.91 (§2)."""
    network = network_of("test-public-subnet")
    answer = ask(network, "internet", "18.216.80.133")
    assert answer.reachable
    assert answer.forward[0].step.code == codes.ROUTE_IGW
    assert answer.ret[-1].step.code == codes.ROUTE_IGW  # the reply leaves through the IGW, translated back
    assert not ask(network, "internet", "18.216.80.133", TCP, 3389).reachable  # only 22 is open


def test_internet_out_from_a_public_instance() -> None:
    answer = ask(network_of("test-public-subnet"), "eni-00064850627e198ee", "internet", TCP, 443)
    assert answer.reachable
    assert answer.ret[-1].step.code == codes.CONNTRACK_MATCH  # the reply is admitted by the tracked flow


def test_internet_in_to_a_private_instance_needs_a_public_ip() -> None:
    """eni-07c150… (10.0.1.204) has no public IP: nothing on the internet can address it (§2) → the fix is an
    Elastic IP; the public instance reaches it on 22 through the local route."""
    network = network_of("test-public-private-subnet")
    answer = ask(network, "internet", "10.0.1.204")
    assert blockers(answer) == {("forward", codes.NO_ROUTE_TO_DESTINATION, "vpc-router")}
    assert answer.blockers[0].fix is not None and "associate-address" in answer.blockers[0].fix.cli
    assert ask(network, "13.58.55.60", "10.0.1.204").reachable


def test_route_to_a_virtual_private_gateway_leaves_the_snapshot() -> None:
    """The private subnet uses the main table: 0.0.0.0/0 → vgw-070087… (a VPN): reachable as far as the snapshot
    shows, said so, with no return path to judge."""
    answer = ask(network_of("test-public-private-subnet"), "10.0.1.204", "internet", TCP, 443)
    assert answer.reachable and not answer.ret
    assert any("vgw-070087240d6fa2989" in note for note in answer.notes)


# ---- test-nat-gateway: out through a NAT gateway -------------------------------------------------------------


def test_private_instance_reaches_the_internet_through_the_nat_gateway() -> None:
    """test1 (10.1.1.98, subnet 1) routes 0.0.0.0/0 to nat-07ab48…, which sits in the public subnet (rtb-0ddf…:
    0.0.0.0/0 → igw). Forward: sg-0253af… egress all, subnet 1's default NACL out, the NAT subnet's acl-0792ad… in
    (rule 200 allow all; rule 100 is ICMP only) and out (100), source NAT to 3.135.127.225. Return: acl-0792ad… in
    again, translated back, acl-0792ad… out, subnet 1 in, test1's tracked flow (NAT flows are always tracked)."""
    answer = ask(network_of("test-nat-gateway"), "test1", "internet", TCP, 443)
    assert answer.reachable
    ret = [(h.step.component, h.step.code) for h in answer.ret]
    assert ("route", codes.NAT_TRANSLATION) in ret and ret[-1] == ("conntrack", codes.CONNTRACK_MATCH)
    assert [h.step.id for h in answer.ret if h.step.component == "nacl"] == [
        "acl-0792adae678b88f85", "acl-0792adae678b88f85", "acl-0380e24eb934b075e"]


def test_a_nat_gateway_carries_tcp_udp_and_icmp_only() -> None:
    """aws-routing-terraform.md §3: GRE (47) through the NAT gateway is dropped there."""
    answer = ask(network_of("test-nat-gateway"), "test1", "internet", 47, None)
    assert blockers(answer) == {("forward", codes.NAT_PROTOCOL, "nat-07ab4846da51f4612")}


def test_the_return_path_decides_at_the_nat_gateways_subnet() -> None:
    """The NAT subnet's NACL hardened with `150 deny tcp 1024-65535 from 0.0.0.0/0` inbound: the request to :443
    still passes (443 is below 1024, rule 200 allows it), but the server's reply to the gateway's port (32768) is
    denied at entry 150 — only the return path blocks, at the NAT. Fix: allow entry 149 (just before the deny) for
    the initiator's ephemeral range (32768-60999), from 0.0.0.0/0 since the question was about any outside address.
    (The gateway keeps the flow's source port when it is free, aws-routing-terraform.md §3.)"""
    network = network_of("test-nat-gateway")
    network = network.add_nacl_entry("acl-0792adae678b88f85", INGRESS,
                                     NaclEntry.make(150, "deny", "tcp", "0.0.0.0/0", "1024-65535"))
    answer = ask(network, "test1", "internet", TCP, 443)
    assert not answer.reachable
    assert blockers(answer) == {("return", codes.SUBNET_ACL_RESTRICTION, "acl-0792adae678b88f85")}
    fix = answer.blockers[0].fix
    assert fix is not None and "--ingress --rule-number 149 --protocol 6 --port-range From=32768,To=60999 " \
        "--cidr-block 0.0.0.0/0 --rule-action allow" in fix.cli
    assert ask(apply_fixes(network, answer), "test1", "internet", TCP, 443).reachable


def test_icmp_echo_between_instances_and_not_from_the_internet_to_a_private_one() -> None:
    """sg-0253af… allows icmp 8 (echo request; the file writes FromPort 8, ToPort 0) from anywhere."""
    network = network_of("test-nat-gateway")
    assert ask(network, "Jump Host", "test1", ICMP, None).reachable
    assert not ask(network, "internet", "test1", ICMP, None).reachable


# ---- NACLs: the classic missing ephemeral range, on test-public-private-subnet -------------------------------


def _private_subnet_with_ssh_only_nacl() -> Network:
    """The private subnet subnet-0f2631… moved to a new NACL that allows tcp 22 in and tcp 22 out — and nothing
    for the replies, which leave towards the client's ephemeral port (aws-semantics.md §3: NACLs are stateless)."""
    network = network_of("test-public-private-subnet")
    acl = NetworkAcl("acl-ssh-only", ingress=(NaclEntry.make(100, "allow", "tcp", "0.0.0.0/0", "22"),),
                     egress=(NaclEntry.make(100, "allow", "tcp", "0.0.0.0/0", "22"),))
    network = replace(network, nacls=FrozenMap({**network.nacls, acl.id: acl}))
    return network.associate_nacl("subnet-0f263105946ad1a1d", acl.id)


def test_return_path_decides_when_the_nacl_lacks_the_ephemeral_range() -> None:
    """Forward 10.0.0.47 → 10.0.1.204:22 passes every gate; the SYN-ACK from :22 to :32768 meets acl-ssh-only
    egress: entry 100 is for port 22, so the `*` rule denies it. Only the return blocks; the fix is egress entry
    110 for 32768-60999 (the initiator's Linux range) to 10.0.0.47/32."""
    network = _private_subnet_with_ssh_only_nacl()
    answer = ask(network, "13.58.55.60", "10.0.1.204")
    assert not answer.reachable
    assert blockers(answer) == {("return", codes.SUBNET_ACL_RESTRICTION, "acl-ssh-only")}
    assert all(not h.blocking for h in answer.forward)
    fix = answer.blockers[0].fix
    assert fix is not None and fix.cli == (
        "aws ec2 create-network-acl-entry --network-acl-id acl-ssh-only --egress --rule-number 110 --protocol 6 "
        "--port-range From=32768,To=60999 --cidr-block 10.0.0.47/32 --rule-action allow")
    assert ask(apply_fixes(network, answer), "13.58.55.60", "10.0.1.204").reachable


def test_every_blocker_is_listed_not_only_the_first() -> None:
    """tcp/80 to the same host: sg-063f2b… has no rule for 80, acl-ssh-only denies 80 inbound (`*`), and the reply
    would be denied outbound (`*`): three blockers at once, each with its source and fix."""
    network = _private_subnet_with_ssh_only_nacl()
    answer = ask(network, "13.58.55.60", "10.0.1.204", TCP, 80)
    assert blockers(answer) == {("forward", codes.ENI_SG_RULES_MISMATCH, "sg-063f2bb51713c3236"),
                                ("forward", codes.SUBNET_ACL_RESTRICTION, "acl-ssh-only"),
                                ("return", codes.SUBNET_ACL_RESTRICTION, "acl-ssh-only")}
    assert all(b.fix is not None and b.fix.cli for b in answer.blockers)
    assert ask(apply_fixes(network, answer), "13.58.55.60", "10.0.1.204", TCP, 80).reachable


def test_a_partial_ephemeral_range_blocks_some_source_ports() -> None:
    """Egress allowed only for 32768-40000: a client whose port is above 40000 gets no reply, so the path is not
    reachable for the whole Linux range 32768-60999, and the answer says which ports fail."""
    network = _private_subnet_with_ssh_only_nacl().add_nacl_entry(
        "acl-ssh-only", EGRESS, NaclEntry.make(110, "allow", "tcp", "0.0.0.0/0", "32768-40000"))
    answer = ask(network, "13.58.55.60", "10.0.1.204")
    assert not answer.reachable
    assert answer.blocked_ports == ((40001, 60999),)
    assert answer.sport == 40001 and any("40001-60999" in n for n in answer.notes)


# ---- peering, transit gateways, hybrid cloud --------------------------------------------------------------


def test_peering_both_ways_but_not_transitively() -> None:
    """test-vpc-peering: VPC A (10.10.0.0/16) peers with B and C, which overlap (both 192.168.0.0/16). A's table
    routes 192.168.1.0/24 → pcx-0b89… and 192.168.2.0/24 → pcx-0d5b…; B and C route 10.10.0.0/16 back. B → C's
    192.168.2.229 is inside B's own local 192.168.0.0/16 route, where no ENI holds it: no transitive peering (§4)."""
    network = network_of("test-vpc-peering")
    assert ask(network, "10.10.10.157", "192.168.1.106").reachable
    assert ask(network, "10.10.10.157", "192.168.2.229").reachable
    assert blockers(ask(network, "192.168.1.106", "192.168.2.229")) == {
        ("forward", codes.NO_HOST_AT_DESTINATION, "vpc-router")}


def test_blackhole_route_to_a_deleted_internet_gateway() -> None:
    """B's main table sends 0.0.0.0/0 to igw-0a2c9a…, in state blackhole (the gateway is gone)."""
    answer = ask(network_of("test-vpc-peering"), "192.168.1.106", "internet", TCP, 443)
    assert blockers(answer) == {("forward", codes.BLACKHOLE_ROUTE, "vpc-router")}
    assert answer.blockers[0].fix is not None and "replace-route" in answer.blockers[0].fix.cli


def test_transit_gateway_both_ways() -> None:
    """test-transit-gateway: 192.168.0.0/16 and 10.10.0.0/16 route to tgw-044be4… from each side; its route table
    reaches both attachments; sg-09606c… allows 22."""
    answer = ask(network_of("test-transit-gateway"), "192.168.1.106", "10.10.10.157")
    assert answer.reachable
    assert {h.step.id for h in answer.forward + answer.ret if h.step.code == codes.ROUTE_VIA} == {
        "tgw-044be4464fcc69aff"}


def test_hybrid_cloud_database_port_open_to_the_internet() -> None:
    """pybatfish-hybrid-cloud: eni-01997… (13.59.144.125) carries sg-0e37fc… with tcp 3306 from 0.0.0.0/0, in a
    subnet whose table routes 0.0.0.0/0 to igw-02fd68…: MySQL is reachable from the internet; the instance in
    10.30.1.0/24 reaches it through tgw-06b348…; 5432 is closed."""
    network = network_of("pybatfish-hybrid-cloud")
    assert ask(network, "internet", "13.59.144.125", TCP, 3306).reachable
    assert ask(network, "10.30.1.166", "10.20.1.207", TCP, 3306).reachable
    assert blockers(ask(network, "internet", "13.59.144.125", TCP, 5432)) == {
        ("forward", codes.ENI_SG_RULES_MISMATCH, "sg-0e37fc2ef01c89369")}


def test_endpoint_gateway_subnet_has_no_default_route() -> None:
    """test-vpc-endpoint-gateway: private-web01's table holds the local route and pl-63a5400a → vpce-0b73…: no
    0.0.0.0/0. The VPC has igw-0c8afe…, so the fix routes 0.0.0.0/0 to it in rtb-04f71f…."""
    network = network_of("test-vpc-endpoint-gateway")
    answer = ask(network, "private-web01", "internet", TCP, 443)
    assert blockers(answer) == {("forward", codes.NO_ROUTE_TO_DESTINATION, "vpc-router")}
    fix = answer.blockers[0].fix
    assert fix is not None and fix.cli == ("aws ec2 create-route --route-table-id rtb-04f71fc2caa8d94cf "
                                           "--destination-cidr-block 0.0.0.0/0 --gateway-id igw-0c8afe4471084ccba")
    assert ask(network, "internet", "public-web01", TCP, 443).reachable  # testing_sg: tcp 443 from 0.0.0.0/0
    assert not ask(network, "internet", "public-web01", TCP, 80).reachable


def test_multi_account_peering() -> None:
    """test-vpc-peering-multi-account: bat-web01 (account …012) and fish-web01 (account …013) route each other's
    /16 to pcx-0040f7…; both groups allow 22 from anywhere; neither account has a NetworkAcls file (default NACLs)."""
    assert ask(network_of("test-vpc-peering-multi-account"), "bat-web01", "fish-web01").reachable


# ---- one engine, two callers: reach against the simulator on every snapshot --------------------------------


def _instances(network: Network) -> list[str]:
    return [h.name for h in network.vpc_hosts() if h.interface_type == "interface" and h.security_groups]


@pytest.mark.parametrize("folder", listing("aws-snapshots", dirs=True), ids=lambda p: p.name)
def test_reach_agrees_with_the_simulator_on_every_pair(folder) -> None:
    """Every ordered pair of instance ENIs, and the internet both ways, on tcp 22/80/443: reachable exactly when
    a simulated connect is established."""
    network = load_snapshot(folder).network
    stand_in = internet_address(network)
    network = with_outside(network, {stand_in})
    outside = f"outside-{stand_in}"
    reacher = Reacher(network)
    enis = _instances(network)
    pairs = [(a, b) for a in enis for b in enis if a != b] + [(outside, e) for e in enis] + [(e, outside)
                                                                                          for e in enis]
    checked = 0
    for src, dst in pairs:
        for port in (22, 80, 443):
            s = Endpoint(src, address=stand_in) if src == outside else Endpoint(src, src)
            d = Endpoint(dst, address=stand_in) if dst == outside else Endpoint(dst, dst)
            answer = reacher.reach(s, d, TCP, port)
            target = str(answer.dst.address)
            sim = Simulator(network)
            sim.listen(dst, "tcp", port)
            _, exchange = sim.connect(src, target, port)
            if answer.reachable and any("leaves the snapshot" in n for n in answer.notes):
                continue  # the simulator has nothing beyond a VPN or an unknown VPC to answer
            assert answer.reachable == (exchange.outcome == "established"), (src, dst, port, answer.codes)
            checked += 1
    assert checked >= len(enis)


@pytest.mark.parametrize("folder", listing("aws-snapshots", dirs=True), ids=lambda p: p.name)
def test_matrix_equals_pairwise_reach_on_every_snapshot(folder) -> None:
    from vpclab.analysis.matrix import matrix, pairwise

    network = load_snapshot(folder).network
    for proto, port in ((TCP, 22), (TCP, 3306), (ICMP, None)):
        m = matrix(network, proto, port)
        assert {(a, b): cell for a, b, cell in m.pairs()} == pairwise(network, proto, port)


def test_an_instance_with_several_enis_answers_per_eni() -> None:
    """An instance id names all its ENIs: one answer each (here made by giving a second ENI to test1's instance)."""
    network = network_of("test-nat-gateway")
    test1 = network.hosts["eni-0e4ce6a7777b9bff8"]
    second = replace(test1, name="eni-second", ip=type(test1.ip)("10.1.1.99"), secondary_ips=())
    network = replace(network, hosts=FrozenMap({**network.hosts, second.name: second}))
    assert [e.eni for e in resolve(network, test1.instance or "")] == ["eni-0e4ce6a7777b9bff8", "eni-second"]
    answers = reach_all(network, test1.instance or "", "Jump Host", TCP, 22)
    assert [a.src.eni for a in answers] == ["eni-0e4ce6a7777b9bff8", "eni-second"]
    assert all(a.reachable for a in answers)
    assert outside_addresses(network, resolve(network, "internet")) == {internet_address(network)}


def test_the_internet_stand_in_avoids_addresses_the_snapshot_names() -> None:
    """pybatfish-hybrid-cloud routes 203.0.113.0/24 to its transit gateways (an on-premises range), so `internet`
    cannot be 203.0.113.1 there (docs/assumptions.md R1); elsewhere it is."""
    assert str(internet_address(network_of("pybatfish-hybrid-cloud"))) == "198.51.100.1"
    assert str(internet_address(network_of("test-nat-gateway"))) == "203.0.113.1"


def test_an_internet_route_to_another_vpcs_private_address_delivers_to_no_one() -> None:
    """pybatfish-hybrid-cloud: 10.20.1.207's table sends 10.40.2.80 (a VPC in us-west-2) to 0.0.0.0/0 → igw: the
    packet leaves for the internet, where no one holds a private address; nothing joins the two VPCs."""
    answer = ask(network_of("pybatfish-hybrid-cloud"), "10.20.1.207", "10.40.2.80")
    assert blockers(answer) == {("forward", "ROUTE_MISSES_DESTINATION", "vpc-router")}
    assert answer.blockers[0].fix is not None and "create-vpc-peering-connection" in answer.blockers[0].fix.cli


# ---- a lab file is a snapshot too: IPv6 on the dual-stack lab ---------------------------------------------


def test_ipv6_questions_on_the_dual_stack_lab() -> None:
    """src/vpclab/lab/builtin/dual-stack.yaml, whose steps the simulator checks: web-acl's IPv6 entries cover only
    tcp 443 (and ICMPv6), and sg-web admits SSH from the VPC's IPv4 block only, so SSH over IPv6 meets two blockers
    at once (aws-semantics.md §3.1: IPv4 and IPv6 entries are independent; §1.1); HTTPS over IPv6 passes, from the
    internet too (IPv6 needs no translation, aws-routing-terraform.md §2); the app subnet has no route to ::/0."""
    from vpclab.lab.catalog import builtin_labs

    lab = next(lab for lab in builtin_labs() if lab.name == "dual-stack")
    network = lab.network
    ssh = ask(network, "app", "2001:db8:0:2::20")
    assert blockers(ssh) == {("forward", codes.SUBNET_ACL_RESTRICTION, "web-acl"),
                             ("forward", codes.ENI_SG_RULES_MISMATCH, "sg-web")}
    assert ssh.src.address.version == 6  # app answers from its IPv6 address
    assert ask(network, "app", "2001:db8:0:2::20", TCP, 443).reachable
    assert ask(network, "2001:db8:ffff::10", "2001:db8:0:2::20", TCP, 443).reachable
    assert blockers(ask(network, "2001:db8:ffff::10", "2001:db8:0:1::10")) == {
        ("forward", codes.NO_ROUTE_TO_DESTINATION, "vpc-router")}
    assert ask(network, "app", "web").reachable  # over IPv4, SSH from 198.18.0.0/16


def test_a_private_eni_without_a_route_out_is_sent_to_the_nat_gateway_not_the_igw() -> None:
    """aws-routing-terraform.md §2 (internet IPv4 needs a public IPv4 on the ENI) and §3 (a public NAT gateway gives
    one to instances without): eni-0cbd69… has no public IP and its subnet no route to 8.8.8.8. The fix routed it
    to the internet gateway, after which the answer was still blocked (IGW_PRIVATE_IP_ASSOCIATION); it names the
    VPC's NAT gateway now, and with that route added the internet is reached."""
    import ipaddress

    from vpclab.model.routing import Route

    network = network_of("test-nat-gateway")
    answer = ask(network, "eni-0cbd69297d26de519", "8.8.8.8", TCP, 443)
    assert blockers(answer) == {("forward", codes.NO_ROUTE_TO_DESTINATION, "vpc-router")}
    fix = answer.blockers[0].fix
    assert fix is not None and fix.cli == ("aws ec2 create-route --route-table-id rtb-0e169c4a1e0b27b55 "
                                           "--destination-cidr-block 8.8.8.8/32 --nat-gateway-id nat-07ab4846da51f4612")
    table = network.route_tables["rtb-0e169c4a1e0b27b55"]
    routed = replace(table, routes=(*table.routes, Route(ipaddress.ip_network("8.8.8.8/32"), "nat-07ab4846da51f4612")))
    fixed = replace(network, route_tables=network.route_tables.replace(table.id, routed))
    assert ask(fixed, "eni-0cbd69297d26de519", "8.8.8.8", TCP, 443).reachable


def test_the_amazon_dns_address_is_answered_as_not_filtered() -> None:
    """aws-semantics.md §1 item 11: neither security groups nor NACLs filter traffic to Amazon DNS at the VPC base
    + 2 (10.1.0.2 in vpc-0008a7…). `--to 10.1.0.2` was refused ("no ENI holds it"); it is answered as the metadata
    address is, and a port the resolver does not answer gets a note."""
    network = network_of("test-nat-gateway")
    dns = ask(network, "eni-0cbd69297d26de519", "10.1.0.2", UDP, 53)
    assert dns.reachable and [h.step.code for h in dns.forward] == [codes.NOT_FILTERED_SERVICE]
    assert dns.forward[0].step.facts["service"] == "Amazon DNS (VPC base + 2)" and not dns.notes
    ssh = ask(network, "eni-0cbd69297d26de519", "10.1.0.2", TCP, 22)
    assert ssh.notes == ("no filter stops it, but Amazon DNS (VPC base + 2) answers only tcp 53; udp 53: nothing "
                         "answers tcp/22",)


def test_a_private_instance_reaches_a_public_ip_of_its_vpc_through_its_nat_gateway() -> None:
    """aws-routing-terraform.md §2-§3: test1 (10.1.1.98, 0.0.0.0/0 → nat-07ab…) to the jump host's public IP
    18.216.129.140: out through the NAT gateway and the internet gateway, back in to the jump host, and the reply
    the same way back. It was ROUTE_MISSES_DESTINATION ("the internet holds no private address")."""
    answer = ask(network_of("test-nat-gateway"), "eni-0e4ce6a7777b9bff8", "18.216.129.140", TCP, 22)
    assert answer.reachable and not answer.blockers
    assert answer.forward[-1].step.id == "sg-0253af84ae6485905" and answer.forward[-1].step.host == \
        "eni-068fb5a0a9a57f23c"
    assert [h.step.code for h in answer.ret if h.step.component == "route"] == [codes.ROUTE_IGW,
                                                                                codes.NAT_TRANSLATION]
