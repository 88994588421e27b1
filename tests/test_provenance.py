"""Provenance: every security group and NACL decision of every built-in lab names the line it came from.

The origin travels from the lab file through the assembler onto the model object, into the compiled rule, into
each trace step (`--json` `"source": "FILE:LINE"`, `--verbose`) and into the kernel's nftables comments.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

from vpclab.engine import Engine
from vpclab.kernel.plan import Plan
from vpclab.kernel.render import router_ruleset, sg_ruleset
from vpclab.lab.catalog import builtin_names, load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend


def lab_lines(name: str) -> list[str]:
    text = resources.files("vpclab.lab.builtin").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return text.splitlines()


def cited_line(name: str, source: str) -> str:
    match = re.fullmatch(rf"builtin:{re.escape(name)}:(\d+)", source)
    assert match, source
    return lab_lines(name)[int(match.group(1)) - 1]


def sg_and_nacl_steps(name: str) -> list[dict]:
    result = run_lab(load(name), SimBackend())
    return [step for s in result.steps for packet in s.packets for step in packet["trace"]
            if step["component"] in ("sg", "nacl")]


@pytest.mark.parametrize("name", builtin_names())
def test_every_sg_and_nacl_step_cites_the_line_that_decided_it(name):
    steps = sg_and_nacl_steps(name)
    assert steps
    for step in steps:
        assert "source" in step, step
        line = cited_line(name, step["source"])
        rule = step.get("rule", "")
        if step["component"] == "sg" and rule:  # a rule: its own line, or its group's for AWS's default egress
            assert "proto:" in line or re.search(rf"\b{re.escape(step['id'])}:", line), (step, line)
        elif step["component"] == "sg":  # no rule admitted it: the group where one would be added
            first_group = step["id"].split(", ")[0]
            assert re.search(rf"\b{re.escape(first_group)}:", line), (step, line)
        elif rule and rule != "*":  # a numbered NACL entry (the default NACL's: the VPC, which AWS makes it with)
            assert f"rule: {rule}" in line or (step["id"] == "default" and line.startswith("vpc:")), (step, line)
        else:  # the `*` deny or "not evaluated": the NACL's own line, or the VPC's for its default NACL
            assert re.search(rf"\b{re.escape(step['id'])}:", line) or line.startswith("vpc:"), (step, line)


def test_rules_added_by_a_step_cite_the_step():
    """beating-security-groups re-authorizes nothing, but tighten-egress authorizes an egress rule in a step."""
    name = "tighten-egress"
    lab = load(name)
    added = [s for s in lab.steps if s.action == "authorize"]
    assert added
    for step in added:
        network = step.network
        group = network.security_groups[step.spec.sg]
        rules = group.egress if step.spec.egress is not None else group.ingress
        origins = {r.origin.line for r in rules}
        assert step.line in origins  # the rule the step added carries the step's line


def test_conntrack_decisions_cite_the_rule_that_opened_the_connection():
    """beating-security-groups: after the rule is revoked, the tracked connection still cites where its rule was."""
    name = "beating-security-groups"
    result = run_lab(load(name), SimBackend())
    tracked = [step for s in result.steps for p in s.packets for step in p["trace"] if step["component"] == "conntrack"]
    assert tracked and all("proto:" in cited_line(name, step["source"]) or "sg-" in cited_line(name, step["source"])
                           for step in tracked)


def test_kernel_rules_cite_the_model_rule_and_its_line():
    name = "nacl-stateless"
    lab = load(name)
    engine = Engine(lab.network)
    comments = [c["add"]["rule"].get("comment", "") for c in sg_ruleset(engine, "web")["nftables"]
                if "rule" in c.get("add", {})]
    cited = [c for c in comments if c.startswith("sg-web ingress rule 1 @ ")]
    assert cited and "proto: tcp, ports: 80" in cited_line(name, cited[0].split(" @ ")[1])
    router = router_ruleset(engine, Plan.make(lab.network, "vl000000"))
    nacl = [c["add"]["rule"]["comment"] for c in router["nftables"]
            if "rule" in c.get("add", {}) and c["add"]["rule"].get("comment", "").startswith("rule 100 @ ")]
    lines = [cited_line(name, c.split(" @ ")[1]) for c in nacl]
    assert any("rule: 100" in line for line in lines)
    assert all("rule: 100" in line or line.startswith("vpc:") for line in lines)
