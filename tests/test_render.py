"""The pure nftables renderers: what each namespace's ruleset says, checked without touching the kernel."""

import json

from vpclab.engine import Engine
from vpclab.kernel.plan import Plan
from vpclab.kernel.render import router_ruleset, sg_ruleset
from vpclab.kernel.topology import commands
from vpclab.lab.catalog import load


def rules(ruleset, chain):
    return [c["add"]["rule"] for c in ruleset["nftables"] if "rule" in c.get("add", {}) and
            c["add"]["rule"]["chain"] == chain]


def test_sg_ruleset_accepts_established_then_judges_new_packets_by_the_allow_rules():
    net = load("beating-security-groups").network
    ruleset = sg_ruleset(Engine(net), "testb")
    eni = rules(ruleset, "eni")
    assert eni[0]["expr"][0] == {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "established"}}
    assert [r["expr"][-1] for r in eni[1:]] == [{"jump": {"target": "sg_out"}}, {"jump": {"target": "sg_in"}}]
    (rule,) = rules(ruleset, "sg_in")
    lab_file = net.security_groups["sg-testb"].origin.file
    line = net.security_groups["sg-testb"].ingress[0].origin.line
    assert rule["comment"] == f"sg-testb ingress rule 1 @ {lab_file}:{line}"  # the rule, and where it was written
    assert rule["expr"][:2] == [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": {"prefix": {"addr": "198.18.0.0", "len": 16}}}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 4321}}]
    chains = [c["add"]["chain"] for c in ruleset["nftables"] if "chain" in c.get("add", {})]
    assert {"name": "eni", "hook": "forward", "policy": "drop"}.items() <= next(
        c for c in chains if c["name"] == "eni").items()
    assert not any("delete" in c for c in ruleset["nftables"])  # changes never recreate the table


def test_untracked_flows_get_notrack_exactly_where_the_engine_treats_them_as_untracked():
    """aws-semantics.md §2.2 worked example: HTTP from 0.0.0.0/0 untracked, SSH from a /32 tracked."""
    net = load("tracked-vs-untracked").network
    notrack = rules(sg_ruleset(Engine(net), "web"), "raw_pre")
    text = json.dumps(notrack)
    assert '"field": "dport"}}, "right": 80}' in text  # inbound HTTP opens untracked flows
    assert '"field": "dport"}}, "right": 22}' not in text  # SSH from one address stays tracked
    assert all(r["expr"][-1] == {"notrack": None} for r in notrack)
    responses = [r for r in notrack if '"sport"' in json.dumps(r)]
    assert responses and all('"syn"' in json.dumps(r) for r in responses if '"tcp"' in json.dumps(r))


def test_group_references_render_as_the_members_private_addresses():
    net = load("stateful-statelessness").network
    from vpclab.model import Direction, SgRule
    net = net.authorize("sg-b", Direction.INGRESS, SgRule.make("tcp", 22, sg="sg-a"))
    text = json.dumps(rules(sg_ruleset(Engine(net), "b"), "sg_in"))
    assert '"right": "198.18.1.10"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp"' in text


def test_router_ruleset_has_nacl_chains_in_number_order_ending_with_the_star_drop():
    net = load("nacl-stateless").network
    ruleset = router_ruleset(Engine(net), Plan.make(net, "vl000000"))
    out_b = rules(ruleset, "out_1")
    assert [r.get("comment").split(" @ ")[0] for r in out_b] == ["rule 100", "rule *"]
    assert out_b[-1]["expr"][-1] == {"drop": None} and out_b[0]["expr"][-1] == {"return": None}
    forward = [r.get("comment") for r in rules(ruleset, "forward")]
    assert forward == ["subnet a is private", "subnet a is private", "subnet b is private", "subnet b is private",
                       "client has no public IP", "web has no public IP", "neighbour has no public IP",
                       "subnet a egress", "subnet b egress", "subnet a ingress", "subnet b ingress"]


def test_internet_gateway_translates_public_addresses_statelessly():
    net = load("tracked-vs-untracked").network
    ruleset = router_ruleset(Engine(net), Plan.make(net, "vl000000"))
    pre = json.dumps(rules(ruleset, "pre"))
    post = json.dumps(rules(ruleset, "post"))
    assert '"mangle": {"key": {"payload": {"protocol": "ip", "field": "daddr"}}, "value": "198.18.1.10"}' in pre
    assert '"mangle": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "value": "198.51.100.10"}' in post


def test_topology_creates_everything_inside_lab_namespaces():
    net = load("tighten-egress").network
    plan = Plan.make(net, "vlabcdef")
    built = commands(net, plan)
    assert all(line.startswith("netns add vlabcdef-") for line in built.create)
    for stage in built.stages:
        assert all(ns.startswith("vlabcdef-") for ns in stage)
        for lines in stage.values():
            for line in lines:
                if " netns " in line:
                    assert line.split(" netns ")[1].startswith("vlabcdef-")
