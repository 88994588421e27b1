"""Check a lab's steps while loading, in order, against the network each one runs on.

Everything a step can get wrong is found here, before any step runs: names, address families, ICMP types,
ports, connections used after `close`… Configuration steps are applied to the model, so each carries the
network after it. A step that only fails because an earlier entry or step failed is not reported again.
"""

from __future__ import annotations

import typing
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, replace
from ipaddress import IPv4Address

from vpclab.engine.paths import service_map
from vpclab.lab import schema
from vpclab.load import Assembler, Path
from vpclab.load.checker import EVERY
from vpclab.load.quotas import quota_warnings
from vpclab.model import (ConntrackSettings, Direction, Host, IPAddress, ModelError, Network, PrefixList, parse_cidr,
                          parse_ip)
from vpclab.model.protocols import (ALL, ICMP, ICMP_TYPES, ICMPV6, ICMPV6_TYPES, PROTOCOL_NUMBERS, TCP, UDP,
                                    parse_icmp_type, parse_protocol)


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
    replying: set[tuple[str, int]] = field(default_factory=set)  # (host, udp port) of listeners that answer
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
            network, checked = self.check(index + 1, action, spec, path + (action,))
            if checked is None:  # its destination could not be read: a connection it names is unknown
                self.forget(action, body, index + 1)
                continue
            spec = checked
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

    def check(self, index: int, action: str, spec: typing.Any, path: Path) -> tuple[Network | None, typing.Any]:
        """Check one step; for a change, apply it and return the network after it. Also returns the spec in its
        resolved form (`to: web@ipv6` → `to: web, family: ipv6`; `from: HOST` of a connection → client or server)."""
        if action in schema.CONFIG_ACTIONS:
            return self.change(action, spec, path), spec
        if action == "listen":
            self.host(spec.host, path + ("host",))
            if spec.reply and spec.proto != "udp":
                self.fail(path + ("reply",), "a listener that replies answers datagrams, so it is a udp one: "
                                             "expected proto: udp, or no reply")
            self.listening.setdefault(spec.host, set()).add((spec.proto, spec.port))
            if spec.proto == "udp":
                (self.replying.add if spec.reply else self.replying.discard)((spec.host, spec.port))
        elif action in schema.SENDING:
            spec = self.target_form(spec, path)
            if spec is None:
                return None, None
            src = self.host(spec.src, path + ("from",))
            address, server = self.destination(spec.to, spec.family, path)
            self.family(spec.src, src, spec.to, address, path + ("from",))
            literal = _address(spec.to)
            if action == "icmp" and (address is not None or literal is None):  # a host name: its IPv4 address
                self.icmp_type(spec.type, address is not None and address.version == 6, path + ("type",))
            if action == "connect":
                self.connect(index, spec, server, path)
            if action == "ip":
                self.ip_protocol(spec.proto, path + ("proto",))
            if action == "udp" and spec.expect in ("reply", "no-reply"):
                self.replier(spec, address, server, path + ("expect",))
        elif action in ("send", "close"):
            spec = self.use(index, action, spec, path)
        return None, spec

    def target_form(self, spec: typing.Any, path: Path) -> typing.Any:
        """`to: NAME@ipv6` (or `@ipv4`) as `to: NAME` with `family`; None after reporting a malformed one."""
        if "@" not in spec.to:
            return spec
        name, _, family = spec.to.partition("@")
        family = family.strip().lower()
        if not name or family not in ("ipv4", "ipv6"):
            self.fail(path + ("to",), f"{spec.to!r} is not a host and family: expected NAME@ipv6 or NAME@ipv4 (a "
                                      "host name, then which of its addresses to send to)")
            return None
        if spec.family is not None and spec.family != family:
            self.fail(path + ("family",), f"family {spec.family} contradicts to: {spec.to}: expected one of them")
            return None
        return spec.model_copy(update={"to": name, "family": family})

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

    def destination(self, to: str, family: str | None, step: Path) -> tuple[IPAddress | None, str | None]:
        """The address a step sends to (a host's IPv4 address, its IPv6 one with `family: ipv6`, or the address
        given) and the host holding it."""
        path = step + ("to",)
        address = _address(to)
        if address is None:
            host = self.host(to, path)
            if host is None:
                return None, None
            if family != "ipv6":
                return host.ip, host.name
            if host.ipv6 is None:
                where = "" if host.internet else " (in a subnet with an ipv6_cidr)"
                self.fail(path, f"{to} has no IPv6 address: give {to} an ipv6 address{where}, or send to its IPv4 "
                                "address (no family, or family: ipv4)")
                return None, host.name
            return host.ipv6, host.name
        if family is not None and address.version != int(family[-1]):
            self.fail(step + ("family",), f"{to} is an IPv{address.version} address, not {family}: expected "
                                          f"family: ipv{address.version}, or no family with an address")
            return None, None
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

    def use(self, index: int, action: str, spec: typing.Any, path: Path) -> typing.Any:
        """`send` and `close`: an open connection, and a side to act from (`client`, `server`, or the host of
        either end, returned resolved to `client` or `server`)."""
        conn = self.connections.get(spec.conn)
        if conn is None:
            known = ", ".join(sorted(n for n, c in self.connections.items() if c.closed_at is None)) or "none yet"
            self.fail(path + ("conn",), f"unknown connection {spec.conn!r}: expected a name given by an earlier "
                                        f"connect's `as` ({known})")
            return spec
        if conn.failed:
            return spec
        if conn.closed_at is not None:
            self.fail(path + ("conn",), f"connection {spec.conn} was closed at step {conn.closed_at}: expected an "
                                        "open connection (connect again with as: to reuse the name)")
            return spec
        spec = self.side(spec, conn, path + ("from",))
        if spec.side == "server" and conn.server is None and self.network is not None:
            self.fail(path + ("from",), f"connection {spec.conn} goes to an address no host of the lab holds, so "
                                        "it has no server side: expected from: client")
        if action == "close":
            conn.closed_at = index
        return spec

    def side(self, spec: typing.Any, conn: _Connection, path: Path) -> typing.Any:
        """`from: HOST` as the side of the connection that host is at (the words client and server come first)."""
        if spec.side in ("client", "server"):
            return spec
        ends = [word for word, host in (("client", conn.src), ("server", conn.server)) if host == spec.side]
        if len(ends) == 1:
            return spec.model_copy(update={"side": ends[0]})
        if ends:
            self.fail(path, f"{spec.side} is at both ends of connection {spec.conn}: expected client or server")
        else:
            server = conn.server or "an address no lab host holds"
            hosts = [h for h in (conn.src, conn.server) if h]
            self.fail(path, f"{spec.side!r} is neither end of connection {spec.conn} ({conn.src} → {server}): "
                            f"expected client, server, {' or '.join(hosts)}")
        return spec

    def ip_protocol(self, value: int | str, path: Path) -> None:
        """An `ip` step's protocol: a name or number of a protocol other than TCP, UDP, ICMP and ICMPv6."""
        others = ", ".join(n for n, v in PROTOCOL_NUMBERS.items() if v not in (ALL, TCP, UDP, ICMP, ICMPV6))
        try:
            number = parse_protocol(value)
        except ModelError:
            number = None
        if number in (TCP, UDP, ICMP, ICMPV6):
            step = {TCP: "connect", UDP: "udp", ICMP: "ping or icmp", ICMPV6: "ping or icmp"}[number]
            self.fail(path, f"{value} has its own step ({step}): expected another protocol ({others}, or a number)")
        elif number is None or number in (ALL, 0, 255):
            self.fail(path, f"{value!r} is not a protocol one packet can carry: expected a name ({others}) or a "
                            "number 1-254")

    def replier(self, spec: typing.Any, address: IPAddress | None, server: str | None, path: Path) -> None:
        """`expect: reply` needs something that answers: a replying udp listener, or an Amazon service's port."""
        if address is None or self.network is None or self.uncertain:
            return
        if server is None:
            service = service_map(self.network.vpc).get(int(address))
            if service is None or spec.port not in service.udp:
                self.fail(path, f"nothing at {spec.to} answers udp port {spec.port} (no lab host holds it): expected "
                                "delivered or dropped")
        elif (server, spec.port) not in self.replying:
            self.fail(path, f"{server} has no replying udp listener on port {spec.port} before this step: expected "
                            f"a listen step with host: {server}, proto: udp, port: {spec.port}, reply: true first, "
                            "or expect delivered or dropped")

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
            elif action == "set_conntrack":
                network = self.conntrack_change(spec, path)
            elif action == "modify_prefix_list":
                network = self.prefix_list_change(spec, path)
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

    def conntrack_change(self, spec: schema.SetConntrackStep, path: Path) -> Network | None:
        """An ENI's new timeouts (and capacity): the keys given, the others as they were; AWS's ranges."""
        given = spec.model_dump(exclude_none=True, exclude={"host"})
        if not given:
            self.fail(path, "expected at least one of tcp_established, udp, udp_stream, icmp, max_entries")
        network = self.network
        if network is None or not given:
            return network
        host = network.hosts.get(spec.host)
        if host is None or host.internet:
            raise ModelError(f"unknown VPC host {spec.host!r}: expected one of "
                             f"{', '.join(h.name for h in network.vpc_hosts())}", "host")
        settings = ConntrackSettings(**(asdict(host.conntrack) | given))  # ModelError names the key out of range
        return _checked(replace(network, hosts=network.hosts.replace(spec.host, replace(host, conntrack=settings))))

    def prefix_list_change(self, spec: schema.ModifyPrefixListStep, path: Path) -> Network | None:
        """A prefix list's new version: `remove` entries it has, `add` entries of its family it has not."""
        if not spec.add and not spec.remove:
            self.fail(path, "expected add or remove: a list of CIDRs")
        network = self.network
        if network is None:
            return None
        if spec.prefix_list not in network.prefix_lists:
            raise ModelError(f"unknown prefix list {spec.prefix_list!r}: expected one of "
                             f"{', '.join(sorted(network.prefix_lists)) or '(none defined)'}", "prefix_list")
        old = network.prefix_lists[spec.prefix_list]
        entries = list(old.cidrs)
        ok = True
        for key in ("remove", "add"):
            for i, text in enumerate(getattr(spec, key)):
                try:
                    cidr = parse_cidr(text)
                except ModelError as error:
                    self.fail(path + (key, i), str(error.problems[0].message))
                    ok = False
                    continue
                if key == "remove" and cidr not in entries:
                    self.fail(path + (key, i), f"{cidr} is not an entry of {spec.prefix_list} "
                                               f"({', '.join(map(str, entries)) or 'empty'}): expected one of its entries")
                    ok = False
                elif key == "add" and cidr in entries:
                    self.fail(path + (key, i), f"{cidr} is already an entry of {spec.prefix_list}: expected a new CIDR")
                    ok = False
                elif key == "add" and old.cidrs and cidr.version != old.cidrs[0].version:
                    self.fail(path + (key, i), f"{cidr} is IPv{cidr.version} and {spec.prefix_list} holds IPv"
                                               f"{old.cidrs[0].version} entries: a prefix list holds one family")
                    ok = False
                else:
                    (entries.remove if key == "remove" else entries.append)(cidr)
        if not ok:
            self.uncertain = True
            return network
        new = PrefixList(old.id, tuple(entries), old.origin)
        return _checked(replace(network, prefix_lists=network.prefix_lists.replace(old.id, new)))

    def nacl_change(self, spec: schema.NaclEntryStep, path: Path) -> Network | None:
        direction = self.one_direction(spec, path)
        entry = self.assembler.nacl_entry(path + (direction.value,), getattr(spec, direction.value)) if direction \
            else None
        if entry is None or direction is None:
            self.uncertain = True
            return self.network
        return self.network.add_nacl_entry(spec.nacl, direction, entry) if self.network is not None else None


def _checked(network: Network) -> Network:
    """A changed network, validated as the model's own change methods do."""
    network.validate()
    return network


def target(network: Network, spec: typing.Any) -> str:
    """Where a sending step's packets go, as the backends take it: a host name (its IPv4 address), or an address
    (a host's IPv6 one for `family: ipv6`)."""
    host = network.hosts.get(spec.to)
    if host is not None and spec.family == "ipv6" and host.ipv6 is not None:
        return str(host.ipv6)
    return spec.to


def names_host(to: str) -> bool:
    """True when a step's `to` names a host rather than giving an address."""
    return _address(to) is None


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
    "set_conntrack": (("host", "hosts"),), "modify_prefix_list": (("prefix_list", "prefix_lists"),),
}
#: changes whose success depends on the rules and entries before them
STATEFUL = frozenset({"authorize", "revoke", "nacl_entry", "delete_nacl_entry", "modify_prefix_list"})
WHAT = {"security_groups": "security group", "nacls": "network ACL", "subnets": "subnet", "hosts": "host",
        "prefix_lists": "prefix list"}


def declared_names(data: dict[str, object]) -> dict[str, Collection[str]]:
    """The names a lab file gives each section, whether their entries loaded or not (`default` NACL included)."""
    names: dict[str, Collection[str]] = {}
    for section in ("subnets", "nacls", "prefix_lists", "security_groups", "hosts"):
        value = data.get(section)
        names[section] = set(value) if isinstance(value, dict) else {EVERY}
    names["nacls"] = set(names["nacls"]) | {"default"}
    return names
