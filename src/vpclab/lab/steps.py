"""Check a lab's steps while loading, in order, against the network each one runs on.

Everything a step can get wrong is found here, before any step runs: names, address families, ICMP types,
ports, connections used after `close`… Configuration steps are applied to the model, so each carries the
network after it. A step that only fails because an earlier entry or step failed is not reported again.
"""

from __future__ import annotations

import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from vpclab.lab import schema
from vpclab.load import Assembler, Path
from vpclab.load.checker import EVERY
from vpclab.load.quotas import quota_warnings
from vpclab.model import Direction, Host, IPAddress, ModelError, Network, parse_ip
from vpclab.model.protocols import ICMP_TYPES, ICMPV6, ICMPV6_TYPES, parse_icmp_type


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


@dataclass(slots=True)
class _Connection:
    """What later steps need to know about a connection named by a connect's `as`."""

    index: int  # the connect step's
    src: str | None = None
    server: str | None = None  # the host holding the destination address; None: no host of the lab does
    sport: int | None = None
    port: int | None = None
    closed_at: int | None = None
    failed: bool = False  # the connect step failed its own checks: uses of the name are not reported again


@dataclass
class StepChecker:
    """Checks steps in order; the network is None when it failed to load (then steps are checked on their own
    and against the names the file declares)."""

    assembler: Assembler
    network: Network | None
    declared: dict[str, Collection[str]]  # section → the names the file gives it, whether they loaded or not
    line_of: typing.Callable[[Path], int | None]
    connections: dict[str, _Connection] = field(default_factory=dict)
    listening: dict[str, set[tuple[str, int]]] = field(default_factory=dict)  # host → {(proto, port)}
    uncertain: bool = False  # a change failed: what depends on the network's state is not reported again

    def steps(self, raw: object) -> list[LabStep]:
        """The steps of the file's `steps:` that passed their checks; problems are recorded on the assembler."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.assembler.fail(("steps",), "expected a list of steps")
            return []
        steps: list[LabStep] = []
        for index, item in enumerate(raw):
            path: Path = ("steps", index)
            if not isinstance(item, dict) or len(item) != 1:
                self.assembler.fail(path, "a step is a mapping with one action: expected one of "
                                          + ", ".join(schema.STEP_TYPES))
                continue
            action, body = next(iter(item.items()))
            if action not in schema.STEP_TYPES:
                self.assembler.fail(path + (action,), f"unknown step {action!r}: expected one of "
                                                      + ", ".join(schema.STEP_TYPES))
                continue
            spec = self.assembler.validate(schema.STEP_TYPES[action], body if body is not None else {},
                                           path + (action,))
            if spec is None:
                self.forget(action, body, index + 1)
                continue
            network = self.check(index + 1, action, spec, path + (action,))
            steps.append(LabStep(index + 1, action, spec, self.line_of(path),
                                 network if action in schema.CONFIG_ACTIONS else None))
        return steps

    def forget(self, action: str, body: object, index: int) -> None:
        """A step that failed its own checks: its connection name, or the network after it, is unknown."""
        if action == "connect" and isinstance(body, dict) and isinstance(body.get("as"), str):
            self.connections[body["as"]] = _Connection(index, failed=True)
        if action in schema.CONFIG_ACTIONS:
            self.uncertain = True

    def fail(self, path: Path, message: str) -> None:
        """Record a problem, unless it is about a reference to an entry that failed (reported there)."""
        if not self.assembler.consequence(message):
            self.assembler.fail(path, message)

    # ---- one step ------------------------------------------------------------------------------------

    def check(self, index: int, action: str, spec: typing.Any, path: Path) -> Network | None:
        """Check one step; for a change, apply it and return the network after it."""
        if action in schema.CONFIG_ACTIONS:
            return self.change(action, spec, path)
        if action == "listen":
            self.host(spec.host, path + ("host",))
            if spec.reply and spec.proto != "udp":
                self.fail(path + ("reply",), "a listener that replies answers datagrams, so it is a udp one: "
                                             "expected proto: udp, or no reply")
            self.listening.setdefault(spec.host, set()).add((spec.proto, spec.port))
        elif action in ("connect", "udp", "ping", "icmp"):
            src = self.host(spec.src, path + ("from",))
            address, server = self.destination(spec.to, path + ("to",))
            self.family(spec.src, src, spec.to, address, path + ("from",))
            literal = _address(spec.to)
            if action == "icmp" and (address is not None or literal is None):  # a host name: its IPv4 address
                self.icmp_type(spec.type, address is not None and address.version == 6, path + ("type",))
            if action == "connect":
                self.connect(index, spec, server, path)
        elif action in ("send", "close"):
            self.use(index, action, spec, path)
        return None

    def host(self, name: str, path: Path) -> Host | None:
        """The host `name`; None (after reporting it, unless it failed to load) when there is none."""
        if self.network is not None and name in self.network.hosts:
            return self.network.hosts[name]
        if not self.declared_as(name, "hosts"):
            names = sorted(self.network.hosts) if self.network is not None else sorted(self.declared["hosts"])
            expected = "a host name" + (" or an IP address" if path[-1] == "to" else "")
            self.fail(path, f"unknown host {name!r}: expected {expected} ({', '.join(names) or 'none defined'})")
        return None

    def declared_as(self, name: str, section: str) -> bool:
        """True when the file names `name` in `section` (or the whole section failed: it may have)."""
        return name in self.declared[section] or EVERY in self.declared[section]

    def destination(self, to: str, path: Path) -> tuple[IPAddress | None, str | None]:
        """The address a step sends to (a host's private IPv4, or the address given) and the host holding it."""
        address = _address(to)
        if address is None:
            host = self.host(to, path)
            return (host.ip, host.name) if host is not None else (None, None)
        kind = ("a loopback" if address.is_loopback else "an unspecified" if address.is_unspecified else
                "a multicast" if address.is_multicast else
                "the broadcast" if address == IPv4Address("255.255.255.255") else "")
        if kind:
            self.fail(path, f"{to} is {kind} address: a packet to it never crosses the VPC's filters; expected a "
                            "host name or a unicast address")
            return None, None
        hosts = self.network.hosts.values() if self.network is not None else ()
        return address, next((h.name for h in hosts if address in h.addresses), None)

    def family(self, name: str, src: Host | None, to: str, address: IPAddress | None, path: Path) -> None:
        """A step to an IPv6 address needs a sender with an IPv6 address (every host has an IPv4 one)."""
        if src is not None and address is not None and address.version == 6 and src.ipv6 is None:
            where = "" if src.internet else " (in a subnet with an ipv6_cidr)"
            self.fail(path, f"{name} has no IPv6 address, so it cannot send to {to}: give {name} an ipv6 address"
                            f"{where}, or send to an IPv4 address")

    def icmp_type(self, value: int | str, v6: bool, path: Path) -> None:
        """A crafted packet's ICMP type: one number 0-255, or a name of its family."""
        names, other = (ICMPV6_TYPES, ICMP_TYPES) if v6 else (ICMP_TYPES, ICMPV6_TYPES)
        family = "ICMPv6" if v6 else "ICMP"
        try:
            number = parse_icmp_type(value, ICMPV6 if v6 else 1)
        except ModelError:
            number = None
        if number is not None and 0 <= number <= 255:
            return
        hint = (f" ({value} is an {'ICMP' if v6 else 'ICMPv6'} type, and this packet goes to an "
                f"IPv{6 if v6 else 4} address)" if isinstance(value, str) and value.strip().lower() in other else "")
        self.fail(path, f"{value!r} is not an {family} type{hint}: expected one type, a number 0-255 or a name "
                        f"({', '.join(sorted(set(names)))})")

    def connect(self, index: int, spec: schema.ConnectStep, server: str | None, path: Path) -> None:
        """A source port the sender can bind, and a name (`as`) no open connection holds."""
        if spec.sport is not None and ("tcp", spec.sport) in self.listening.get(spec.src, set()):
            self.fail(path + ("sport",), f"{spec.src} listens on tcp port {spec.sport}, so it cannot connect from "
                                         "it: expected another source port")
        if spec.sport is not None:
            for name, conn in self.connections.items():
                if conn.closed_at is None and (conn.src, conn.server, conn.sport, conn.port) == (
                        spec.src, server, spec.sport, spec.port):
                    self.fail(path + ("sport",), f"connection {name} (step {conn.index}) already uses source port "
                                                 f"{spec.sport} to the same address and port: expected another "
                                                 "source port, or close it first")
        if spec.name is None:
            return
        earlier = self.connections.get(spec.name)
        if earlier is not None and earlier.closed_at is None and not earlier.failed:
            self.fail(path + ("as",), f"connection {spec.name} of step {earlier.index} is still open: expected a "
                                      f"new name, or close {spec.name} first")
        self.connections[spec.name] = _Connection(index, spec.src, server, spec.sport, spec.port)

    def use(self, index: int, action: str, spec: typing.Any, path: Path) -> None:
        """`send` and `close`: an open connection, and a server side to act from."""
        conn = self.connections.get(spec.conn)
        if conn is None:
            known = ", ".join(sorted(n for n, c in self.connections.items() if c.closed_at is None)) or "none yet"
            self.fail(path + ("conn",), f"unknown connection {spec.conn!r}: expected a name given by an earlier "
                                        f"connect's `as` ({known})")
            return
        if conn.failed:
            return
        if conn.closed_at is not None:
            self.fail(path + ("conn",), f"connection {spec.conn} was closed at step {conn.closed_at}: expected an "
                                        "open connection (connect again with as: to reuse the name)")
            return
        if spec.side == "server" and conn.server is None and self.network is not None:
            self.fail(path + ("from",), f"connection {spec.conn} goes to an address no host of the lab holds, so "
                                        "it has no server side: expected from: client")
        if action == "close":
            conn.closed_at = index

    # ---- configuration changes -----------------------------------------------------------------------

    def change(self, action: str, spec: typing.Any, path: Path) -> Network | None:
        """Apply a change to the model (its rule or entry checked even when the network failed to load)."""
        network = self.network
        if network is None:
            self.declared_references(action, spec, path)
        try:
            if action in ("authorize", "revoke"):
                network = self.sg_change(action, spec, path)
            elif action == "nacl_entry":
                network = self.nacl_change(spec, path)
            elif network is not None and action == "delete_nacl_entry":
                network = network.delete_nacl_entry(spec.nacl, Direction(spec.direction), spec.rule)
            elif network is not None and action == "associate_nacl":
                network = network.associate_nacl(spec.subnet, spec.nacl)
            elif network is not None and action == "set_security_groups":
                network = network.set_security_groups(spec.host, spec.security_groups)
        except ModelError as error:
            self.uncertain_after(action, error, path)
            return self.network
        self.network = network
        if network is not None:
            self.quotas(network, path)
        return network

    def quotas(self, network: Network, path: Path) -> None:
        """Warn, at the step, of the AWS quotas a change makes the network exceed (the others are warned of)."""
        for key, problem in quota_warnings(network).items():
            if key not in self.assembler.quotas:
                self.assembler.quotas[key] = problem
                self.assembler.warn(path, f"after this step, {problem.message}")

    def uncertain_after(self, action: str, error: ModelError, path: Path) -> None:
        """Report a change the model refused; after an earlier change failed, a rule to revoke, a duplicate or
        a missing entry depend on a state that is unknown, so only unknown names are reported then."""
        for problem in error.problems:
            if not (self.uncertain and action in STATEFUL) or problem.message.startswith("unknown"):
                key = problem.field if "." not in problem.field else ""
                self.fail(path + ((key,) if key else ()), problem.message)
        self.uncertain = True

    def declared_references(self, action: str, spec: typing.Any, path: Path) -> None:
        """The names a change refers to, when the network failed to load: at least they must be declared."""
        references = [(key, section, name) for key, section in REFERENCES.get(action, ())
                      for name in ([getattr(spec, key)] if key != "security_groups" else spec.security_groups)]
        for key, section, name in references:
            if not self.declared_as(name, section):
                self.fail(path + (key,), f"unknown {WHAT[section]} {name!r}: expected one of "
                                         f"{', '.join(sorted(self.declared[section])) or '(none defined)'}")

    def one_direction(self, spec: typing.Any, path: Path) -> Direction | None:
        """The one direction a change step gives (`ingress:` or `egress:`), or None after reporting a problem."""
        directions = [d for d in Direction if getattr(spec, d.value) is not None]
        if len(directions) != 1:
            self.fail(path, "expected exactly one of ingress or egress")
            return None
        return directions[0]

    def sg_change(self, action: str, spec: schema.SgChangeStep, path: Path) -> Network | None:
        direction = self.one_direction(spec, path)
        rule = self.assembler.sg_rule(path + (direction.value,), getattr(spec, direction.value)) if direction else None
        if rule is None or direction is None:
            self.uncertain = True
            return self.network
        if self.network is None:
            return None
        if action == "authorize":
            return self.network.authorize(spec.sg, direction, rule)
        return self.network.revoke(spec.sg, direction, rule)

    def nacl_change(self, spec: schema.NaclEntryStep, path: Path) -> Network | None:
        direction = self.one_direction(spec, path)
        entry = self.assembler.nacl_entry(path + (direction.value,), getattr(spec, direction.value)) if direction \
            else None
        if entry is None or direction is None:
            self.uncertain = True
            return self.network
        return self.network.add_nacl_entry(spec.nacl, direction, entry) if self.network is not None else None


def _address(text: str) -> IPAddress | None:
    """`text` as an IP address, or None for a name."""
    try:
        return parse_ip(text)
    except ModelError:
        return None


#: the names each change step refers to: (key, section)
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "authorize": (("sg", "security_groups"),), "revoke": (("sg", "security_groups"),),
    "nacl_entry": (("nacl", "nacls"),), "delete_nacl_entry": (("nacl", "nacls"),),
    "associate_nacl": (("subnet", "subnets"), ("nacl", "nacls")),
    "set_security_groups": (("host", "hosts"), ("security_groups", "security_groups")),
}
#: changes whose success depends on the rules and entries before them
STATEFUL = frozenset({"authorize", "revoke", "nacl_entry", "delete_nacl_entry"})
WHAT = {"security_groups": "security group", "nacls": "network ACL", "subnets": "subnet", "hosts": "host"}


def declared_names(data: dict[str, object]) -> dict[str, Collection[str]]:
    """The names a lab file gives each section, whether their entries loaded or not (`default` NACL included)."""
    names: dict[str, Collection[str]] = {}
    for section in ("subnets", "nacls", "prefix_lists", "security_groups", "hosts"):
        value = data.get(section)
        names[section] = set(value) if isinstance(value, dict) else {EVERY}
    names["nacls"] = set(names["nacls"]) | {"default"}
    return names
