"""Plain data in the lab file's shape → a validated `Network` whose every object knows where it came from.

The one way into the model for every front door (lab YAML, AWS describe JSON, Terraform JSON): each front door
turns its input into this shape and passes a locator that places any path of it in the original input.
"""

from __future__ import annotations

import re
import types
from dataclasses import replace
from collections.abc import Callable, Mapping
from ipaddress import IPv4Network, IPv6Network
from typing import TypeVar

from vpclab.errors import InputError, Problem
from vpclab.gc_pause import collector_paused
from vpclab.load.checker import Locator
from vpclab.load.problems import Path, guess_field, model_path
from vpclab.load.quotas import Key, quota_warnings
from vpclab.load.refusals import nacl_entry_refusal, sg_rule_refusal
from vpclab.load.routing import RoutingBuilder
from vpclab.load.spec import (DocumentSpec, HostSpec, NaclRuleSpec, NaclSpec, NetworkSpec, PrefixListSpec, SgRuleSpec,
                              SgSpec, SubnetSpec, VpcEntrySpec, VpcSpec)
from vpclab.model import (ConntrackSettings, Direction, Host, ModelError, NaclEntry, Network, NetworkAcl, PortRange,
                          PrefixList, SecurityGroup, SgRule, Subnet, Vpc, parse_cidr, parse_ip)
from vpclab.model.frozen import FrozenMap

T = TypeVar("T")
RuleSpec = TypeVar("RuleSpec", SgRuleSpec, NaclRuleSpec)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
SECTIONS = ("subnets", "nacls", "prefix_lists", "security_groups", "hosts")


GroupRuleRewrite = Callable[[str, str, int, object, Mapping[str, object]], object]


def map_group_rules(data: Mapping[str, object], rewrite: GroupRuleRewrite) -> Mapping[str, object]:
    """`data` with every security group's rules passed through `rewrite(group, direction, index, rule, groups)`,
    which returns the rule to keep (changed or not) or None to leave it out; other data as it is."""
    groups = data.get("security_groups")
    if not isinstance(groups, dict):
        return data
    changed: dict[str, object] = {}
    for gid, group in groups.items():
        if not isinstance(group, dict):
            continue
        kept_group = dict(group)
        for direction in ("ingress", "egress"):
            rules = group.get(direction)
            if isinstance(rules, list):
                rewritten = (rewrite(gid, direction, index, rule, groups) for index, rule in enumerate(rules))
                kept_group[direction] = [rule for rule in rewritten if rule is not None]
        changed[gid] = kept_group
    return {**data, "security_groups": {**groups, **changed}}


def assemble(data: Mapping[str, object], locate: Locator | None = None,
             error: type[InputError] = InputError) -> Network:
    """The network `data` describes, each object's `origin` given by `locate(its path)`.

    Raises `error` with every problem found, each with its field name and `locate(its path)`.
    """
    assembler = Assembler(locate)
    return assembler.result(assembler.network(assembler.sections(NetworkSpec, data)), error)


@collector_paused()
def assemble_document(data: Mapping[str, object], locate: Locator | None = None) -> tuple[Network, Assembler]:
    """An importer's network document (docs/network-data.md: several VPCs, route tables, gateways; AWS ids as
    names) → the network, and the assembler with its warnings and the AWS defaults it added (`added`)."""
    assembler = Assembler(locate, document=True)
    data = assembler.resolve_foreign_groups(data)
    return assembler.result(assembler.network(assembler.sections(DocumentSpec, data))), assembler


class Assembler(RoutingBuilder):
    """Builds model objects from checked specs, recording problems; a problem an object causes only because
    another one failed is not reported again. AWS quotas the network exceeds are warnings (`quotas`).

    A lab's names are short words; a document's are AWS ids or Terraform addresses (`document=True`)."""

    def __init__(self, locate: Locator | None = None, document: bool = False) -> None:
        super().__init__(locate)
        self.quotas: dict[Key, Problem] = {}
        self.document = document

    def network(self, spec: types.SimpleNamespace) -> Network | None:
        """The network of checked sections (from `sections(NetworkSpec, data)`), or None after problems.

        Every entry that passed its own checks is built, so cross-references are checked too; a reference to an
        entry that failed is not reported again.
        """
        if not self.document:
            for section in SECTIONS:
                for name in getattr(spec, section) or {}:
                    if not NAME.match(name):
                        self.fail((section, name), f"{name!r} is not a valid name: expected letters, digits, - and _")
        vpcs = self.vpcs(spec)
        ipv6 = any(v.ipv6_cidr is not None for v in vpcs.values())
        sole = next(iter(vpcs)) if len(vpcs) == 1 else None
        default_nacls = self.default_nacls(spec, vpcs, sole)
        subnets = self.built("subnets", spec.subnets, lambda n, s: self.subnet(n, s, sole, default_nacls))
        nacls = self.built("nacls", spec.nacls, self.nacl)
        prefix_lists = self.built("prefix_lists", spec.prefix_lists, self.prefix_list)
        groups = self.built("security_groups", spec.security_groups, lambda n, g: self.security_group(n, g, ipv6))
        hosts = self.built("hosts", spec.hosts, self.host)
        if not vpcs or spec.hosts is None:
            return None
        for vpc_id, acl in default_nacls.items():  # AWS creates the default NACL with the VPC: cited there
            if not any(n.id == acl for n in nacls):
                vpc = vpcs[vpc_id]
                nacls.append(NetworkAcl.default(acl, ipv6=vpc.ipv6_cidr is not None, origin=vpc.origin))
                self.added["default_nacls"] += 1
        routing = self.routing(spec, vpcs) if self.document else {}
        clean = not self.errors  # entries that failed their checks are missing from what follows
        network = Network(FrozenMap(vpcs), *(FrozenMap({getattr(o, k): o for o in objs}) for objs, k in (
            (subnets, "name"), (hosts, "name"), (groups, "id"), (nacls, "id"), (prefix_lists, "id"))), **routing)
        mains = sum(1 for t in network.route_tables if t not in routing.get("route_tables", {}))
        if mains:
            self.added["main_route_tables"] += mains
        try:
            network.validate()
        except ModelError as error:
            # a host in a subnet that failed cannot be checked against it: none of its problems are reported
            homeless = {("hosts", h.name) for h in hosts if h.subnet in self.failed.get("subnets", ())}
            for problem in error.problems:
                path = model_path(problem.field)
                if not self.consequence(problem.message) and path[:2] not in homeless:
                    self.fail(path, problem.message)
            return None
        if not clean:
            return None
        self.quotas = quota_warnings(network)
        self.problems.extend(self.quotas.values())
        return network

    def resolve_foreign_groups(self, data: Mapping[str, object]) -> Mapping[str, object]:
        """Rules naming a group of another account (`111122223333/sg-1`, across a peering, aws-semantics.md §1.4):
        the group itself when the snapshot holds it; else the rule is left out with a warning, since vpclab cannot
        know that group's members."""
        def resolve(gid: str, direction: str, index: int, rule: object, groups: Mapping[str, object]) -> object:
            peer = rule.get("sg") if isinstance(rule, dict) else None
            if not (isinstance(peer, str) and "/" in peer):
                return rule
            own = peer.rsplit("/", 1)[1]
            if own not in groups:
                self.warn(("security_groups", gid, direction, index),
                          f"references {peer}, a group of another account not in this snapshot: left out "
                          "(its members are unknown here)")
                return None
            return {**rule, "sg": own}  # type: ignore[dict-item]

        return map_group_rules(data, resolve)

    def vpcs(self, spec: types.SimpleNamespace) -> dict[str, Vpc]:
        """The lab's `vpc` (id `vpc`) and a document's `vpcs`."""
        vpcs: dict[str, Vpc] = {}
        if spec.vpc is not None:
            vpc = self.vpc(spec.vpc)
            if vpc is not None:
                vpcs[vpc.id] = vpc
        for vid, entry in (getattr(spec, "vpcs", None) or {}).items():
            vpc = self.document_vpc(vid, entry)
            if vpc is not None:
                vpcs[vid] = vpc
        if not vpcs and spec.vpc is None and not getattr(spec, "vpcs", None):
            self.fail(("vpcs",), "expected at least one VPC (`vpc` or `vpcs`)")
        return vpcs

    def document_vpc(self, vid: str, entry: VpcEntrySpec) -> Vpc | None:
        """A VPC of a document: its CIDRs in order, the first IPv4 one primary."""
        path: Path = ("vpcs", vid)
        v4 = [c for i, value in enumerate(entry.cidrs) if (c := self.cidr(path + ("cidrs", i), value, 4)) is not None]
        v6 = [c for i, value in enumerate(entry.ipv6_cidrs)
              if (c := self.cidr(path + ("ipv6_cidrs", i), value, 6)) is not None]
        if not v4:
            self.fail(path + ("cidrs",), "expected at least one IPv4 CIDR")
            return None
        return Vpc(v4[0], v6[0] if v6 else None, vid, self.locate(path), tuple(v4[1:]), tuple(v6[1:]),  # type: ignore[arg-type]
                   entry.account, entry.region, entry.name)

    def default_nacls(self, spec: types.SimpleNamespace, vpcs: dict[str, Vpc], sole: str | None) -> dict[str, str]:
        """Each VPC's default NACL: the one the document marks `default`, else one vpclab adds (a lab's is
        `default`)."""
        marked = {(acl.vpc or sole): name for name, acl in (spec.nacls or {}).items() if acl.default}
        return {vid: marked.get(vid) or ("default" if not self.document else f"acl-default-{vid}") for vid in vpcs}

    def built(self, section: str, entries: dict[str, T] | None, make: Callable[[str, T], object | None]) -> list:
        """The objects `make` builds from a section's checked entries; the names of those it cannot build are
        remembered as failed."""
        made = []
        for name, entry in (entries or {}).items():
            obj = make(name, entry)
            if obj is None:
                self.failed.setdefault(section, set()).add(name)
            else:
                made.append(obj)
        return made

    def vpc(self, spec: VpcSpec) -> Vpc | None:
        cidr = self.cidr(("vpc", "cidr"), spec.cidr, 4)
        ipv6 = self.cidr(("vpc", "ipv6_cidr"), spec.ipv6_cidr, 6) if spec.ipv6_cidr else None
        if not isinstance(cidr, IPv4Network):
            return None
        return Vpc(cidr, ipv6, origin=self.locate(("vpc",)))  # type: ignore[arg-type]

    def cidr(self, path: Path, value: str, version: int) -> IPv4Network | IPv6Network | None:
        """A CIDR of IP `version`, or None after reporting why not."""
        try:
            network = parse_cidr(value)
        except ModelError as error:
            self.model_error(path, error)
            return None
        if network.version != version:
            self.fail(path, f"{value} is not an IPv{version} CIDR: expected an IPv{version} address block")
            return None
        return network

    def subnet(self, name: str, spec: SubnetSpec, sole: str | None, default_nacls: dict[str, str]) -> Subnet | None:
        path: Path = ("subnets", name)
        cidr = self.cidr(path + ("cidr",), spec.cidr, 4)
        ipv6 = self.cidr(path + ("ipv6_cidr",), spec.ipv6_cidr, 6) if spec.ipv6_cidr else None
        if cidr is None:
            return None
        vpc = spec.vpc or sole or ""
        nacl = spec.nacl or default_nacls.get(vpc, "default")
        return Subnet(name, cidr, ipv6, nacl, spec.public, self.locate(path), vpc,  # type: ignore[arg-type]
                      spec.zone, spec.name)

    def prefix_list(self, name: str, cidrs: list[str] | PrefixListSpec) -> PrefixList | None:
        path: Path = ("prefix_lists", name)
        try:
            return PrefixList.make(name, cidrs.cidrs if isinstance(cidrs, PrefixListSpec) else cidrs,
                                   origin=self.locate(path))
        except ModelError as error:
            self.model_error(path, error)
            return None

    def nacl(self, name: str, spec: NaclSpec) -> NetworkAcl | None:
        acl = NetworkAcl.custom(name, origin=self.locate(("nacls", name)))
        ok = True
        for direction in Direction:
            for index, rule in enumerate(getattr(spec, direction.value)):
                path = ("nacls", name, direction.value, index)
                entry = self.nacl_entry(path, rule)
                if entry is None:
                    ok = False
                    continue
                try:
                    acl = acl.with_entry(direction, entry)
                except ModelError as error:
                    self.model_error(path + ("rule",), error)
                    ok = False
        return acl if ok else None

    def nacl_entry(self, path: Path, data: NaclRuleSpec | Mapping[str, object]) -> NaclEntry | None:
        """One NACL entry from its spec (or plain data) at `path`, or None after reporting its problems."""
        origin = self.locate(path)
        return self._rule(path, NaclRuleSpec, data, lambda spec, icmp: NaclEntry.make(
            spec.rule, spec.action, spec.proto, spec.cidr, spec.ports, icmp, origin=origin), nacl_entry_refusal)

    def sg_rule(self, path: Path, data: SgRuleSpec | Mapping[str, object]) -> SgRule | None:
        """One security group rule from its spec (or plain data) at `path`, or None after reporting its problems."""
        origin = self.locate(path)
        return self._rule(path, SgRuleSpec, data, lambda spec, icmp: SgRule.make(
            spec.proto, spec.ports, cidr=spec.cidr, sg=spec.sg, prefix_list=spec.prefix_list, icmp=icmp,
            description=spec.description, origin=origin), sg_rule_refusal)

    def _rule(self, path: Path, model: type[RuleSpec], data: object, make: Callable[[RuleSpec, dict | None], T],
              refusal: Callable[[RuleSpec, T], tuple[str, str] | None]) -> T | None:
        """Check `data` as `model`, then `make(spec, icmp)`, then what AWS refuses of it; None after reporting."""
        spec = self.validate(model, data, path)
        if spec is None:
            return None
        try:
            made = make(spec, spec.icmp.model_dump() if spec.icmp else None)
        except ModelError as error:
            self.model_error(path + (guess_field(str(error), spec),), error)
            return None
        refused = refusal(spec, made)
        if refused is not None:
            self.fail(path + (refused[0],), refused[1])
            return None
        return made

    def security_group(self, name: str, spec: SgSpec, ipv6: bool) -> SecurityGroup | None:
        """A group; without `egress` it gets AWS's default allow-all egress, placed where the group is."""
        path: Path = ("security_groups", name)
        origin = self.locate(path)
        if spec.default and spec.ingress is None and spec.egress is None:  # the VPC's default group, AWS's rules
            self.added["default_group_rules"] += 1
            group = SecurityGroup.new(name, ipv6=ipv6, description=spec.description, origin=origin)
            return replace(group, ingress=(SgRule.make("-1", sg=name, origin=origin),))
        ingress = [self.sg_rule(path + ("ingress", i), r) for i, r in enumerate(spec.ingress or [])]
        if spec.egress is None:
            egress: list[SgRule | None] = list(SecurityGroup.new(name, ipv6=ipv6, origin=origin).egress)
        else:
            egress = [self.sg_rule(path + ("egress", i), r) for i, r in enumerate(spec.egress)]
        if None in ingress or None in egress:
            return None
        for direction, rules in (("ingress", ingress), ("egress", egress)):
            seen: set[SgRule] = set()
            for index, rule in enumerate(rules):
                if rule in seen:
                    self.fail(path + (direction, index),
                              "duplicate rule (AWS: InvalidPermission.Duplicate): expected each rule once")
                seen.add(rule)  # type: ignore[arg-type]
        return SecurityGroup(name, tuple(ingress), tuple(egress), spec.description, origin)  # type: ignore[arg-type]

    def host(self, name: str, spec: HostSpec) -> Host | None:
        path: Path = ("hosts", name)
        if spec.ip is None and not spec.internet:
            if self.document:
                self.warn(path, f"{name} has no private address yet (known only after apply): left out, so it is "
                                "no member of its groups here")
                return None
            present = "ip" in spec.model_fields_set  # written without a value, or not at all
            self.fail(path + ("ip",), ("this key has no value" if present else "this key is required")
                      + ": expected an IPv4 address such as 198.18.1.10")
            return None
        ok = True
        addresses = {}
        for key in ("ip", "public_ip", "ipv6"):
            value = getattr(spec, key)
            if value is None:
                continue
            try:
                addresses[key] = parse_ip(value)
            except ModelError as error:
                self.model_error(path + (key,), error)
                ok = False
        if "ip" in addresses and addresses["ip"].version != 4:
            self.fail(path + ("ip",), f"{spec.ip} is not an IPv4 address: expected the host's IPv4 address")
            ok = False
        if "public_ip" in addresses and addresses["public_ip"].version != 4:
            self.fail(path + ("public_ip",), "expected an IPv4 address")
            ok = False
        if "ipv6" in addresses and addresses["ipv6"].version != 6:
            self.fail(path + ("ipv6",), "expected an IPv6 address")
            ok = False
        try:
            conntrack = ConntrackSettings(**spec.conntrack.model_dump())
        except ModelError as error:
            self.model_error(path + ("conntrack",), error)
            ok = False
        try:
            ports = PortRange.parse(spec.ephemeral_ports)
        except ModelError as error:
            self.model_error(path + ("ephemeral_ports",), error)
            ok = False
        if spec.internet:
            if spec.subnet or spec.security_groups or spec.public_ip:
                self.fail(path + ("internet",), "an internet host has no subnet, security_groups or public_ip: "
                                                "expected only ip (and internet: true)")
                ok = False
        elif spec.subnet is None:
            self.fail(path + ("subnet",), "a VPC host needs a subnet (or internet: true for a host outside the VPC)")
            ok = False
        if not ok:
            return None
        secondary = tuple(parse_ip(a) for a in spec.secondary_ips)
        secondary_public = self._secondary_public(path, spec, addresses["ip"])
        ipv6 = addresses.get("ipv6") or (parse_ip(spec.ipv6_addresses[0]) if spec.ipv6_addresses else None)
        return Host(name, addresses["ip"], spec.subnet, tuple(spec.security_groups), addresses.get("public_ip"),
                    ipv6, conntrack, spec.icmp_echo_ignore, ports, spec.internet,  # type: ignore[arg-type]
                    origin=self.locate(path), instance=spec.instance, interface_type=spec.interface_type,
                    source_dest_check=spec.source_dest_check, label=spec.name, secondary_ips=secondary,
                    secondary_public_ips=secondary_public)

    def _secondary_public(self, path: Path, spec: HostSpec, primary: object) -> tuple:  # type: ignore[type-arg]
        """The Elastic IPs of a host's secondary private addresses (the primary's is `public_ip`)."""
        pairs = []
        for private, public in sorted(spec.public_ips.items()):
            try:
                private_ip, public_ip = parse_ip(private), parse_ip(public)
            except ModelError as error:
                self.model_error(path + ("public_ips", private), error)
                continue
            if private_ip == primary or public_ip.version != 4 or private_ip.version != 4:
                continue
            pairs.append((private_ip, public_ip))
        return tuple(pairs)
