"""What every resource mapper shares: the document being filled, origins, and ids — known ones, ones found
through the configuration's references, and placeholders for ids known only after apply (§9.4)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vpclab.errors import Origin
from vpclab.load.document import Document
from vpclab.load.terraform.config import Configuration, references
from vpclab.load.terraform.detect import Kind
from vpclab.load.terraform.walk import Resource

#: The AWS id prefix of each id attribute a resource type holds; a placeholder keeps it so the kind of a route
#: target stays readable from its id (docs/network-data.md).
ID_PREFIXES: dict[str, dict[str, str]] = {
    "aws_vpc": {"id": "vpc", "default_security_group_id": "sg", "default_network_acl_id": "acl",
                "main_route_table_id": "rtb", "default_route_table_id": "rtb"},
    "aws_subnet": {"id": "subnet"},
    "aws_security_group": {"id": "sg"},
    "aws_default_security_group": {"id": "sg"},
    "aws_network_acl": {"id": "acl"},
    "aws_default_network_acl": {"id": "acl"},
    "aws_route_table": {"id": "rtb"},
    "aws_default_route_table": {"id": "rtb"},
    "aws_internet_gateway": {"id": "igw"},
    "aws_egress_only_internet_gateway": {"id": "eigw"},
    "aws_nat_gateway": {"id": "nat", "network_interface_id": "eni"},
    "aws_eip": {"id": "eipalloc"},
    "aws_vpc_peering_connection": {"id": "pcx"},
    "aws_vpc_peering_connection_accepter": {"id": "pcx"},
    "aws_vpn_gateway": {"id": "vgw"},
    "aws_vpc_endpoint": {"id": "vpce", "prefix_list_id": "pl"},
    "aws_ec2_transit_gateway": {"id": "tgw", "association_default_route_table_id": "tgw-rtb",
                                "propagation_default_route_table_id": "tgw-rtb"},
    "aws_ec2_transit_gateway_vpc_attachment": {"id": "tgw-attach"},
    "aws_ec2_transit_gateway_route_table": {"id": "tgw-rtb"},
    "aws_instance": {"id": "i", "primary_network_interface_id": "eni"},
    "aws_network_interface": {"id": "eni"},
    "aws_ec2_managed_prefix_list": {"id": "pl"},
}
#: Resources whose id is another resource's: adopted defaults and the accepter side of a peering.
ALIASES = {"aws_default_network_acl": "default_network_acl_id", "aws_default_route_table": "default_route_table_id",
           "aws_vpc_peering_connection_accepter": "vpc_peering_connection_id"}
#: The account's default VPC, where groups and instances without a VPC land (its CIDR is fixed by AWS).
DEFAULT_VPC, DEFAULT_VPC_CIDR = "vpc-default", "172.31.0.0/16"
ARN = re.compile(r"^arn:[^:]+:[^:]*:(?P<region>[^:]*):(?P<account>\d*):")


@dataclass
class TerraformDocument(Document):
    """A network document read from Terraform JSON, and which kind of document that was."""

    kind: Kind = "terraform-state"


@dataclass
class Context:
    """The document under construction and the resources and configuration it is made from."""

    doc: TerraformDocument
    file: str
    resources: dict[str, Resource]
    config: Configuration
    vpc_owners: dict[str, Resource] = field(default_factory=dict)  # VPC id → the aws_vpc / data.aws_vpc holding it
    _placeholders: set[str] = field(default_factory=set)
    _types: dict[tuple[str, str], list[Resource]] = field(default_factory=dict)
    _ids: dict[tuple[str, ...], dict[str, Resource]] = field(default_factory=dict)

    def of_type(self, *types: str, mode: str = "managed") -> list[Resource]:
        """The resources of these types, in document order."""
        if not self._types:
            for res in self.resources.values():
                self._types.setdefault((res.mode, res.type), []).append(res)
        found = [r for kind in types for r in self._types.get((mode, kind), [])]
        if len(types) > 1:
            order = {address: i for i, address in enumerate(self.resources)}
            found.sort(key=lambda r: order[r.address])
        return found

    def origin(self, res: Resource) -> Origin:
        return Origin(self.file, path=res.address)

    def warn(self, res: Resource | None, message: str) -> None:
        self.doc.warn(self.origin(res) if res else Origin(self.file), message)

    def has(self, section: str, key: str) -> bool:
        return key in self.doc.data.get(section, {})

    def get(self, section: str, key: str) -> dict[str, Any]:
        return self.doc.data[section][key]

    def meta(self, res: Resource, name: bool = True) -> dict[str, Any]:
        """`name` (the Name tag), `account` and `region` of a resource, where the document says them."""
        found: dict[str, Any] = {}
        tags = res.known("tags")
        if name and isinstance(tags, dict) and tags.get("Name"):
            found["name"] = tags["Name"]
        arn = ARN.match(str(res.known("arn") or ""))
        account = res.known("owner_id") or (arn and arn["account"])
        zone = res.known("availability_zone")
        region = ((arn and arn["region"]) or res.known("region") or (zone[:-1] if isinstance(zone, str) else None)
                  or self.config.region(res))
        found.update({k: v for k, v in (("account", account), ("region", region)) if v})
        return found

    def ids(self, res: Resource, attr: str) -> list[str]:
        """The ids an id attribute (one id or a list) holds after apply: known values, and for values known only
        after apply the resources its configured references name (their ids or placeholders)."""
        value = res.values.get(attr)
        if isinstance(value, str):
            found = [value] if value and res.unknown.get(attr) is not True else []
        else:
            found = [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []
        if not res.pending(attr):
            return found
        refs = references(self.config.expression(res, attr))
        targets = self.config.resolve(refs, res.module)
        if res.index is not None and any(r.split(".")[0] in ("count", "each") for r in refs):
            targets = [t for t in targets if t[0].index == res.index] or targets  # `x[count.index].id`
        for target, named in targets:
            for ident in self.target_ids(target, named, attr):
                if ident not in found:
                    found.append(ident)
        if refs and not targets:
            self.warn(res, f"{attr} is known only after apply and its references ({', '.join(refs)}) name no "
                           "resource of this document: left out")
        return found

    def one(self, res: Resource, attr: str) -> str | None:
        """The id an attribute holds (see `ids`), or None."""
        found = self.ids(res, attr)
        if len(found) > 1:
            self.warn(res, f"{attr} may be any of {', '.join(found)}: {found[0]} is used")
        return found[0] if found else None

    def id_of(self, res: Resource, attr: str = "id") -> str:
        """A resource's id (or another id attribute of it); a placeholder `<prefix>-<address>` when it is known
        only after apply, e.g. `sg-module.web.aws_security_group.app`, `eni-aws_instance.web` (its primary ENI)."""
        value = res.known(attr)
        if isinstance(value, str):
            return value
        if attr == "id" and res.type in ALIASES:
            linked = self.ids(res, ALIASES[res.type])
            if linked:
                return linked[0]
        if attr == "id" and res.type == "aws_default_security_group":
            vpc = self.one(res, "vpc_id")
            if vpc:
                return self.default_group_id(vpc)
        placeholder = placeholder_of(res, attr)
        if placeholder not in self._placeholders:
            self._placeholders.add(placeholder)
            when = "is known only after apply" if res.pending(attr) or not res.values else "is not in the document"
            self.warn(res, f"{attr} {when}: placeholder id {placeholder}")
        return placeholder

    def target_ids(self, target: Resource, named: str | None, attr: str) -> list[str]:
        """The ids a reference to `target` (naming attribute `named`, if any) gives to attribute `attr`."""
        prefixes = ID_PREFIXES.get(target.type, {})
        if named and named != "id" and named not in prefixes:
            return self.ids(target, named)  # e.g. aws_instance.web.subnet_id: what that attribute holds
        if not prefixes:
            return []
        return [self.id_of(target, named or (attr if attr in prefixes else "id"))]

    def find(self, ident: str, *types: str) -> Resource | None:
        """The resource of these types whose id (known or placeholder) is `ident`."""
        if types not in self._ids:
            self._ids[types] = {key: res for res in self.of_type(*types)
                                for key in (placeholder_of(res), res.known("id")) if isinstance(key, str)}
        return self._ids[types].get(ident)

    def vpc_behind(self, res: Resource, attr: str) -> str | None:
        """The VPC an attribute's references name: an adopted default NACL or route table known only through
        the VPC whose default it is."""
        for target, _ in self.config.resolve(references(self.config.expression(res, attr)), res.module):
            if target.type == "aws_vpc":
                return self.id_of(target)
        return None

    def default_group_id(self, vpc: str) -> str:
        """The id of a VPC's default security group (known, or a placeholder from the VPC's address)."""
        owner = self.vpc_owners.get(vpc)
        return self.id_of(owner, "default_security_group_id") if owner else f"sg-{vpc}"

    def default_group(self, vpc: str) -> str:
        """A VPC's default security group, declared in the document if Terraform does not declare it: with no
        rules given, the assembler gives it AWS's default rules."""
        group = self.default_group_id(vpc)
        if not self.has("security_groups", group):
            owner = self.vpc_owners.get(vpc)
            self.doc.put(("security_groups", group), {"vpc": vpc, "name": "default", "default": True},
                         self.origin(owner) if owner else None)
            self.warn(owner, f"the default security group of {vpc} is used but not managed by Terraform: "
                             f"{group} with AWS's default rules")
        return group

    def default_vpc(self, res: Resource) -> str:
        """The account's default VPC, declared on first use with AWS's fixed default CIDR and a warning."""
        if not self.has("vpcs", DEFAULT_VPC):
            self.doc.put(("vpcs", DEFAULT_VPC), {"cidrs": [DEFAULT_VPC_CIDR], **self.meta(res, name=False)},
                         self.origin(res))
            self.warn(res, f"no vpc_id: placed in the account's default VPC, placeholder {DEFAULT_VPC} "
                           f"({DEFAULT_VPC_CIDR}, the default VPC's CIDR)")
        return DEFAULT_VPC


def placeholder_of(res: Resource, attr: str = "id") -> str:
    """The stable placeholder of an id known only after apply: the AWS prefix, then the owner's address."""
    return f"{ID_PREFIXES.get(res.type, {}).get(attr, 'unknown')}-{res.address}"
