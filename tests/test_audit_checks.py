"""`vpclab audit` checks, one fixture per behaviour: a positive and a negative case each, including the false
positives the scanners are known for (peers.md §3: a deny entry before an allow-all, an egress-only group, a group on
no ENI, an ENI with no public route). Networks are built with tests/netbuild.py (the lab file's shapes); each
finding is what the engine decides on them, never what a rule looks like.
"""

from __future__ import annotations


from netbuild import build
from vpclab.analysis.audit import CHECKS_BY_ID, AuditInput, AuditResult, Severity, audit
from vpclab.analysis.audit.inputs import GroupInfo
from vpclab.engine.engine import Engine
from vpclab.load.snapshot import Snapshot
from vpclab.model import Direction, Network
from vpclab.model.protocols import TCP

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
PUBLIC = {"web": {"cidr": "198.18.1.0/24", "public": True}, "app": {"cidr": "198.18.2.0/24"}}
SSH_WORLD = {"proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}
ALL_OUT = [{"proto": "-1", "cidr": "0.0.0.0/0"}]


def run(network: Network, check: str, groups: dict[str, GroupInfo] | None = None) -> AuditResult:
    """One check on a built network."""
    found = AuditInput(Snapshot("fixture", "lab", network), groups or {})
    return audit(found, [CHECKS_BY_ID[check]])


def web(groups: dict, host: dict | None = None, subnets: dict | None = None, nacls: dict | None = None) -> Network:
    """A host `h` in the public subnet with a public IP (unless `host` says otherwise), group `g`."""
    spec = {"subnet": "web", "ip": "198.18.1.10", "public_ip": "198.51.100.10", "security_groups": ["g"]}
    return build(groups, {"h": {**spec, **(host or {})}}, subnets or PUBLIC, nacls)


# ---- internet-admin-port (aws-semantics.md §4.2; aws-routing-terraform.md §2) --------------------------------


def test_ssh_open_to_the_world_on_a_public_eni_is_high() -> None:
    """Public IP, IGW route, default NACL, tcp 22 from 0.0.0.0/0: reach from internet is open both ways."""
    found = run(web({"g": {"ingress": [SSH_WORLD]}}), "internet-admin-port").findings
    assert [(f.severity, f.resource, f.evidence["ports"]) for f in found] == [(Severity.HIGH, "h", [22])]
    assert found[0].evidence["path"]["reachable"] is True
    assert found[0].fix.cli.startswith("aws ec2 revoke-security-group-ingress --group-id g --ip-permissions "
                                       "'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]'")


def test_a_nacl_deny_placed_first_makes_it_no_finding() -> None:
    """prowler #2910, trivy #7006: NACL rule 90 denies tcp 22 before rule 100 allows all; NACLs decide lowest number
    first (aws-semantics.md §3.1), so nothing from the internet reaches port 22."""
    nacls = {"n": {"ingress": [{"rule": 90, "action": "deny", "proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"},
                               {"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}],
                   "egress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]}}
    subnets = {**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}
    assert run(web({"g": {"ingress": [SSH_WORLD]}}, subnets=subnets, nacls=nacls), "internet-admin-port").findings == ()


def test_the_same_rule_behind_an_allow_first_nacl_is_still_found() -> None:
    """The deny after an allow-all decides nothing (first match wins): the port stays exposed."""
    nacls = {"n": {"ingress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"},
                               {"rule": 110, "action": "deny", "proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}],
                   "egress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]}}
    subnets = {**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}
    found = run(web({"g": {"ingress": [SSH_WORLD]}}, subnets=subnets, nacls=nacls), "internet-admin-port").findings
    assert [f.severity for f in found] == [Severity.HIGH]


def test_an_eni_without_a_public_ip_is_low() -> None:
    """The rule admits 0.0.0.0/0 but the ENI has no public IP: the internet cannot address it today."""
    found = run(web({"g": {"ingress": [SSH_WORLD]}}, host={"public_ip": None}), "internet-admin-port").findings
    assert [(f.severity, f.evidence.get("reason")) for f in found] == [(Severity.LOW, "no public IP")]


def test_an_eni_with_no_public_route_is_low() -> None:
    """A public IP in a subnet whose route table has no internet gateway route: the reply has no way out
    (aws-routing-terraform.md §2), so nothing outside completes a connection."""
    network = web({"g": {"ingress": [SSH_WORLD]}}, host={"subnet": "app", "ip": "198.18.2.10"})
    found = run(network, "internet-admin-port").findings
    assert [f.severity for f in found] == [Severity.LOW]
    assert found[0].evidence["path"]["reachable"] is False


def test_a_nacl_dropping_every_reply_makes_it_no_finding() -> None:
    """The request gets in, but the NACL's egress has no entry for the client's ephemeral ports: no connection."""
    nacls = {"n": {"ingress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}],
                   "egress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": "80-443", "cidr": "0.0.0.0/0"}]}}
    subnets = {**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}
    assert run(web({"g": {"ingress": [SSH_WORLD]}}, subnets=subnets, nacls=nacls), "internet-admin-port").findings == ()


def test_replies_allowed_to_part_of_the_ephemeral_range_still_expose_the_port() -> None:
    """A client picks its source port: replies to 32768-40000 pass, so a client using those ports connects."""
    nacls = {"n": {"ingress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}],
                   "egress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": "32768-40000",
                               "cidr": "0.0.0.0/0"}]}}
    subnets = {**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}
    found = run(web({"g": {"ingress": [SSH_WORLD]}}, subnets=subnets, nacls=nacls), "internet-admin-port").findings
    assert [f.severity for f in found] == [Severity.HIGH]


def test_an_egress_only_group_is_no_exposure() -> None:
    """prowler #4936: a group with only an egress rule to 0.0.0.0/0 admits nothing in."""
    assert run(web({"g": {"ingress": [], "egress": ALL_OUT}}), "internet-admin-port").findings == ()


def test_a_group_on_no_eni_is_no_exposure() -> None:
    """prowler #2069: a group no ENI carries filters nothing; its 0.0.0.0/0 rule exposes nothing."""
    network = web({"g": {"ingress": []}, "spare": {"ingress": [SSH_WORLD]}})
    assert run(network, "internet-admin-port").findings == ()


def test_a_rule_for_one_office_address_is_no_internet_exposure() -> None:
    """tcp 22 from 192.0.2.0/28 only: the internet at large (the stand-in address) is not admitted."""
    rule = {"proto": "tcp", "ports": 22, "cidr": "192.0.2.0/28"}
    assert run(web({"g": {"ingress": [rule]}}), "internet-admin-port").findings == ()


def test_ports_of_one_rule_are_one_finding() -> None:
    """All traffic from 0.0.0.0/0 opens every admin port: one finding for the rule, listing the ports."""
    found = run(web({"g": {"ingress": [{"proto": "-1", "cidr": "0.0.0.0/0"}]}}), "internet-admin-port").findings
    assert len(found) == 1 and {22, 3389, 3306, 5432, 6379, 27017, 9200} <= set(found[0].evidence["ports"])


# ---- egress-open-unneeded (first seed article; aws-semantics.md §1.2, §2.1) ----------------------------------


def test_default_egress_on_a_public_eni_is_medium_with_the_tighten_fix() -> None:
    found = run(web({"g": {"ingress": [SSH_WORLD]}}), "egress-open-unneeded").findings
    assert [(f.severity, f.resource) for f in found] == [(Severity.MEDIUM, "g")]
    assert "vpclab tighten" in found[0].fix.text and "--flows" in found[0].fix.text
    assert found[0].fix.cli == ("aws ec2 revoke-security-group-egress --group-id g --ip-permissions "
                                "'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'")
    assert found[0].evidence["probe"]["reachable"] is True


def test_narrowed_egress_is_no_finding() -> None:
    """The seed article's result: tcp 80, 443, 20-21 out only."""
    egress = [{"proto": "tcp", "ports": p, "cidr": "0.0.0.0/0"} for p in (80, 443, "20-21")]
    assert run(web({"g": {"ingress": [SSH_WORLD], "egress": egress}}), "egress-open-unneeded").findings == ()


def test_every_tcp_port_to_the_world_is_open_egress_too() -> None:
    """Not only `all traffic`: tcp 0-65535 to 0.0.0.0/0 admits every TCP connection (the engine's all-ports fact)."""
    egress = [{"proto": "tcp", "ports": "0-65535", "cidr": "0.0.0.0/0"}]
    found = run(web({"g": {"ingress": [], "egress": egress}}), "egress-open-unneeded").findings
    assert [(f.resource, f.evidence["rule"]["rule"]) for f in found] == [("g", "tcp all ports to 0.0.0.0/0")]


def test_the_rule_the_engine_admits_with_is_the_one_cited() -> None:
    """Two groups on one ENI both open egress: the engine admits with the first group's rule; the second group's
    copy is left to sg-redundant-rule."""
    groups = {"g": {"ingress": []}, "h2": {"ingress": []}}
    network = build(groups, {"h": {"subnet": "web", "ip": "198.18.1.10", "public_ip": "198.51.100.10",
                                   "security_groups": ["g", "h2"]}}, PUBLIC)
    assert [f.resource for f in run(network, "egress-open-unneeded").findings] == ["g"]


def test_open_egress_on_a_group_on_no_eni_is_no_finding() -> None:
    network = web({"g": {"ingress": [], "egress": []}, "spare": {"ingress": []}})
    assert run(network, "egress-open-unneeded").findings == ()


def test_open_egress_without_a_way_out_of_the_vpc_is_low() -> None:
    """Subnet `app` has no internet route: the open rule reaches only the VPC today."""
    network = web({"g": {"ingress": []}}, host={"subnet": "app", "ip": "198.18.2.10", "public_ip": None})
    found = run(network, "egress-open-unneeded").findings
    assert [f.severity for f in found] == [Severity.LOW]


def test_the_needs_the_snapshot_shows_are_listed() -> None:
    """db's group admits tcp 5432 from app's group, and reach app → db on 5432 is open: app needs that egress."""
    groups = {"app": {"ingress": []}, "db": {"ingress": [{"proto": "tcp", "ports": 5432, "sg": "app"}], "egress": []}}
    hosts = {"a": {"subnet": "web", "ip": "198.18.1.10", "security_groups": ["app"]},
             "d": {"subnet": "app", "ip": "198.18.2.20", "security_groups": ["db"]}}
    found = run(build(groups, hosts, PUBLIC), "egress-open-unneeded").findings
    assert [f.resource for f in found] == ["app"]
    assert [n["text"] for n in found[0].evidence["needs"]] == ["tcp 5432 to db"]
    assert "keep at least: tcp 5432 to db" in found[0].fix.text


# ---- nacl-drops-replies (aws-semantics.md §3.1, §3.4) --------------------------------------------------------

ALLOW_ALL = {"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}


def two_tier(db_egress: list[dict]) -> Network:
    """app (198.18.1.10) → db (198.18.2.20) on tcp 5432; db's subnet has NACL `dbn` with the given egress."""
    groups = {"app": {"ingress": []}, "db": {"ingress": [{"proto": "tcp", "ports": 5432, "sg": "app"}]}}
    hosts = {"a": {"subnet": "web", "ip": "198.18.1.10", "security_groups": ["app"]},
             "d": {"subnet": "app", "ip": "198.18.2.20", "security_groups": ["db"]}}
    nacls = {"dbn": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 5432,
                                  "cidr": "198.18.1.0/24"}], "egress": db_egress}}
    return build(groups, hosts, {**PUBLIC, "app": {**PUBLIC["app"], "nacl": "dbn"}}, nacls)


def test_a_nacl_without_the_clients_ephemeral_range_drops_the_replies() -> None:
    """The classic mistake (modernisation-platform#917): egress allows 1024-32767 only, so replies to Linux clients'
    32768-60999 are dropped by the `*` deny; the request itself passes."""
    found = run(two_tier([{"rule": 100, "action": "allow", "proto": "tcp", "ports": "1024-32767",
                           "cidr": "198.18.1.0/24"}]), "nacl-drops-replies").findings
    assert [(f.resource, f.evidence["service"], f.evidence["client"]) for f in found] == [("dbn", "d", "a")]
    assert found[0].evidence["dropped_client_ports"] == [[32768, 60999]]
    assert "create-network-acl-entry" in found[0].fix.cli and "--egress" in found[0].fix.cli


def test_a_nacl_with_the_ephemeral_range_is_no_finding() -> None:
    assert run(two_tier([{"rule": 100, "action": "allow", "proto": "tcp", "ports": "1024-65535",
                          "cidr": "198.18.1.0/24"}]), "nacl-drops-replies").findings == ()


def test_a_request_the_nacl_refuses_is_not_a_reply_problem() -> None:
    """The NACL refuses the request itself (no ingress entry for 5432): that is a closed service, not this finding."""
    network = two_tier([ALLOW_ALL])
    network = network.delete_nacl_entry("dbn", INGRESS, 100)
    assert run(network, "nacl-drops-replies").findings == ()


def test_internet_clients_replies_dropped_on_a_public_service() -> None:
    nacls = {"n": {"ingress": [ALLOW_ALL], "egress": [{"rule": 100, "action": "allow", "proto": "tcp",
                                                       "ports": "80-443", "cidr": "0.0.0.0/0"}]}}
    subnets = {**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}
    network = web({"g": {"ingress": [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]}}, subnets=subnets,
                  nacls=nacls)
    found = run(network, "nacl-drops-replies").findings
    assert [(f.resource, f.evidence["client"]) for f in found] == [("n", "internet")]


# ---- nacl-breaks-pmtud (aws-semantics.md §3.5) ---------------------------------------------------------------


def pmtud(extra: list[dict], public: bool = True) -> Network:
    nacls = {"n": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
                               {"rule": 110, "action": "allow", "proto": "tcp", "ports": "1024-65535",
                                "cidr": "0.0.0.0/0"}] + extra, "egress": [ALLOW_ALL]}}
    subnets = {"web": {"cidr": "198.18.1.0/24", "public": public, "nacl": "n"}, "app": PUBLIC["app"]}
    return web({"g": {"ingress": [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]}}, subnets=subnets,
               nacls=nacls)


def test_a_nacl_refusing_icmp_fragmentation_needed_breaks_pmtud() -> None:
    """TCP with the internet passes but ICMP 3/4 meets the `*` deny."""
    found = run(pmtud([]), "nacl-breaks-pmtud").findings
    assert [f.resource for f in found] == ["n"]
    assert found[0].evidence["deciding_entry"]["number"] is None  # the * deny
    assert found[0].fix.cli.endswith("--cidr-block 0.0.0.0/0 --icmp-type-code Type=3,Code=4")
    assert "--rule-number 32766" in found[0].fix.cli


def test_icmp_3_4_allowed_is_no_finding() -> None:
    entry = {"rule": 120, "action": "allow", "proto": "icmp", "icmp": {"type": 3, "code": 4}, "cidr": "0.0.0.0/0"}
    assert run(pmtud([entry]), "nacl-breaks-pmtud").findings == ()


def test_the_default_nacl_and_a_private_subnet_are_no_finding() -> None:
    assert run(web({"g": {"ingress": []}}), "nacl-breaks-pmtud").findings == ()
    assert run(pmtud([], public=False), "nacl-breaks-pmtud").findings == ()


# ---- sg-redundant-rule (aws-semantics.md §1.2: an ENI's groups are unioned) ---------------------------------


def rule22(cidr: str, ports: object = 22) -> dict:
    return {"proto": "tcp", "ports": ports, "cidr": cidr}


def redundant(network: Network) -> set[tuple[str, str, int]]:
    return {(f.resource, f.evidence["rule"]["direction"], f.evidence["rule"]["number"])
            for f in run(network, "sg-redundant-rule").findings}


def test_a_rule_inside_another_of_its_group_is_redundant() -> None:
    network = web({"g": {"ingress": [rule22("10.0.0.0/8"), rule22("10.1.0.0/16")]}})
    assert redundant(network) == {("g", "ingress", 2)}


def test_a_wider_port_range_is_not_covered() -> None:
    network = web({"g": {"ingress": [rule22("10.0.0.0/8"), rule22("10.1.0.0/16", "22-23")]}})
    assert redundant(network) == set()


def test_two_rules_together_cover_a_third() -> None:
    """10.0.0.0/25 and 10.0.0.128/25 together hold 10.0.0.0/24: covered by the union, not by one rule."""
    network = web({"g": {"ingress": [rule22("10.0.0.0/24", "22-23"), rule22("10.0.0.0/25", "20-30"),
                                     rule22("10.0.0.128/25", "22-25")]}})
    assert redundant(network) == {("g", "ingress", 1)}


def test_rules_covering_each_other_are_not_all_reported() -> None:
    """The /24 and its two halves cover one another: the halves are reported (narrowest first), the /24 kept, so
    removing every reported rule together changes nothing."""
    network = web({"g": {"ingress": [rule22("10.0.0.0/24"), rule22("10.0.0.0/25"), rule22("10.0.0.128/25")]}})
    assert redundant(network) == {("g", "ingress", 2), ("g", "ingress", 3)}


def test_covered_on_every_eni_that_carries_it() -> None:
    """g2's rule is inside g1's on host h (g1+g2); when another ENI carries g2 alone it is needed there."""
    groups = {"g1": {"ingress": [rule22("10.0.0.0/8", "0-65535")]},
              "g2": {"ingress": [rule22("10.1.0.0/16")], "egress": []}}
    both = {"subnet": "web", "ip": "198.18.1.10", "security_groups": ["g1", "g2"]}
    assert redundant(build(groups, {"h": both}, PUBLIC)) == {("g2", "ingress", 1)}
    alone = {"subnet": "web", "ip": "198.18.1.11", "security_groups": ["g2"]}
    assert redundant(build(groups, {"h": both, "k": alone}, PUBLIC)) == set()


def test_the_same_rule_in_two_groups_of_one_eni_is_reported_once() -> None:
    groups = {"g1": {"ingress": [rule22("10.0.0.0/8")]}, "g2": {"ingress": [rule22("10.0.0.0/8")]}}
    both = {"subnet": "web", "ip": "198.18.1.10", "security_groups": ["g1", "g2"]}
    assert redundant(build(groups, {"h": both}, PUBLIC)) == {("g2", "ingress", 1), ("g2", "egress", 1)}


def test_removing_a_redundant_rule_changes_no_decision() -> None:
    """The engine's own answer before and after revoking each reported rule, at the corners of its box and beside."""
    network = web({"g": {"ingress": [rule22("10.0.0.0/25"), rule22("10.0.0.128/25"), rule22("10.0.0.0/24"),
                                     rule22("10.0.0.0/16", "20-30"), rule22("10.0.0.0/8", "22-24")]}})
    before = Engine(network).sg_policy("h", INGRESS)
    findings = run(network, "sg-redundant-rule").findings
    rules = [network.security_groups["g"].ingress[f.evidence["rule"]["number"] - 1] for f in findings]
    assert len(rules) >= 2
    without = network
    for rule in rules:  # every reported rule at once
        without = without.revoke("g", INGRESS, rule)
    after = Engine(without).sg_policy("h", INGRESS)
    for rule in network.security_groups["g"].ingress:
        lo, hi = int(rule.peer.cidr.network_address), int(rule.peer.cidr.broadcast_address)
        for addr in (lo, hi, lo - 1, hi + 1, (lo + hi) // 2):
            for port in (rule.ports.first, rule.ports.last, rule.ports.first - 1, rule.ports.last + 1):
                assert bool(before.index.match(4, TCP, addr, port)) == bool(after.index.match(4, TCP, addr, port))


# ---- nacl-shadowed-entry (aws-semantics.md §3.1: lowest number first, first match decides) -------------------


def shadowed(ingress: list[dict]) -> list[tuple[int, Severity]]:
    nacls = {"n": {"ingress": ingress, "egress": [ALLOW_ALL]}}
    network = web({"g": {"ingress": []}}, subnets={**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}, nacls=nacls)
    return [(f.evidence["entry"]["number"], f.severity) for f in run(network, "nacl-shadowed-entry").findings]


def test_a_deny_after_an_allow_all_never_applies() -> None:
    assert shadowed([ALLOW_ALL, {"rule": 200, "action": "deny", "proto": "tcp", "ports": 22,
                                 "cidr": "0.0.0.0/0"}]) == [(200, Severity.MEDIUM)]


def test_a_deny_before_an_allow_all_is_no_finding() -> None:
    """prowler #2910 / checkov #4518: the deny decides first; the allow-all still matches everything else."""
    assert shadowed([{"rule": 90, "action": "deny", "proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"},
                     ALLOW_ALL]) == []


def test_an_allow_inside_an_earlier_allow_is_low() -> None:
    assert shadowed([{"rule": 100, "action": "allow", "proto": "tcp", "ports": "0-65535", "cidr": "10.0.0.0/8"},
                     {"rule": 110, "action": "allow", "proto": "tcp", "ports": 22, "cidr": "10.1.0.0/16"}]) \
        == [(110, Severity.LOW)]


def test_two_earlier_entries_together_shadow_a_deny() -> None:
    assert shadowed([{"rule": 100, "action": "allow", "proto": "-1", "cidr": "10.0.0.0/9"},
                     {"rule": 101, "action": "allow", "proto": "-1", "cidr": "10.128.0.0/9"},
                     {"rule": 120, "action": "deny", "proto": "tcp", "ports": 22, "cidr": "10.0.0.0/8"},
                     {"rule": 130, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]) == [(120, Severity.MEDIUM)]


def test_a_shadowed_entry_is_never_the_one_the_engine_decides_with() -> None:
    """At the corners of a reported entry's match, the engine's NACL decides on an earlier entry."""
    ingress = [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "10.0.0.0/9"},
               {"rule": 101, "action": "allow", "proto": "-1", "cidr": "10.128.0.0/9"},
               {"rule": 120, "action": "deny", "proto": "tcp", "ports": "20-30", "cidr": "10.0.0.0/8"}]
    nacls = {"n": {"ingress": ingress, "egress": [ALLOW_ALL]}}
    network = web({"g": {"ingress": []}}, subnets={**PUBLIC, "web": {**PUBLIC["web"], "nacl": "n"}}, nacls=nacls)
    policy = Engine(network).nacl_policy("web", INGRESS)
    assert [f.evidence["entry"]["number"] for f in run(network, "nacl-shadowed-entry").findings] == [120]
    for addr in (0x0A000000, 0x0A7FFFFF, 0x0A800000, 0x0AFFFFFF):
        for port in (20, 25, 30):
            assert policy.entries[policy.decide(4, TCP, addr, port)].number in (100, 101)


# ---- internet-admin-port over IPv6 (aws-routing-terraform.md §2: IGW ::/0, egress-only gateways) ------------

V6_SUBNETS = {"web": {"cidr": "198.18.1.0/24", "ipv6_cidr": "2001:db8:1:1::/64", "public": True},
              "app": {"cidr": "198.18.2.0/24", "ipv6_cidr": "2001:db8:1:2::/64"}}


def web6(groups: dict, host: dict | None = None) -> Network:
    spec = {"subnet": "web", "ip": "198.18.1.10", "ipv6": "2001:db8:1:1::10", "security_groups": ["g"]}
    return build(groups, {"h": {**spec, **(host or {})}}, V6_SUBNETS, vpc="198.18.0.0/16",
                 ipv6_cidr="2001:db8:1::/56")


def test_ssh_open_to_the_ipv6_world_on_a_public_subnet_is_high() -> None:
    """No public IPv4 at all: the ENI's IPv6 address is global and the subnet routes ::/0 to the internet gateway."""
    found = run(web6({"g": {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "::/0"}]}}), "internet-admin-port").findings
    assert [(f.severity, f.evidence["family"], f.evidence["ports"]) for f in found] == [(Severity.HIGH, "ipv6", [22])]


def test_an_ipv6_rule_on_a_subnet_without_an_ipv6_route_out_is_low() -> None:
    network = web6({"g": {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "::/0"}]}},
                   {"subnet": "app", "ip": "198.18.2.10", "ipv6": "2001:db8:1:2::10"})
    assert [f.severity for f in run(network, "internet-admin-port").findings] == [Severity.LOW]


def test_an_ipv4_only_rule_is_no_ipv6_exposure() -> None:
    found = run(web6({"g": {"ingress": [SSH_WORLD]}}), "internet-admin-port").findings
    assert [(f.severity, f.evidence.get("reason")) for f in found] == [(Severity.LOW, "no public IP")]


def test_open_ipv6_egress_is_found_on_enis_with_an_ipv6_address() -> None:
    """all traffic to ::/0 (AWS adds it to the default group of an IPv6 VPC, §1.3) opens IPv6 egress."""
    egress = [{"proto": "-1", "cidr": "::/0"}]
    found = run(web6({"g": {"ingress": [], "egress": egress}}), "egress-open-unneeded").findings
    assert [(f.resource, f.severity, f.evidence["rule"]["rule"]) for f in found] == \
        [("g", Severity.MEDIUM, "all traffic to ::/0")]
    assert "Ipv6Ranges=[{CidrIpv6=::/0}]" in found[0].fix.cli


def test_every_udp_port_to_the_world_is_probed_over_udp() -> None:
    egress = [{"proto": "udp", "ports": "0-65535", "cidr": "0.0.0.0/0"}]
    found = run(web({"g": {"ingress": [], "egress": egress}}), "egress-open-unneeded").findings
    assert [(f.severity, f.evidence["probe"]["proto"]) for f in found] == [(Severity.MEDIUM, "udp")]


def test_an_ipv6_nacl_refusing_packet_too_big_breaks_pmtud() -> None:
    """IPv6 PMTUD needs ICMPv6 type 2 (aws-semantics.md §3.5); the IPv4 entry for 3/4 does not help it."""
    ipv4 = [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
            {"rule": 110, "action": "allow", "proto": "tcp", "ports": "1024-65535", "cidr": "0.0.0.0/0"},
            {"rule": 120, "action": "allow", "proto": "icmp", "icmp": {"type": 3, "code": 4}, "cidr": "0.0.0.0/0"}]
    ipv6 = [{"rule": 200, "action": "allow", "proto": "tcp", "ports": 443, "cidr": "::/0"},
            {"rule": 210, "action": "allow", "proto": "tcp", "ports": "1024-65535", "cidr": "::/0"}]
    nacls = {"n": {"ingress": ipv4 + ipv6, "egress": [ALLOW_ALL, {"rule": 101, "action": "allow", "proto": "-1",
                                                                  "cidr": "::/0"}]}}
    subnets = {**V6_SUBNETS, "web": {**V6_SUBNETS["web"], "nacl": "n"}}
    spec = {"subnet": "web", "ip": "198.18.1.10", "ipv6": "2001:db8:1:1::10", "security_groups": ["g"]}
    network = build({"g": {"ingress": []}}, {"h": spec}, subnets, nacls, ipv6_cidr="2001:db8:1::/56")
    found = run(network, "nacl-breaks-pmtud").findings
    assert [(f.resource, f.evidence["family"]) for f in found] == [("n", "ipv6")]
    assert found[0].fix.cli.endswith("--protocol 58 --rule-action allow --ipv6-cidr-block ::/0 "
                                     "--icmp-type-code Type=2,Code=0")


def test_the_clients_own_nacl_can_drop_the_replies() -> None:
    """The reply must also enter the client's subnet (aws-semantics.md §4.2): a NACL on the app subnet that allows
    5432 out but nothing back in to its ephemeral ports drops every reply, and the finding names that NACL."""
    groups = {"app": {"ingress": []}, "db": {"ingress": [{"proto": "tcp", "ports": 5432, "sg": "app"}]}}
    hosts = {"a": {"subnet": "web", "ip": "198.18.1.10", "security_groups": ["app"]},
             "d": {"subnet": "app", "ip": "198.18.2.20", "security_groups": ["db"]}}
    nacls = {"appn": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}],
                      "egress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 5432,
                                  "cidr": "198.18.2.0/24"}]}}
    network = build(groups, hosts, {**PUBLIC, "web": {**PUBLIC["web"], "nacl": "appn"}}, nacls)
    found = run(network, "nacl-drops-replies").findings
    assert [(f.resource, f.evidence["client"], f.evidence["dropped_client_ports"]) for f in found] == \
        [("appn", "a", [[32768, 60999]])]
    assert "--ingress" in found[0].fix.cli
