"""The one assembler: plain data → Network, every object placed where its locator says; problems placed alike."""

from importlib import resources

import pytest
import yaml

from vpclab.errors import InputError, Origin, Problem
from vpclab.lab.catalog import builtin_names
from vpclab.lab.defaults import with_default_group
from vpclab.lab.loader import Lab, parse_lab
from vpclab.load import Assembler, Path, assemble
from vpclab.model import ALL, ModelError, Network

from netbuild import entry, rule

LAB = """\
lab: origins
title: Every object knows the line it was written on
vpc:
  cidr: 198.18.0.0/16
subnets:
  a:
    cidr: 198.18.1.0/24
  b: {cidr: 198.18.2.0/24, nacl: strict}
nacls:
  strict:
    ingress:
      - {rule: 100, action: allow, proto: tcp, ports: 22, cidr: 0.0.0.0/0}
      - {rule: 110, action: deny, proto: icmp, icmp: {type: 8}, cidr: 198.18.1.0/24}
    egress:
      - {rule: 100, action: allow, proto: tcp, ports: 32768-60999, cidr: 0.0.0.0/0}
prefix_lists:
  pl-mirrors: [203.0.113.0/24]
security_groups:
  sg-a: {}
  sg-b:
    ingress:
      - {proto: tcp, ports: 22, cidr: 198.18.0.0/16}
      - {proto: tcp, ports: 22, sg: sg-a}
      - {proto: udp, ports: 53, prefix_list: pl-mirrors, description: dns}
    egress:
      - {proto: -1, cidr: 198.18.0.0/16}
hosts:
  ha: {subnet: a, ip: 198.18.1.10, security_groups: [sg-a]}
  hb: {subnet: b, ip: 198.18.2.20, security_groups: [sg-b]}
  mirror: {internet: true, ip: 203.0.113.10}
steps:
  - authorize: {sg: sg-a, ingress: {proto: tcp, ports: 443, cidr: 198.18.2.0/24}}
  - nacl_entry: {nacl: strict, ingress: {rule: 90, action: deny, proto: udp, ports: 53, cidr: 198.18.1.0/24}}
"""

#: The network part of a lab, as an AWS importer would hand it over (plain data, no YAML).
DATA = {
    "vpc": {"cidr": "10.0.0.0/16"},
    "subnets": {"app": {"cidr": "10.0.1.0/24", "nacl": "acl-app"}, "db": {"cidr": "10.0.2.0/24"}},
    "nacls": {"acl-app": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 443,
                                       "cidr": "0.0.0.0/0"}],
                          "egress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]}},
    "prefix_lists": {"pl-s3": ["52.216.0.0/15"]},
    "security_groups": {
        "sg-web": {"ingress": [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
                               {"proto": "tcp", "ports": 22, "prefix_list": "pl-s3"}]},
        "sg-db": {"ingress": [{"proto": "tcp", "ports": 5432, "sg": "sg-web"}],
                  "egress": [{"proto": "tcp", "ports": 443, "prefix_list": "pl-s3"}]},
    },
    "hosts": {"web": {"subnet": "app", "ip": "10.0.1.10", "security_groups": ["sg-web"]},
              "db": {"subnet": "db", "ip": "10.0.2.20", "security_groups": ["sg-db"]}},
}
GROUPS = {"sg-web": 0, "sg-db": 1}


def describe(path: Path) -> Origin:
    """Place paths as a describe-JSON importer would: groups and their rules in sg.json, the rest in vpc.json."""
    if path[0] == "security_groups":
        where = f"$.SecurityGroups[{GROUPS[path[1]]}]"
        if len(path) > 2:
            where += f".{'IpPermissions' if path[2] == 'ingress' else 'IpPermissionsEgress'}[{path[3]}]"
        return Origin("sg.json", path=where + "".join(f".{p}" for p in path[4:]))
    return Origin("vpc.json", path="$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path))


def mappings(value: object):
    """Every mapping in a parsed YAML value, outermost first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from mappings(item)
    elif isinstance(value, list):
        for item in value:
            yield from mappings(item)


def line(text: str, origin: Origin) -> str:
    return text.splitlines()[origin.line - 1]


def written_on(text: str, origin: Origin, make) -> list:
    """What `make` builds from each mapping written on the origin's line: the line really holds the object."""
    made = []
    for mapping in mappings(yaml.safe_load(line(text, origin).strip().removeprefix("- "))):
        try:
            made.append(make(mapping))
        except ModelError:
            pass
    return made


def networks(lab: Lab) -> list[Network]:
    """The lab's network and the network after each of its changes."""
    return [lab.network] + [step.network for step in lab.steps if step.network is not None]


def assert_rules_and_entries_are_on_their_lines(text: str, file: str, network: Network) -> None:
    for group in network.security_groups.values():
        for r in group.ingress + group.egress:
            assert r.origin.file == file
            default_egress = r.origin == group.origin and r.protocol == ALL and r.peer.is_world
            added_default = group.id == "default" and r.origin == network.vpc.origin  # AWS's, made with the VPC
            assert default_egress or added_default or r in written_on(text, r.origin, rule), (group.id, r)
    for acl in network.nacls.values():
        for e in acl.ingress + acl.egress:
            default = acl.id == "default" and e.origin == network.vpc.origin
            assert default or e in written_on(text, e.origin, entry), (acl.id, e)


def test_every_object_of_a_lab_carries_the_file_and_line_it_was_written_on():
    lab = parse_lab(LAB, "origins.yaml")
    net = lab.network
    assert net.vpc.origin == Origin("origins.yaml", 3) and line(LAB, net.vpc.origin).startswith("vpc:")
    named = [*net.subnets.values(), *net.hosts.values()]
    named_by_id = [*(sg for sg in net.security_groups.values() if sg.id != "default"), *net.prefix_lists.values(),
                   *(acl for acl in net.nacls.values() if acl.id != "default")]
    assert net.security_groups["default"].origin == net.vpc.origin  # AWS's default group, made with the VPC
    for name, obj in [(o.name, o) for o in named] + [(o.id, o) for o in named_by_id]:
        assert obj.origin.file == "origins.yaml"
        assert line(LAB, obj.origin).strip().startswith(f"{name}:"), (name, obj.origin)
    for network in networks(lab):
        assert_rules_and_entries_are_on_their_lines(LAB, "origins.yaml", network)


def test_a_group_without_egress_gets_the_default_egress_placed_where_the_group_is():
    net = parse_lab(LAB, "origins.yaml").network
    sg_a = net.security_groups["sg-a"]
    assert [r.origin for r in sg_a.egress] == [sg_a.origin] and line(LAB, sg_a.origin) == "  sg-a: {}"


def test_the_default_nacl_added_for_the_vpc_is_cited_at_the_vpc():
    """AWS creates a VPC's default NACL with the VPC, so its entries are cited where the VPC is written."""
    net = parse_lab(LAB, "origins.yaml").network
    acl = net.nacls["default"]
    assert acl.origin == net.vpc.origin and all(e.origin == net.vpc.origin for e in acl.ingress + acl.egress)


def test_rules_added_by_change_steps_carry_the_line_of_the_step():
    lab = parse_lab(LAB, "origins.yaml")
    authorize, nacl_entry = lab.steps
    added = authorize.network.security_groups["sg-a"].ingress[-1]
    assert added.origin == Origin("origins.yaml", authorize.line) and added.ports.first == 443
    entry_90 = nacl_entry.network.nacls["strict"].ingress[0]
    assert entry_90.number == 90 and entry_90.origin == Origin("origins.yaml", nacl_entry.line)


@pytest.mark.parametrize("name", builtin_names())
def test_every_rule_of_a_builtin_lab_is_written_on_its_origin_line(name):
    text = resources.files("vpclab.lab.builtin").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    lab = parse_lab(text, f"builtin:{name}")
    for network in networks(lab):
        assert_rules_and_entries_are_on_their_lines(text, f"builtin:{name}", network)


def test_plain_data_with_a_json_path_locator_places_every_object_in_the_json():
    net = assemble(DATA, describe)
    assert net.vpc.origin == Origin("vpc.json", path="$.vpc")
    assert net.subnets["app"].origin == Origin("vpc.json", path="$.subnets.app")
    assert net.hosts["db"].origin == Origin("vpc.json", path="$.hosts.db")
    assert net.prefix_lists["pl-s3"].origin == Origin("vpc.json", path="$.prefix_lists.pl-s3")
    assert net.nacls["acl-app"].origin == Origin("vpc.json", path="$.nacls.acl-app")
    assert net.nacls["acl-app"].egress[0].origin == Origin("vpc.json", path="$.nacls.acl-app.egress[0]")
    for gid, group in net.security_groups.items():
        assert group.origin == Origin("sg.json", path=f"$.SecurityGroups[{GROUPS[gid]}]")
        for index, r in enumerate(group.ingress):
            assert r.origin == Origin("sg.json", path=f"$.SecurityGroups[{GROUPS[gid]}].IpPermissions[{index}]")
    assert net.security_groups["sg-db"].egress[0].origin.path == "$.SecurityGroups[1].IpPermissionsEgress[0]"
    assert str(net.security_groups["sg-web"].ingress[1].origin) == "sg.json: $.SecurityGroups[0].IpPermissions[1]"


def test_problems_are_placed_by_the_locator_and_named_by_their_field():
    bad = {**DATA, "security_groups": {**DATA["security_groups"],
                                       "sg-db": {"ingress": [{"proto": "tcp", "ports": 70000, "sg": "sg-web"}]}}}
    with pytest.raises(InputError) as error:
        assemble(bad, describe)
    [problem] = error.value.problems
    assert problem.field == "security_groups.sg-db.ingress[1].ports"
    assert problem.origin == Origin("sg.json", path="$.SecurityGroups[1].IpPermissions[0].ports")
    assert "0-65535" in problem.message


def test_every_problem_is_reported_at_once_but_not_again_through_what_failed():
    bad = {**DATA, "colour": "red",
           "subnets": {**DATA["subnets"], "db": {"cidr": "10.0.2.0/33"}},
           "security_groups": {"sg-web": {"ingress": [{"proto": "tcpx", "ports": 443, "cidr": "0.0.0.0/0"}]},
                               "sg-db": {"ingress": [{"proto": "tcp", "ports": 5432, "sg": "sg-nope"}]}},
           "hosts": {**DATA["hosts"], "web": {"subnet": "app", "ip": "10.0.7.10", "security_groups": ["sg-web"]}}}
    with pytest.raises(InputError) as error:
        assemble(bad, describe)
    assert [(p.field, p.origin) for p in error.value.problems] == [
        ("colour", Origin("vpc.json", path="$.colour")),
        ("subnets.db.cidr", Origin("vpc.json", path="$.subnets.db.cidr")),
        ("security_groups.sg-web.ingress[1].proto",
         Origin("sg.json", path="$.SecurityGroups[0].IpPermissions[0].proto")),
        ("hosts.web.ip", Origin("vpc.json", path="$.hosts.web.ip")),
        ("security_groups.sg-db.ingress[1].sg", Origin("sg.json", path="$.SecurityGroups[1].IpPermissions[0].sg")),
    ]  # not reported again: db's subnet and web's group, which failed above


def test_without_a_locator_origins_are_none_and_the_error_class_is_the_callers():
    net = assemble(DATA)
    assert net.vpc.origin is None and net.security_groups["sg-web"].ingress[0].origin is None
    with pytest.raises(InputError) as error:
        assemble({"vpc": {"cidr": "10.0.0.0/16"}, "hostz": {}})
    assert type(error.value) is InputError
    assert [str(p) for p in error.value.problems] == [
        "hostz: unknown key 'hostz' (did you mean 'hosts'?): expected one of vpc, subnets, nacls, prefix_lists, security_groups, hosts",
        "hosts: this key is required"]
    with pytest.raises(ModelError):
        assemble({"vpc": {"cidr": "10.0.0.0/16"}, "hosts": {}, "subnets": {"a": {"cidr": "nope"}}}, error=ModelError)


def test_origins_do_not_change_equality_or_hashes():
    plain, placed = assemble(DATA), assemble(DATA, describe)
    assert plain == placed and hash(plain) == hash(placed)
    assert plain.security_groups["sg-db"].origin != placed.security_groups["sg-db"].origin


def test_a_lab_and_the_same_plain_data_assemble_to_the_same_network():
    data = {k: v for k, v in yaml.safe_load(LAB).items() if k not in ("lab", "title", "steps")}
    assert assemble(with_default_group(data)) == parse_lab(LAB, "origins.yaml").network


def test_the_rule_builders_place_one_rule_or_entry_at_a_path_and_report_alike():
    assembler = Assembler(describe)
    made = assembler.sg_rule(("security_groups", "sg-web", "egress", 3), {"proto": "udp", "ports": 53,
                                                                          "cidr": "10.0.0.2/32"})
    assert made is not None and made.origin == Origin("sg.json", path="$.SecurityGroups[0].IpPermissionsEgress[3]")
    acl_entry = assembler.nacl_entry(("nacls", "acl-app", "ingress", 4), {"rule": 90, "action": "deny",
                                                                         "proto": "-1", "cidr": "10.9.0.0/16"})
    assert acl_entry is not None and acl_entry.origin == Origin("vpc.json", path="$.nacls.acl-app.ingress[4]")
    assert assembler.sg_rule(("security_groups", "sg-db", "ingress", 0), {"proto": "tcp", "cidr": "::/0"}) is None
    assert assembler.problems == [Problem("security_groups.sg-db.ingress[1].ports",
                                          "tcp rules need ports: expected a port or FROM-TO",
                                          Origin("sg.json", path="$.SecurityGroups[1].IpPermissions[0].ports"))]
