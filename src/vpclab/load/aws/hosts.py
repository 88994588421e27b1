"""Hosts: one per network interface, from NetworkInterfaces and from the instances of Reservations (merged by ENI
id), with the Elastic IPs of Addresses (aws-semantics.md §6.4, §6.8; aws-routing-terraform.md §7, §8.7, §8.9)."""

from __future__ import annotations

import re
from typing import Any

from vpclab.errors import Origin
from vpclab.load.aws.records import Record
from vpclab.load.document import Document

Fields = dict[str, tuple[Any, Origin]]


def read_hosts(doc: Document, interfaces: list[Record], reservations: list[Record], addresses: list[Record]) -> None:
    """`hosts`: each ENI once; NetworkInterfaces' view of an ENI first, the instance's view fills what it lacks."""
    enis: dict[str, tuple[Record, Fields]] = {eni.data["NetworkInterfaceId"]: (eni, _fields(eni)) for eni in interfaces}
    for instance in _instances(doc, reservations):
        for eni in instance.children("NetworkInterfaces"):
            ident = eni.text("NetworkInterfaceId")
            if ident is None:
                doc.warn(eni.origin, "no NetworkInterfaceId: skipped")
                continue
            first, fields = enis.get(ident, (eni, {}))
            enis[ident] = first, {**_fields(eni, instance), **fields}
    for ident, (eni, fields) in enis.items():
        if "ip" not in fields:
            doc.warn(eni.origin, f"{ident} has no private IPv4 address: the network document needs one: skipped")
            continue
        doc.put(("hosts", ident), {}, eni.origin)
        for key, (value, origin) in fields.items():
            doc.put(("hosts", ident, key), value, origin)
    _elastic_ips(doc, addresses)


def _instances(doc: Document, reservations: list[Record]) -> list[Record]:
    """The instances of `reservations`, each once; one without interfaces (terminated) is skipped with a warning."""
    seen: set[str] = set()
    instances = []
    for reservation in reservations:
        for instance in reservation.children("Instances"):
            ident = instance.text("InstanceId")
            if ident in seen:
                continue
            if ident is not None:
                seen.add(ident)
            if not instance.children("NetworkInterfaces"):
                doc.warn(instance.origin, f"instance {ident} ({instance.state() or 'no state'}) has no network "
                                          "interface: skipped")
                continue
            instances.append(instance)
    return instances


def _fields(eni: Record, instance: Record | None = None) -> Fields:
    """The document's keys for one ENI as either output writes it, each with where it came from."""
    here = eni.origin
    addresses = eni.children("PrivateIpAddresses")
    ip = eni.text("PrivateIpAddress") or next(
        (a.text("PrivateIpAddress") for a in addresses if a.data.get("Primary") is True), None)
    public = {private: association for a in addresses if (private := a.text("PrivateIpAddress"))
              and (association := a.child("Association")) and association.text("PublicIp")}
    primary_public = public.pop(ip, None) or (eni.child("Association") if ip else None)
    ipv6 = eni.texts("Ipv6Addresses", "Ipv6Address")
    attachment = eni.child("Attachment")
    instance_id = (attachment.text("InstanceId") if attachment else None) or (
        instance.text("InstanceId") if instance else None)
    kind = eni.text("InterfaceType")
    values: dict[str, tuple[Any, Origin]] = {
        "subnet": (eni.text("SubnetId"), here),
        "ip": (ip, here),
        "secondary_ips": ([a.text("PrivateIpAddress") for a in addresses
                           if a.text("PrivateIpAddress") not in (None, ip)] or None, eni.at("PrivateIpAddresses")),
        "public_ip": (primary_public.text("PublicIp") if primary_public else None,
                      primary_public.origin if primary_public else here),
        "public_ips": ({private: association.text("PublicIp") for private, association in public.items()} or None,
                       eni.at("PrivateIpAddresses")),
        "ipv6": (ipv6[0] if ipv6 else None, eni.at("Ipv6Addresses")),
        "ipv6_addresses": (ipv6 or None, eni.at("Ipv6Addresses")),
        "security_groups": (eni.texts("Groups", "GroupId") if "Groups" in eni.data else None, eni.at("Groups")),
        "instance": (instance_id, attachment.origin if attachment and attachment.text("InstanceId") else
                     instance.origin if instance else here),
        # AWS writes natGateway in some outputs and nat_gateway in others; the document writes nat_gateway
        "interface_type": (re.sub(r"(?<=[a-z])([A-Z])", r"_\1", kind).lower() if kind else None, here),
        "source_dest_check": (_flag(eni, "SourceDestCheck"), here),
        "requester_managed": (_flag(eni, "RequesterManaged"), here),
        **{key: (value, here) for key, value in eni.common().items()},
    }
    if "name" not in values and instance is not None and instance.name():
        values["name"] = (instance.name(), instance.origin)  # the instance's Name tag names its ENIs
    return {key: pair for key, pair in values.items() if pair[0] is not None}


def _flag(record: Record, key: str) -> bool | None:
    value = record.data.get(key)
    return value if isinstance(value, bool) else None


def _elastic_ips(doc: Document, addresses: list[Record]) -> None:
    """An Elastic IP of Addresses gives an ENI's private address its public one unless the ENI already names it."""
    hosts = doc.data.get("hosts", {})
    for address in addresses:
        eni, private, public = (address.text("NetworkInterfaceId"), address.text("PrivateIpAddress"),
                                address.text("PublicIp"))
        if eni is None or private is None:
            continue  # not associated with an interface
        host = hosts.get(eni)
        if host is None:
            doc.warn(address.origin, f"Elastic IP {public} is associated with {eni}, which is not in the snapshot")
        elif private == host["ip"]:
            if "public_ip" not in host:
                doc.put(("hosts", eni, "public_ip"), public, address.origin)
        elif private not in host.get("secondary_ips", []):
            doc.warn(address.origin, f"Elastic IP {public} is associated with {private}, which {eni} does not list")
        elif private not in host.get("public_ips", {}):
            doc.put(("hosts", eni, "public_ips", private), public, address.origin)
