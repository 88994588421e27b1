"""VPCs, subnets and prefix lists: the address space (aws-semantics.md §6.5, §6.6, §6.9)."""

from __future__ import annotations

from vpclab.load.aws.records import Record
from vpclab.load.document import Document


def read_vpcs(doc: Document, vpcs: list[Record]) -> None:
    """`vpcs`: associated IPv4 CIDRs with the primary first, associated IPv6 CIDRs; disassociated ones left out."""
    for vpc in vpcs:
        path = ("vpcs", vpc.data["VpcId"])
        doc.put(path, {"cidrs": [], "ipv6_cidrs": [], **vpc.common()}, vpc.origin)
        primary = vpc.text("CidrBlock")
        cidrs = _associated(vpc, "CidrBlockAssociationSet", "CidrBlock", "CidrBlockState")
        if not vpc.children("CidrBlockAssociationSet") and primary:
            cidrs = [(primary, vpc)]
        cidrs.sort(key=lambda pair: pair[0] != primary)  # the primary CIDR first
        for cidr, where in cidrs:
            doc.append(path + ("cidrs",), cidr, where.origin)
        for cidr, where in _associated(vpc, "Ipv6CidrBlockAssociationSet", "Ipv6CidrBlock", "Ipv6CidrBlockState"):
            doc.append(path + ("ipv6_cidrs",), cidr, where.origin)


def read_subnets(doc: Document, subnets: list[Record], nacls: list[Record]) -> None:
    """`subnets`, each with the NACL an association names (none: the VPC's default NACL, aws-semantics.md §3.2)."""
    associations = {association.text("SubnetId"): (acl.data["NetworkAclId"], association)
                    for acl in nacls for association in acl.children("Associations")}
    for subnet in subnets:
        path = ("subnets", subnet.data["SubnetId"])
        if subnet.text("CidrBlock") is None:
            doc.warn(subnet.origin, "IPv6-only subnet: the network document needs an IPv4 cidr: skipped")
            continue
        ipv6 = _associated(subnet, "Ipv6CidrBlockAssociationSet", "Ipv6CidrBlock", "Ipv6CidrBlockState")
        doc.put(path, {"vpc": subnet.text("VpcId"), "cidr": subnet.text("CidrBlock"),
                       "ipv6_cidr": ipv6[0][0] if ipv6 else None, "zone": subnet.text("AvailabilityZone"),
                       **subnet.common()}, subnet.origin)
        if path[1] in associations:
            acl, association = associations[path[1]]
            doc.put(path + ("nacl",), acl, association.origin)


def read_prefix_lists(doc: Document, lists: list[Record], managed: list[Record]) -> None:
    """`prefix_lists` as `{name, cidrs}`: `PrefixLists` (describe-prefix-lists, Batfish) carry `Cidrs`; a
    `ManagedPrefixLists` object carries its CIDRs only when the collector added `Entries` to it."""
    for prefix_list in lists:
        doc.put(("prefix_lists", prefix_list.data["PrefixListId"]),
                {"name": prefix_list.text("PrefixListName"), "cidrs": prefix_list.texts("Cidrs"),
                 **prefix_list.common()}, prefix_list.origin)
    for prefix_list in managed:
        ident = prefix_list.data["PrefixListId"]
        if ident in doc.data.get("prefix_lists", {}):
            continue
        if not isinstance(prefix_list.data.get("Entries"), list):
            doc.warn(prefix_list.origin, f"{ident}: its entries are not in the snapshot "
                                         "(get-managed-prefix-list-entries): skipped")
            continue
        doc.put(("prefix_lists", ident), {"name": prefix_list.text("PrefixListName"), "cidrs": [],
                                          **prefix_list.common()}, prefix_list.origin)
        for entry in prefix_list.children("Entries"):
            if entry.text("Cidr"):
                doc.append(("prefix_lists", ident, "cidrs"), entry.text("Cidr"), entry.origin)


def _associated(record: Record, key: str, cidr_key: str, state_key: str) -> list[tuple[str, Record]]:
    """The CIDRs of an association set whose state is `associated` (or not given), each with its association."""
    return [(cidr, association) for association in record.children(key)
            if (cidr := association.text(cidr_key)) and association.state(state_key) in (None, "associated")]
