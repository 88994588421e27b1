"""Network interfaces (the unit of groups and connection tracking): standalone ENIs and their attachments,
instances' primary ENIs, added groups, and Elastic IPs (§9.5-9.6)."""

from __future__ import annotations

from typing import Any

from vpclab.load.terraform.blocks import inline, values
from vpclab.load.terraform.context import Context
from vpclab.load.terraform.walk import Resource

TYPES = frozenset({"aws_instance", "aws_network_interface", "aws_network_interface_attachment",
                   "aws_network_interface_sg_attachment", "aws_eip", "aws_eip_association"})


def read(ctx: Context) -> None:
    """ENIs, instances, then what attaches to them: instances, groups, Elastic IPs."""
    primaries: dict[str, str] = {}  # instance id → its primary ENI
    for res in ctx.of_type("aws_network_interface"):
        _interface(ctx, res)
    for res in ctx.of_type("aws_instance"):
        _instance(ctx, res, primaries)
    for res in ctx.of_type("aws_nat_gateway"):
        _nat_interface(ctx, res)
    for res in ctx.of_type("aws_network_interface_attachment"):
        _attach(ctx, res, ctx.one(res, "network_interface_id"), ctx.one(res, "instance_id"),
                res.known("device_index"), primaries)
    for res in ctx.of_type("aws_network_interface_sg_attachment"):
        eni, group = ctx.one(res, "network_interface_id"), ctx.one(res, "security_group_id")
        if eni and group and ctx.has("hosts", eni):
            if group not in ctx.get("hosts", eni)["security_groups"]:
                ctx.doc.append(("hosts", eni, "security_groups"), group, ctx.origin(res))
        else:
            ctx.warn(res, f"{group or 'a group'} for {eni or 'an unknown ENI'}, an ENI not in this document: skipped")
    for res in ctx.of_type("aws_eip"):
        if res.known("instance") or res.known("network_interface") or res.pending("instance") \
                or res.pending("network_interface"):
            _eip(ctx, res, res, res.known("associate_with_private_ip") or res.known("private_ip"), primaries)
    for res in ctx.of_type("aws_eip_association"):
        eip = ctx.find(ctx.one(res, "allocation_id") or "", "aws_eip")
        _eip(ctx, res, eip or res, res.known("private_ip_address"), primaries)
    instances = {ctx.id_of(res): res for res in ctx.of_type("aws_instance")}
    for eni, host in ctx.doc.data.get("hosts", {}).items():  # an ENI without a Name tag is named after its instance
        owner = instances.get(host.get("instance") or "")
        name = ctx.meta(owner).get("name") if owner else None
        if name and "name" not in host:
            ctx.doc.put(("hosts", eni, "name"), name, ctx.origin(owner))


def _interface(ctx: Context, res: Resource) -> None:
    """A standalone ENI; without groups it gets its VPC's default group, as AWS does."""
    eni = ctx.id_of(res)
    subnet = ctx.one(res, "subnet_id")
    addresses = res.known("private_ip_list") or sorted(res.known("private_ips") or [])
    primary = res.known("private_ip") or (addresses[0] if addresses else None)
    if len(addresses) > 1 and not res.known("private_ip") and not res.known("private_ip_list"):
        ctx.warn(res, f"which of {', '.join(addresses)} is the primary address is known only after apply: "
                      f"{primary} is taken")
    entry = _host(ctx, res, subnet, primary, [a for a in addresses if a != primary], ctx.ids(res, "security_groups"))
    entry["interface_type"] = res.known("interface_type") or "interface"
    for block in inline(ctx, res, "attachment"):
        entry.update(instance=next(iter(values(ctx, res, "attachment", block, "instance", ids=True)), None))
    ctx.doc.put(("hosts", eni), entry, ctx.origin(res))


def _instance(ctx: Context, res: Resource, primaries: dict[str, str]) -> None:
    """An instance: the ENIs of the document its `network_interface` blocks attach, and unless one of them is
    device 0, its primary ENI from its own attributes (subnet, private IP, groups by id or name, public IPv4)."""
    instance = ctx.id_of(res)
    attached = [(eni, block.values.get("device_index")) for block in inline(ctx, res, "network_interface")
                for eni in values(ctx, res, "network_interface", block, "network_interface_id", ids=True)]
    for eni, index in attached:
        if ctx.has("hosts", eni):
            _attach(ctx, res, eni, instance, index, primaries)
    if instance in primaries:  # its primary ENI is a network interface resource
        return
    eni = ctx.id_of(res, "primary_network_interface_id")
    subnet = ctx.one(res, "subnet_id")
    if subnet is None and not ctx.config.expression(res, "subnet_id"):
        ctx.warn(res, "no subnet_id: the instance is in a default subnet of the default VPC, which this document "
                      "does not hold")
    groups = ctx.ids(res, "vpc_security_group_ids")
    names = res.known("security_groups") or []  # group names: the default VPC's (and EC2-Classic's) way
    if names:
        groups += [g for g, entry in ctx.doc.data.get("security_groups", {}).items()
                   if entry.get("name") in names and g not in groups]
    entry = _host(ctx, res, subnet, res.known("private_ip"), res.known("secondary_private_ips") or [], groups)
    entry.update(instance=instance, interface_type="interface")
    public = res.known("associate_public_ip_address")
    if public is None or res.pending("associate_public_ip_address"):
        owner = ctx.find(subnet or "", "aws_subnet") or next(
            (s for s in ctx.of_type("aws_subnet", mode="data") if s.known("id") == subnet), None)
        public = bool(owner and owner.known("map_public_ip_on_launch"))
    if res.known("public_ip"):
        entry["public_ip"] = res.known("public_ip")
    elif public and res.pending("public_ip"):
        entry["public_ip_unknown"] = True
        ctx.warn(res, "the public IPv4 address AWS assigns at launch is known only after apply")
    ctx.doc.put(("hosts", eni), entry, ctx.origin(res))
    primaries[instance] = eni


def _nat_interface(ctx: Context, res: Resource) -> None:
    """A NAT gateway's own ENI, as describe-network-interfaces lists it (no security group, source/destination
    check off, managed by AWS): known when its id, subnet and address are (a state; a plan knows them only after
    apply)."""
    nat = ctx.get("nat_gateways", ctx.id_of(res))
    eni, subnet, ip = nat.get("eni"), nat.get("subnet"), nat.get("private_ip")
    if not (eni and subnet and ip) or ctx.has("hosts", eni):
        return
    entry: dict[str, Any] = {"subnet": subnet, "ip": ip, "security_groups": [], "interface_type": "nat_gateway",
                             "source_dest_check": False, "requester_managed": True}
    if nat.get("public_ip"):
        entry["public_ip"] = nat["public_ip"]
    ctx.doc.put(("hosts", eni), entry, ctx.origin(res))


def _host(ctx: Context, res: Resource, subnet: str | None, ip: str | None, secondary: list[str],
          groups: list[str]) -> dict[str, Any]:
    """The keys an instance's primary ENI and a standalone ENI share."""
    entry: dict[str, Any] = {"subnet": subnet}
    if ip:
        entry["ip"] = ip
    else:
        ctx.warn(res, "the private IPv4 address is known only after apply: left out")
    if secondary:
        entry["secondary_ips"] = list(secondary)
    ipv6 = res.known("ipv6_addresses") or []
    if ipv6:
        entry.update(ipv6=ipv6[0], **({"ipv6_addresses": list(ipv6)} if len(ipv6) > 1 else {}))
    vpc = ctx.get("subnets", subnet).get("vpc") if subnet and ctx.has("subnets", subnet) else None
    if not groups and vpc:
        groups = [ctx.default_group(vpc)]
    elif not groups:
        ctx.warn(res, "no security group is known and neither is the VPC whose default group it would get")
    entry["security_groups"] = groups
    entry["source_dest_check"] = res.known("source_dest_check") is not False
    return {**entry, **ctx.meta(res)}  # an instance's Name tag names its primary ENI


def _attach(ctx: Context, res: Resource, eni: str | None, instance: str | None, index: Any,
            primaries: dict[str, str]) -> None:
    """Attach an ENI of the document to an instance (device 0 is the instance's primary ENI)."""
    if eni is None or instance is None or not ctx.has("hosts", eni):
        ctx.warn(res, f"an attachment of {eni or 'an unknown ENI'}, an ENI not in this document: skipped")
        return
    ctx.doc.put(("hosts", eni, "instance"), instance, ctx.origin(res))
    if str(index) == "0":
        primaries[instance] = eni


def _eip(ctx: Context, res: Resource, eip: Resource, private_ip: str | None, primaries: dict[str, str]) -> None:
    """An Elastic IP on an ENI (or an instance's primary ENI): the public address of its primary private address,
    or of the secondary one it is associated with."""
    eni = ctx.one(res, "network_interface" if res.type == "aws_eip" else "network_interface_id")
    instance = ctx.one(res, "instance" if res.type == "aws_eip" else "instance_id")
    host = eni or primaries.get(instance or "")
    if any(n.get("eni") == host for n in ctx.doc.data.get("nat_gateways", {}).values()):
        return  # a NAT gateway's address, already read with the NAT gateway
    if host is None or not ctx.has("hosts", host):
        ctx.warn(res, f"an Elastic IP for {host or instance or 'an unknown ENI'}, not in this document: skipped")
        return
    public = res.known("public_ip") or eip.known("public_ip")
    if private_ip and private_ip != ctx.get("hosts", host).get("ip"):
        if public:
            ctx.doc.put(("hosts", host, "public_ips", private_ip), public, ctx.origin(res))
    elif public:
        ctx.doc.put(("hosts", host, "public_ip"), public, ctx.origin(res))
        ctx.get("hosts", host).pop("public_ip_unknown", None)
    else:
        ctx.doc.put(("hosts", host, "public_ip_unknown"), True, ctx.origin(res))
        ctx.warn(res, f"the Elastic IP address of {host} is known only after apply")
