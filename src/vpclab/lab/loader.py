"""Load a lab file: YAML → checked spec → model Network and typed steps, or every problem with file and line.

Configuration steps (authorize, revoke, NACL changes…) are applied to the model while loading, so a lab whose
third change is impossible is refused before anything runs: never a half-applied lab.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path as FilePath

from pydantic import BaseModel, TypeAdapter, ValidationError

from vpclab.lab import schema
from vpclab.errors import Problem
from vpclab.lab.yamlsource import LabError, Path, Source, located, parse
from vpclab.model.frozen import FrozenMap
from vpclab.model import (ConntrackSettings, Direction, Host, ModelError, NaclEntry, Network, NetworkAcl, PortRange,
                          PrefixList, SecurityGroup, SgRule, Subnet, Vpc, parse_cidr, parse_ip)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class LabStep:
    """One step: its 1-based index, action word, checked spec, line, and for changes the network after it."""

    index: int
    action: str
    spec: schema.Strict
    line: int | None = None
    network: Network | None = None

    @property
    def expect(self) -> str | None:
        return getattr(self.spec, "expect", None)


@dataclass(frozen=True, slots=True)
class Lab:
    """A loaded lab: its identity, its starting network and its steps."""

    name: str
    title: str
    about: str
    network: Network
    steps: tuple[LabStep, ...]
    file: str

    @property
    def total_wait(self) -> float:
        return sum(s.spec.seconds for s in self.steps if s.action == "wait")  # type: ignore[attr-defined]


def load_lab(path: str | FilePath) -> Lab:
    """Load a lab file from disk."""
    file = str(path)
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LabError([located(file, None, "", f"cannot read the file: {error}")]) from None
    return parse_lab(text, file)


def parse_lab(text: str, file: str = "<lab>") -> Lab:
    """Load a lab from YAML text; raises LabError listing every problem."""
    source = parse(text, file)
    if source.data is None:
        raise LabError([located(file, None, "", "the file is empty: expected a lab with keys lab, title, vpc, "
                                                "subnets, security_groups, hosts and steps")])
    if not isinstance(source.data, dict):
        raise LabError([source.problem((), "expected a mapping with keys lab, title, vpc, subnets, "
                                           "security_groups, hosts and steps")])
    return _Builder(source).build()


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, path: Path, message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def model_error(self, path: Path, error: ModelError) -> None:
        for problem in error.problems:
            self.fail(path + _model_path(problem.field), problem.message)

    # ---- whole lab -----------------------------------------------------------------------------------

    def build(self) -> Lab:
        data = self.source.data
        assert isinstance(data, dict)
        spec = self.sections(data)
        network = self.network(spec)
        steps = self.steps(data.get("steps"), network)
        if self.problems or network is None:
            raise LabError(sorted(self.problems, key=lambda p: (p.origin.line if p.origin and p.origin.line else 0)))
        return Lab(spec.lab, spec.title, spec.about, network, tuple(steps), self.source.file)

    def sections(self, data: dict) -> types.SimpleNamespace:
        """Check each top-level section on its own, so one bad section does not hide problems in the others."""
        fields = schema.LabSpec.model_fields
        for key in data:
            if key not in fields:
                self.fail((key,), f"unknown key {key!r}: expected one of {', '.join(fields)}")
        values: dict[str, typing.Any] = {}
        for name, info in fields.items():
            if name not in data:
                if info.is_required():
                    self.fail((name,), "this key is required")
                values[name] = None if info.is_required() else info.get_default(call_default_factory=True)
                continue
            annotation = info.annotation
            if info.metadata:
                annotation = typing.Annotated[(annotation, *info.metadata)]
            adapter = TypeAdapter(annotation)
            try:
                values[name] = adapter.validate_python(data[name])
            except ValidationError as error:
                for item in error.errors():
                    loc = (name,) + tuple(item["loc"])
                    self.fail(loc, _pydantic_message(item, schema.LabSpec, loc))
                values[name] = None
        return types.SimpleNamespace(**values)

    def validate(self, model: type[BaseModel], data: object, path: Path) -> typing.Any:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for item in error.errors():
                loc = path + tuple(item["loc"])
                self.fail(loc, _pydantic_message(item, model, tuple(item["loc"])))
            return None

    # ---- network -------------------------------------------------------------------------------------

    def network(self, spec: typing.Any) -> Network | None:
        if spec.vpc is None or spec.hosts is None:
            return None
        before = len(self.problems)
        for section in ("subnets", "nacls", "prefix_lists", "security_groups", "hosts"):
            for name in getattr(spec, section) or {}:
                if not NAME.match(name):
                    self.fail((section, name), f"{name!r} is not a valid name: expected letters, digits, - and _")
        vpc = self.vpc(spec)
        ipv6 = vpc is not None and vpc.ipv6_cidr is not None
        failed: set[str] = set()

        def keep(kind: str, items: dict | None, make: typing.Callable) -> list:
            made = []
            for name, item in (items or {}).items():
                obj = make(name, item)
                if obj is None:
                    failed.add(name)
                else:
                    made.append(obj)
            if items is None:
                failed.add(kind)
            return made

        subnets = keep("subnets", spec.subnets, self.subnet)
        nacls = keep("nacls", spec.nacls, self.nacl)
        prefix_lists = keep("prefix_lists", spec.prefix_lists, self.prefix_list)
        groups = keep("security_groups", spec.security_groups, lambda n, g: self.group(n, g, ipv6))
        hosts = keep("hosts", spec.hosts, self.host)
        if vpc is None:
            return None
        clean = len(self.problems) == before
        network = Network(vpc, *(FrozenMap({getattr(o, k): o for o in objs}) for objs, k in (
            (subnets, "name"), (hosts, "name"), (groups, "id"),
            (nacls + ([] if any(n.id == "default" for n in nacls) else
                      [NetworkAcl.default(ipv6=vpc.ipv6_cidr is not None)]), "id"),
            (prefix_lists, "id"))))
        try:
            network.validate()
        except ModelError as error:  # report cross-references, except those to objects already reported
            for problem in error.problems:
                if not any(f"'{name}'" in problem.message for name in failed):
                    self.fail(_model_path(problem.field), problem.message)
            return None
        return network if clean else None

    def prefix_list(self, name: str, cidrs: list[str]) -> PrefixList | None:
        try:
            return PrefixList.make(name, cidrs)
        except ModelError as error:
            self.model_error(("prefix_lists", name), error)
            return None

    def vpc(self, spec: schema.LabSpec) -> Vpc | None:
        cidr = self.cidr(("vpc", "cidr"), spec.vpc.cidr, 4)
        ipv6 = self.cidr(("vpc", "ipv6_cidr"), spec.vpc.ipv6_cidr, 6) if spec.vpc.ipv6_cidr else None
        return Vpc(cidr, ipv6) if isinstance(cidr, IPv4Network) else None  # type: ignore[arg-type]

    def cidr(self, path: Path, value: str, version: int) -> IPv4Network | IPv6Network | None:
        try:
            network = parse_cidr(value)
        except ModelError as error:
            self.model_error(path, error)
            return None
        if network.version != version:
            self.fail(path, f"{value} is not an IPv{version} CIDR: expected an IPv{version} address block")
            return None
        return network

    def subnet(self, name: str, spec: schema.SubnetSpec) -> Subnet | None:
        cidr = self.cidr(("subnets", name, "cidr"), spec.cidr, 4)
        ipv6 = self.cidr(("subnets", name, "ipv6_cidr"), spec.ipv6_cidr, 6) if spec.ipv6_cidr else None
        if cidr is None:
            return None
        return Subnet(name, cidr, ipv6, spec.nacl, spec.public)  # type: ignore[arg-type]

    def nacl(self, name: str, spec: schema.NaclSpec) -> NetworkAcl | None:
        acl = NetworkAcl.custom(name)
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

    def nacl_entry(self, path: Path, spec: schema.NaclRuleSpec) -> NaclEntry | None:
        try:
            icmp = spec.icmp.model_dump() if spec.icmp else None
            return NaclEntry.make(spec.rule, spec.action, spec.proto, spec.cidr, spec.ports, icmp)
        except ModelError as error:
            self.model_error(path + (_guess_field(str(error), spec),), error)
            return None

    def sg_rule(self, path: Path, spec: schema.SgRuleSpec) -> SgRule | None:
        try:
            icmp = spec.icmp.model_dump() if spec.icmp else None
            return SgRule.make(spec.proto, spec.ports, cidr=spec.cidr, sg=spec.sg, prefix_list=spec.prefix_list,
                               icmp=icmp, description=spec.description)
        except ModelError as error:
            self.model_error(path + (_guess_field(str(error), spec),), error)
            return None

    def group(self, name: str, spec: schema.SgSpec, ipv6: bool) -> SecurityGroup | None:
        ingress = [self.sg_rule(("security_groups", name, "ingress", i), r) for i, r in enumerate(spec.ingress)]
        if spec.egress is None:
            egress: list[SgRule | None] = list(SecurityGroup.new(name, ipv6=ipv6).egress)
        else:
            egress = [self.sg_rule(("security_groups", name, "egress", i), r) for i, r in enumerate(spec.egress)]
        if None in ingress or None in egress:
            return None
        for direction, rules in (("ingress", ingress), ("egress", egress)):
            seen: set[SgRule] = set()
            for index, rule in enumerate(rules):
                if rule in seen:
                    self.fail(("security_groups", name, direction, index),
                              "duplicate rule (AWS: InvalidPermission.Duplicate): expected each rule once")
                seen.add(rule)  # type: ignore[arg-type]
        return SecurityGroup(name, tuple(ingress), tuple(egress), spec.description)  # type: ignore[arg-type]

    def host(self, name: str, spec: schema.HostSpec) -> Host | None:
        path: Path = ("hosts", name)
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
        return Host(name, addresses["ip"], spec.subnet, tuple(spec.security_groups), addresses.get("public_ip"),
                    addresses.get("ipv6"), conntrack, spec.icmp_echo_ignore, ports, spec.internet)

    # ---- steps ---------------------------------------------------------------------------------------

    def steps(self, raw: object, network: Network | None) -> list[LabStep]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.fail(("steps",), "expected a list of steps")
            return []
        steps: list[LabStep] = []
        connections: set[str] = set()
        for index, item in enumerate(raw):
            path: Path = ("steps", index)
            if not isinstance(item, dict) or len(item) != 1:
                self.fail(path, f"a step is a mapping with one action: expected one of {', '.join(schema.STEP_TYPES)}")
                continue
            action, body = next(iter(item.items()))
            if action not in schema.STEP_TYPES:
                self.fail(path + (action,), f"unknown step {action!r}: expected one of {', '.join(schema.STEP_TYPES)}")
                continue
            spec = self.validate(schema.STEP_TYPES[action], body if body is not None else {}, path + (action,))
            if spec is None:
                continue
            step_path = path + (action,)
            if network is not None:
                network = self.check_step(action, spec, step_path, network, connections)
            steps.append(LabStep(index + 1, action, spec, self.source.line_of(path),
                                 network if action in schema.CONFIG_ACTIONS else None))
        return steps

    def check_step(self, action: str, spec: typing.Any, path: Path, network: Network,
                   connections: set[str]) -> Network:
        """Check a step's references; for a change, apply it to the model and return the new network."""
        hosts = network.hosts
        for key, alias in (("src", "from"), ("to", "to"), ("host", "host")):
            value = getattr(spec, key, None)
            if value is None or value in hosts or (key == "to" and _is_address(value)):
                continue
            expected = "a host name" + (" or an IP address" if key == "to" else "")
            self.fail(path + (alias,), f"unknown host {value!r}: expected {expected} ({', '.join(hosts)})")
        if action == "connect" and spec.name:
            connections.add(spec.name)
        if action in ("send", "close") and spec.conn not in connections:
            self.fail(path + ("conn",), f"unknown connection {spec.conn!r}: expected a name given by an earlier "
                                        f"connect's `as` ({', '.join(sorted(connections)) or 'none yet'})")
        try:
            if action in ("authorize", "revoke"):
                return self.sg_change(action, spec, path, network)
            if action == "nacl_entry":
                direction = self.one_direction(spec, path)
                if direction is None:
                    return network
                entry = self.nacl_entry(path + (direction.value,), getattr(spec, direction.value))
                return network.add_nacl_entry(spec.nacl, direction, entry) if entry else network
            if action == "delete_nacl_entry":
                return network.delete_nacl_entry(spec.nacl, Direction(spec.direction), spec.rule)
            if action == "associate_nacl":
                return network.associate_nacl(spec.subnet, spec.nacl)
            if action == "set_security_groups":
                return network.set_security_groups(spec.host, spec.security_groups)
        except ModelError as error:
            for problem in error.problems:
                field = problem.field if "." not in problem.field else ""
                self.fail(path + ((field,) if field else ()), problem.message)
        return network

    def one_direction(self, spec: typing.Any, path: Path) -> Direction | None:
        """The one direction a change step gives (`ingress:` or `egress:`), or None after reporting a problem."""
        directions = [d for d in Direction if getattr(spec, d.value) is not None]
        if len(directions) != 1:
            self.fail(path, "expected exactly one of ingress or egress")
            return None
        return directions[0]

    def sg_change(self, action: str, spec: schema.SgChangeStep, path: Path, network: Network) -> Network:
        direction = self.one_direction(spec, path)
        if direction is None:
            return network
        rule = self.sg_rule(path + (direction.value,), getattr(spec, direction.value))
        if rule is None:
            return network
        if action == "authorize":
            return network.authorize(spec.sg, direction, rule)
        return network.revoke(spec.sg, direction, rule)


def _is_address(value: str) -> bool:
    try:
        parse_ip(value)
    except ModelError:
        return False
    return True


def _model_path(field: str) -> Path:
    """`security_groups.sg-a.ingress[1].sg` → `("security_groups", "sg-a", "ingress", 0, "sg")`."""
    path: list[str | int] = []
    for part in field.split(".") if field else []:
        match = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", part)
        if not match:
            path.append(part)
            continue
        path.append(match.group(1))
        path.extend(int(n) - 1 for n in re.findall(r"\[(\d+)\]", match.group(2)))
    return tuple(path)


def _guess_field(message: str, spec: BaseModel) -> str:
    """Which key of a rule a model error concerns, from its message."""
    text = message.lower()
    for key, words in (("proto", ("protocol",)), ("ports", ("port",)), ("icmp", ("icmp",)),
                       ("cidr", ("cidr", "ipv6 peer")), ("rule", ("rule number",)), ("action", ("action",))):
        if any(w in text for w in words) and key in type(spec).model_fields:
            return key
    return ""


def _pydantic_message(item: dict, model: type[BaseModel], loc: tuple) -> str:
    kind = item["type"]
    value = item.get("input")
    if kind == "missing":
        return "this key is required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"unknown key {loc[-1]!r}" + (f": expected one of {', '.join(allowed)}" if allowed else "")
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        return f"{value!r} is not valid: expected {expected}"
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping, got {type(value).__name__} {value!r}"
    if kind == "list_type":
        return f"expected a list, got {type(value).__name__} {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not valid: expected lowercase letters, digits and dashes"
    message = item["msg"]
    return f"{value!r} is not valid: {message[0].lower()}{message[1:]}" if value is not None else message


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    current: object = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            fields.update(current.model_fields)
            info = fields.get(part)
            current = info.annotation if info else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(tp: object) -> object:
    """Strip Optional/Annotated wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp
