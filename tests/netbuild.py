"""Compact network builders for tests, in the shape of the lab file (dicts of rules), through the one assembler."""

from __future__ import annotations

from vpclab.load import Assembler, assemble
from vpclab.load.spec import SgSpec
from vpclab.model import ModelError, NaclEntry, Network, SecurityGroup, SgRule


def rule(spec: dict) -> SgRule:
    assembler = Assembler()
    return assembler.result(assembler.sg_rule((), spec), ModelError)


def entry(spec: dict) -> NaclEntry:
    assembler = Assembler()
    return assembler.result(assembler.nacl_entry((), spec), ModelError)


def group(gid: str, ingress: list[dict] = (), egress: list[dict] | None = None, ipv6: bool = False) -> SecurityGroup:
    """A group; `egress=None` means AWS's default allow-all egress."""
    assembler = Assembler()
    spec = SgSpec.model_validate({"ingress": list(ingress), "egress": egress})
    return assembler.result(assembler.security_group(gid, spec, ipv6), ModelError)


def build(groups: dict[str, dict], hosts: dict[str, dict], subnets: dict[str, dict] | None = None,
          nacls: dict[str, dict] | None = None, prefix_lists: dict[str, list[str]] | None = None,
          vpc: str = "198.18.0.0/16", ipv6_cidr: str | None = None) -> Network:
    subnets = subnets if subnets is not None else {"a": {"cidr": "198.18.1.0/24"}, "b": {"cidr": "198.18.2.0/24"}}
    return assemble({"vpc": {"cidr": vpc, "ipv6_cidr": ipv6_cidr}, "subnets": subnets, "nacls": nacls or {},
                     "prefix_lists": prefix_lists or {}, "security_groups": groups, "hosts": hosts}, error=ModelError)


ALL_OUT = [{"proto": "-1", "cidr": "0.0.0.0/0"}]
