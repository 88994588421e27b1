"""Hand-written Terraform plan and state fixtures (tests/fixtures/terraform/) and their describe-JSON equivalent
(tests/fixtures/aws/shop/), each checked on the assembled MODEL (`load_snapshot(path).network`), not on the network
document. The fixtures describe one VPC, `shop` (tests/fixtures/terraform/README.md draws it).

Sources: ../shared/reference/aws-routing-terraform.md §9 (Terraform JSON: §9.1 documents, §9.3 modules and
addresses, §9.4 unknown values, §9.5 attribute shapes, §9.6 normalisations) and ../shared/reference/aws-semantics.md
§6 (the CLI's describe JSON)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path

import pytest

from vpclab.engine import Engine, Packet, codes
from vpclab.errors import Origin
from vpclab.load.snapshot import Snapshot, load_snapshot
from vpclab.model import NaclEntry, Network, SgRule
from vpclab.model.frozen import FrozenMap
from vpclab.model.routing import TargetKind

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STATE = FIXTURES / "terraform" / "shop-state.json"
PLAN = FIXTURES / "terraform" / "shop-plan.json"
DESCRIBED = FIXTURES / "aws" / "shop"

VPC = "vpc-5a0e0001"
PUBLIC_A, PUBLIC_B, APP_A = "subnet-5a0e0101", "subnet-5a0e0102", "subnet-5a0e0201"
DEFAULT_SG, WEB, API = "sg-5a0e0000", "sg-5a0e0001", "sg-5a0e0002"
DEFAULT_ACL, APP_ACL = "acl-5a0e0000", "acl-5a0e0001"
MAIN, PUBLIC, PRIVATE = "rtb-5a0e0000", "rtb-5a0e0001", "rtb-5a0e0002"
IGW, NAT, NAT_ENI, OFFICE = "igw-5a0e0001", "nat-0a0e0000000000001", "eni-5a0e0901", "pl-5a0e0001"
ADMIN = 'module.app["admin"]'
ADMIN_SG, ADMIN_ENI = f"sg-{ADMIN}.aws_security_group.this", f"eni-{ADMIN}.aws_instance.this[0]"
VGW = "vgw-module.network.aws_vpn_gateway.this"


@pytest.fixture(scope="module")
def state() -> Snapshot:
    return load_snapshot(STATE)


@pytest.fixture(scope="module")
def plan() -> Snapshot:
    return load_snapshot(PLAN)


@pytest.fixture(scope="module")
def described() -> Snapshot:
    return load_snapshot(DESCRIBED)


def at(network: Network, section: str, key: str) -> str:
    """The Terraform address (or JSON path) an object of the model came from."""
    origin = getattr(network, section)[key].origin
    assert origin is not None, (section, key)
    return origin.path


def tcp(port: int | str, **peer: str) -> SgRule:
    return SgRule.make("tcp", port, **peer)


# --- the state ---------------------------------------------------------------------------------------------------

def test_a_state_is_read_with_no_warning_and_only_the_local_routes_added(state: Snapshot):
    """§9.1: `values` makes it a state; §9.6: adopted default group, NACL and main table mean AWS adds nothing but
    the `local` routes Terraform's route tables leave out (one per table)."""
    assert state.kind == "terraform-state"
    assert state.warnings == []
    assert dict(state.added_defaults) == {"local_routes": 3}


def test_count_and_for_each_instances_in_modules_are_objects_of_their_own(state: Snapshot):
    """§9.3: `module.network.aws_subnet.public[0]` (count), `…private["app"]` (for_each), and instances of
    `module.app["web"]` (a for_each module) with count inside it: one model object each, at its full address."""
    network = state.network
    assert {s.name: (str(s.cidr), s.zone, s.label, s.vpc) for s in network.subnets.values()} == {
        PUBLIC_A: ("10.0.0.0/24", "eu-west-1a", "public-a", VPC),
        PUBLIC_B: ("10.0.1.0/24", "eu-west-1b", "public-b", VPC),
        APP_A: ("10.0.10.0/24", "eu-west-1a", "app-a", VPC)}
    assert at(network, "subnets", PUBLIC_B) == "module.network.aws_subnet.public[1]"
    assert at(network, "subnets", APP_A) == 'module.network.aws_subnet.private["app"]'
    assert at(network, "hosts", "eni-5a0e0102") == 'module.app["web"].aws_instance.this[1]'
    assert at(network, "hosts", "eni-5a0e0201") == 'module.app["api"].aws_instance.this[0]'
    assert at(network, "security_groups", WEB) == 'module.app["web"].aws_security_group.this'
    vpc = network.vpcs[VPC]
    assert (str(vpc.cidr), vpc.account, vpc.region, vpc.label) == ("10.0.0.0/16", "111122223333", "eu-west-1", "shop")
    assert network.vpcs[VPC].origin == Origin("shop-state.json", path="module.network.aws_vpc.this")


def test_inline_and_separate_rules_are_merged_each_rule_once(state: Snapshot):
    """§9.5-9.6: a state of an existing stack lists the rules of aws_security_group_rule and
    aws_vpc_security_group_ingress_rule/egress_rule inline in their group too (the provider's Read writes back every
    rule): each rule once, at the address that first gave it; protocols normalised; one rule per peer."""
    groups = state.network.security_groups
    assert groups[WEB].ingress == (tcp(443, cidr="0.0.0.0/0"), tcp(22, prefix_list=OFFICE))
    assert groups[WEB].egress == (tcp(8080, sg=API),)
    assert groups[API].ingress == (tcp(8080, sg=WEB), SgRule.make("icmp", icmp={"type": 8, "code": -1},
                                                                  cidr="10.0.0.0/16"))
    assert groups[API].egress == (tcp(443, cidr="0.0.0.0/0"),)
    assert groups[WEB].ingress[1].description == "ssh from the office"
    assert groups[WEB].ingress[1].origin.path == 'module.app["web"].aws_security_group.this'
    assert state.network.prefix_lists[OFFICE].cidrs == (ip_network("192.0.2.0/26"), ip_network("192.0.2.64/26"))


def test_a_separate_rule_alone_is_located_at_its_own_address(tmp_path: Path):
    """§9.6: without the inline copy (a plan of a new stack shows none), the rule comes from its rule resource."""
    text = STATE.read_text().replace('"prefix_list_ids": ["pl-5a0e0001"]', '"prefix_list_ids": []')
    (tmp_path / "state.json").write_text(text)
    network = load_snapshot(tmp_path / "state.json").network
    rule = next(r for r in network.security_groups[WEB].ingress if r.ports is not None and r.ports.first == 22)
    assert rule == tcp(22, prefix_list=OFFICE)
    assert rule.origin == Origin("state.json", path="aws_vpc_security_group_ingress_rule.web_ssh_office")


def test_adopted_default_group_and_nacl_keep_only_their_configured_rules(state: Snapshot):
    """§9.5: aws_default_security_group and aws_default_network_acl adopt the VPC's defaults and keep exactly the
    rules configured (here AWS's own: all from the group itself in, all out; allow all both ways); subnets the
    default NACL lists, and none other, use it."""
    network = state.network
    default = network.security_groups[DEFAULT_SG]
    assert default.ingress == (SgRule.make("-1", sg=DEFAULT_SG),)
    assert default.egress == (SgRule.make("-1", cidr="0.0.0.0/0"),)
    everything = (NaclEntry.make(100, "allow", -1, "0.0.0.0/0"),)
    assert (network.nacls[DEFAULT_ACL].ingress, network.nacls[DEFAULT_ACL].egress) == (everything, everything)
    assert {s.name: s.nacl for s in network.subnets.values()} == {PUBLIC_A: DEFAULT_ACL, PUBLIC_B: DEFAULT_ACL,
                                                                  APP_A: APP_ACL}
    assert at(network, "nacls", DEFAULT_ACL) == "module.network.aws_default_network_acl.this"


def test_nacl_entries_inline_and_separate_sorted_by_number_once(state: Snapshot):
    """§9.6: NACL protocols are numbers (`"6"`), ICMP type and code as given (-1: every code), the `*` deny left
    implicit; rule 90 is inline and an aws_network_acl_rule: one entry."""
    app = state.network.nacls[APP_ACL]
    assert app.ingress == (NaclEntry.make(90, "deny", -1, "198.18.0.0/15"),
                           NaclEntry.make(100, "allow", 6, "10.0.0.0/16", 8080),
                           NaclEntry.make(110, "allow", 6, "0.0.0.0/0", "1024-65535"),
                           NaclEntry.make(120, "allow", 1, "10.0.0.0/16", icmp={"type": 8, "code": -1}))
    assert app.egress == (NaclEntry.make(100, "allow", -1, "0.0.0.0/0"),)


def test_route_tables_with_their_routes_and_associations(state: Snapshot):
    """§9.5-9.6: the adopted default table is the main one; inline routes and aws_route (shown inline too in an
    existing stack's state: one route), the local route added; count and for_each associations; each subnet's
    table is its explicit association."""
    network = state.network
    tables = network.route_tables
    assert [(str(r.destination), r.target) for r in tables[MAIN].routes] == [("10.0.0.0/16", "local")]
    assert [(str(r.destination), r.target) for r in tables[PUBLIC].routes] == [("10.0.0.0/16", "local"),
                                                                               ("0.0.0.0/0", IGW)]
    assert [(str(r.destination), r.target) for r in tables[PRIVATE].routes] == [("10.0.0.0/16", "local"),
                                                                                ("0.0.0.0/0", NAT)]
    assert (tables[MAIN].main, tables[PUBLIC].main, tables[PRIVATE].main) == (True, False, False)
    assert tables[PUBLIC].subnets == (PUBLIC_A, PUBLIC_B) and tables[PRIVATE].subnets == (APP_A,)
    assert {s: network.route_table_of(s).id for s in network.subnets} == {PUBLIC_A: PUBLIC, PUBLIC_B: PUBLIC,
                                                                          APP_A: PRIVATE}
    assert tables[PUBLIC].routes[1].origin.path == "module.network.aws_route_table.public"
    assert network.gateways[IGW].kind is TargetKind.INTERNET_GATEWAY and network.gateways[IGW].vpc == VPC
    nat = network.nat_gateways[NAT]
    assert (nat.subnet, str(nat.private_ip), str(nat.public_ip), nat.eni) == (PUBLIC_A, "10.0.0.9", "198.51.100.9",
                                                                              NAT_ENI)


def test_enis_of_instances_network_interfaces_and_the_nat_gateway(state: Snapshot):
    """§9.5-9.6: an instance's primary ENI (its subnet, groups, public IPv4, Name tag), a second ENI attached as
    device 1 (named after its instance), and the NAT gateway's own ENI, which has no security group."""
    hosts = state.network.hosts
    assert {h.name: (str(h.ip), h.subnet, h.security_groups, h.public_ip and str(h.public_ip), h.instance, h.label)
            for h in hosts.values()} == {
        "eni-5a0e0101": ("10.0.0.10", PUBLIC_A, (WEB,), "203.0.113.10", "i-5a0e0101", "web-0"),
        "eni-5a0e0102": ("10.0.1.10", PUBLIC_B, (WEB,), "203.0.113.11", "i-5a0e0102", "web-1"),
        "eni-5a0e0201": ("10.0.10.20", APP_A, (API,), None, "i-5a0e0201", "api-0"),
        "eni-5a0e0202": ("10.0.10.21", APP_A, (API,), None, "i-5a0e0201", "api-0"),
        NAT_ENI: ("10.0.0.9", PUBLIC_A, (), "198.51.100.9", None, "")}
    assert (hosts[NAT_ENI].interface_type, hosts[NAT_ENI].source_dest_check) == ("nat_gateway", False)
    assert at(state.network, "hosts", NAT_ENI) == "module.network.aws_nat_gateway.this"
    assert at(state.network, "hosts", "eni-5a0e0202") == "aws_network_interface.api_data"


def test_the_engine_runs_on_the_state(state: Snapshot):
    """The model is usable: web-0 reaches api-0 on 8080 (group reference, NACL rule 100), not on 22."""
    engine = Engine(state.network)
    assert engine.decide(Packet.tcp("10.0.0.10", 40000, "10.0.10.20", 8080)).allowed
    assert not engine.decide(Packet.tcp("10.0.0.10", 40000, "10.0.10.20", 22)).allowed


# --- the plan ----------------------------------------------------------------------------------------------------

def only(mapping: FrozenMap, *left_out: str) -> dict:
    return {k: v for k, v in mapping.items() if k not in left_out}


def test_a_plan_is_the_state_plus_its_changes(plan: Snapshot, state: Snapshot):
    """§9.2: a plan's planned_values are the world after apply: everything the plan leaves alone is the state's
    model; what it adds or changes is below."""
    assert plan.kind == "terraform-plan"
    before, after = state.network, plan.network
    for section in ("vpcs", "subnets", "prefix_lists", "nat_gateways", "peerings", "vpc_endpoints"):
        assert getattr(after, section) == getattr(before, section), section
    assert only(after.security_groups, ADMIN_SG, WEB) == only(before.security_groups, WEB)
    assert only(after.hosts, ADMIN_ENI) == dict(before.hosts)
    assert only(after.nacls, DEFAULT_ACL) == only(before.nacls, DEFAULT_ACL)
    assert only(after.route_tables, PRIVATE) == only(before.route_tables, PRIVATE)
    assert only(after.gateways, VGW) == dict(before.gateways)


def test_ids_known_only_after_apply_are_placeholders_linked_through_the_configuration(plan: Snapshot):
    """§9.4: a new group, instance and VPN gateway have unknown ids (placeholders `<prefix>-<address>`, each a
    warning); a rule's source group and a route's gateway are unknown too and found through `references`, across
    a module output of a for_each instance (`module.app["admin"].security_group_id`)."""
    network = plan.network
    admin = network.security_groups[ADMIN_SG]
    assert admin.ingress == (tcp(22, prefix_list=OFFICE),) and admin.egress == (tcp(22, cidr="10.0.0.0/16"),)
    assert network.security_groups[WEB].ingress[-1] == tcp(22, sg=ADMIN_SG)
    assert network.security_groups[WEB].ingress[-1].origin.path == "aws_security_group_rule.web_ssh_from_admin"
    host = network.hosts[ADMIN_ENI]
    assert (str(host.ip), host.subnet, host.security_groups, host.instance, host.label) == (
        "10.0.1.30", PUBLIC_B, (ADMIN_SG,), f"i-{ADMIN}.aws_instance.this[0]", "admin-0")
    route = network.route_tables[PRIVATE].routes[-1]
    assert (str(route.destination), route.target, route.origin.path) == ("172.16.0.0/12", VGW,
                                                                         "module.network.aws_route.private_vpn")
    assert network.gateways[VGW].kind is TargetKind.VPN_GATEWAY and network.gateways[VGW].vpc == VPC
    warned = [str(w) for w in plan.warnings]
    for placeholder in (ADMIN_SG, ADMIN_ENI, VGW):
        assert any(f"placeholder id {placeholder}" in w for w in warned), placeholder


def test_a_public_address_known_only_after_apply_is_a_warning_not_an_address(plan: Snapshot):
    """§9.4, §9.6: associate_public_ip_address is true but public_ip is unknown: no address in the model (so no
    internet path is claimed), and a warning at the instance's address."""
    assert plan.network.hosts[ADMIN_ENI].public_ip is None
    assert ('shop-plan.json: module.app["admin"].aws_instance.this[0]: warning: the public IPv4 address AWS '
            "assigns at launch is known only after apply") in [str(w) for w in plan.warnings]


def test_an_updated_default_nacl_has_its_entries_after_apply(plan: Snapshot):
    """§9.2, §9.5: the plan adds rule 90 (deny telnet) to the adopted default NACL."""
    assert plan.network.nacls[DEFAULT_ACL].ingress == (NaclEntry.make(90, "deny", 6, "0.0.0.0/0", 23),
                                                       NaclEntry.make(100, "allow", -1, "0.0.0.0/0"))


def test_the_engine_uses_rules_between_placeholders(plan: Snapshot):
    """The admin host's placeholder group is a real group to the engine: ssh to web-0 passes (its egress, web's
    rule naming it); telnet is refused by both groups and by the default NACL's new rule 90, cited at its address."""
    engine = Engine(plan.network)
    assert engine.decide(Packet.tcp("10.0.1.30", 40000, "10.0.0.10", 22)).allowed
    telnet = engine.decide(Packet.tcp("10.0.1.30", 40000, "10.0.0.10", 23))
    assert [(g.component, g.id) for g in telnet.blockers] == [("sg", ADMIN_SG), ("nacl", DEFAULT_ACL), ("sg", WEB)]
    nacl = telnet.blockers[1]
    assert nacl.rule.number == 90 and nacl.rule.origin.path == "module.network.aws_default_network_acl.this"


# --- the same VPC from Terraform and from describe JSON -----------------------------------------------------------

def test_describe_json_of_the_vpc_imports_with_no_warning(described: Snapshot):
    """aws-semantics.md §6.1-§6.8 (and aws-routing-terraform.md §8.2, §8.4, §8.7): every output of the fixture is
    one vpclab reads, so nothing is skipped or guessed."""
    assert described.kind == "aws-describe" and described.warnings == []
    assert dict(described.added_defaults) == {}  # describe JSON lists the local routes and the default rules


def test_the_state_and_the_describe_json_of_one_vpc_give_the_same_model(state: Snapshot, described: Snapshot):
    """The property of issue 8: a Terraform state and describe JSON of the same VPC (same ids) give an equal model
    (`==` compares everything but provenance). Both sides express everything this VPC holds, so nothing is
    normalised: the two differences this test found were importer bugs, fixed (a route shown inline and as an
    aws_route counted twice; the NAT gateway's ENI missing from Terraform's model). Only provenance differs."""
    assert state.network == described.network
    assert described.network.hosts[NAT_ENI].origin == Origin("NetworkInterfaces.json", path="$.NetworkInterfaces[4]")
    assert state.network.hosts[NAT_ENI].origin == Origin("shop-state.json", path="module.network.aws_nat_gateway.this")


def test_equal_models_hash_alike(state: Snapshot, described: Snapshot):
    """Python's contract (a == b implies hash(a) == hash(b)); the two sources list groups in another order."""
    assert state.network == described.network and hash(state.network) == hash(described.network)


def test_the_plan_is_the_describe_json_once_the_planned_changes_are_taken_out(plan: Snapshot, described: Snapshot):
    """A plan's after-world is not the account as described: what it adds is taken out (explicitly, here) and the
    default NACL's new entry, the rest is equal. Placeholders cannot be compared with real ids: that is the
    legitimate difference (§9.4)."""
    network = plan.network
    web = network.security_groups[WEB]
    acl = network.nacls[DEFAULT_ACL]
    private = network.route_tables[PRIVATE]
    undone = replace(
        network,
        security_groups=FrozenMap({**only(network.security_groups, ADMIN_SG),
                                   WEB: replace(web, ingress=web.ingress[:-1])}),
        hosts=FrozenMap(only(network.hosts, ADMIN_ENI)),
        nacls=FrozenMap({**network.nacls, DEFAULT_ACL: replace(acl, ingress=acl.ingress[1:])}),
        route_tables=FrozenMap({**network.route_tables, PRIVATE: replace(private, routes=private.routes[:-1])}),
        gateways=FrozenMap(only(network.gateways, VGW)))
    assert undone == described.network


def test_both_models_decide_alike(state: Snapshot, described: Snapshot):
    """Equal models give equal decisions; checked on paths through each kind of gate and route of the VPC."""
    packets = [Packet.tcp("10.0.0.10", 40000, "10.0.10.20", 8080), Packet.tcp("10.0.0.10", 40000, "10.0.10.21", 22),
               Packet.tcp("10.0.10.20", 40000, "198.51.100.50", 443), Packet.tcp("10.0.1.10", 40000, "8.8.8.8", 53),
               Packet.tcp("10.0.10.20", 40000, "10.0.0.10", 8080)]
    engines = Engine(state.network), Engine(described.network)
    for packet in packets:
        first, second = (e.decide(packet) for e in engines)
        assert (first.allowed, first.route.drop_code) == (second.allowed, second.route.drop_code), packet


def test_a_route_to_an_unmodelled_target_is_skipped_with_the_consequence_said(tmp_path: Path):
    """assumptions.md I7: a Terraform route to a target of no kind vpclab models is skipped with a warning at
    its address; the table's other routes then decide (here: none, so traffic to the internet has no route)."""
    text = STATE.read_text().replace('"gateway_id": "igw-5a0e0001"', '"gateway_id": "foo-123"')
    (tmp_path / "state.json").write_text(text)
    snapshot = load_snapshot(tmp_path / "state.json")
    assert [str(r.destination) for r in snapshot.network.route_tables[PUBLIC].routes] == ["10.0.0.0/16"]
    assert [str(w) for w in snapshot.warnings] == [
        ("state.json: module.network.aws_route_table.public: warning: a route to 0.0.0.0/0 via foo-123: skipped (a "
         "target vpclab does not model), so traffic to 0.0.0.0/0 follows the table's other routes (assumptions I7)")]
    verdict = Engine(snapshot.network).evaluate(Packet.tcp("10.0.0.10", 40000, "198.51.100.50", 443), 0.0)
    assert not verdict.allowed and verdict.code == codes.NO_ROUTE_TO_DESTINATION
