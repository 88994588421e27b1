"""Security groups, network ACLs and prefix lists: immutable; every change returns a new version."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from vpclab.errors import Origin
from vpclab.model.addresses import WORLD_V4, WORLD_V6, IPNetwork, parse_cidr
from vpclab.model.errors import ModelError
from vpclab.model.protocols import ALL
from vpclab.model.rules import Action, CidrPeer, Direction, NaclEntry, SgRule


@dataclass(frozen=True, slots=True)
class PrefixList:
    """A customer-managed prefix list: a named set of CIDRs of one family."""

    id: str
    cidrs: tuple[IPNetwork, ...]
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, id: str, cidrs: list[object], origin: Origin | None = None) -> "PrefixList":
        parsed = tuple(parse_cidr(c) for c in cidrs)
        if len({c.version for c in parsed}) > 1:
            raise ModelError(f"prefix list {id} mixes IPv4 and IPv6 CIDRs: AWS prefix lists hold one family")
        return cls(id, parsed, origin)


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    """A security group: allow-only ingress and egress rules."""

    id: str
    ingress: tuple[SgRule, ...] = ()
    egress: tuple[SgRule, ...] = ()
    description: str = field(default="", compare=False)
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @classmethod
    def new(cls, id: str, ipv6: bool = False, description: str = "", origin: Origin | None = None) -> "SecurityGroup":
        """A new group as AWS creates it: no ingress, egress all traffic to 0.0.0.0/0 (and ::/0 if `ipv6`)."""
        egress = [SgRule(ALL, CidrPeer(WORLD_V4), origin=origin)]
        if ipv6:
            egress.append(SgRule(ALL, CidrPeer(WORLD_V6), origin=origin))
        return cls(id, (), tuple(egress), description, origin)

    def rules(self, direction: Direction) -> tuple[SgRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def authorize(self, direction: Direction, rule: SgRule) -> "SecurityGroup":
        """A new version with `rule` added; AWS refuses a duplicate (InvalidPermission.Duplicate)."""
        rules = self.rules(direction)
        if rule in rules:
            raise ModelError(f"{self.id} already has {direction} rule '{rule.text(direction)}' "
                             "(AWS: InvalidPermission.Duplicate)")
        return self._with(direction, rules + (rule,))

    def revoke(self, direction: Direction, rule: SgRule) -> "SecurityGroup":
        """A new version without `rule`; it must match exactly (AWS: InvalidPermission.NotFound)."""
        rules = self.rules(direction)
        if rule not in rules:
            raise ModelError(f"{self.id} has no {direction} rule '{rule.text(direction)}' to revoke "
                             "(AWS: InvalidPermission.NotFound)")
        return self._with(direction, tuple(r for r in rules if r != rule))

    def _with(self, direction: Direction, rules: tuple[SgRule, ...]) -> "SecurityGroup":
        if direction is Direction.INGRESS:
            return replace(self, ingress=rules)
        return replace(self, egress=rules)


@dataclass(frozen=True, slots=True)
class NetworkAcl:
    """A network ACL: numbered entries per direction, kept sorted; the `*` deny is implicit."""

    id: str
    ingress: tuple[NaclEntry, ...] = ()
    egress: tuple[NaclEntry, ...] = ()
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for direction in Direction:
            entries = tuple(sorted(self.entries(direction)))
            seen: set[int] = set()
            for entry in entries:
                if entry.number in seen:
                    raise ModelError(f"{self.id} has two {direction} entries numbered {entry.number}: "
                                     "rule numbers must be unique per direction")
                seen.add(entry.number)
            object.__setattr__(self, direction.value, entries)

    @classmethod
    def default(cls, id: str = "default", ipv6: bool = False, origin: Origin | None = None) -> "NetworkAcl":
        """The VPC's default NACL: rule 100 allows all (rule 101 for IPv6 when the VPC has IPv6)."""
        entries = [NaclEntry(100, Action.ALLOW, ALL, WORLD_V4, origin=origin)]
        if ipv6:
            entries.append(NaclEntry(101, Action.ALLOW, ALL, WORLD_V6, origin=origin))
        return cls(id, tuple(entries), tuple(entries), origin)

    @classmethod
    def custom(cls, id: str, origin: Origin | None = None) -> "NetworkAcl":
        """A new custom NACL as AWS creates it: no entries, so the `*` rule denies everything."""
        return cls(id, origin=origin)

    def entries(self, direction: Direction) -> tuple[NaclEntry, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def with_entry(self, direction: Direction, entry: NaclEntry) -> "NetworkAcl":
        """A new version with `entry` added; a number already used in that direction is refused."""
        if any(e.number == entry.number for e in self.entries(direction)):
            raise ModelError(f"{self.id} already has {direction} rule {entry.number} "
                             "(AWS: NetworkAclEntryAlreadyExists)")
        return self._with(direction, self.entries(direction) + (entry,))

    def without_entry(self, direction: Direction, number: int) -> "NetworkAcl":
        """A new version without entry `number`."""
        entries = self.entries(direction)
        if not any(e.number == number for e in entries):
            raise ModelError(f"{self.id} has no {direction} rule {number} to delete")
        return self._with(direction, tuple(e for e in entries if e.number != number))

    def _with(self, direction: Direction, entries: tuple[NaclEntry, ...]) -> "NetworkAcl":
        if direction is Direction.INGRESS:
            return replace(self, ingress=entries)
        return replace(self, egress=entries)
