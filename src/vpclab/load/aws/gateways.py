"""Gateways, peerings and endpoints: where routes lead (aws-routing-terraform.md §2-§4, §6, §8.2-§8.6).
Deleted, failed or rejected ones are skipped with a warning; routes to them stay, as AWS keeps them."""

from __future__ import annotations

from vpclab.load.aws.records import Record, present
from vpclab.load.document import Document

#: Attachment states of an attached gateway (an IGW reports `available`, §8.2).
ATTACHED = ("available", "attached")
#: Peering states that carry no traffic and never will (§4).
PEERING_GONE = ("deleted", "deleting", "rejected", "failed", "expired")


def read_attached_gateways(doc: Document, section: str, gateways: list[Record], id_key: str,
                           attachments: str) -> None:
    """Internet, egress-only and VPN gateways: `{vpc}`, null when detached."""
    for gateway in gateways:
        ident = gateway.data[id_key]
        if gateway.state() in ("deleting", "deleted"):
            doc.warn(gateway.origin, f"{ident} is {gateway.state()}: skipped")
            continue
        doc.put((section, ident), {"vpc": None, **gateway.common()}, gateway.origin)
        attached = next((a for a in gateway.children(attachments) if a.state() in ATTACHED), None)
        if attached is not None:
            doc.put((section, ident, "vpc"), attached.text("VpcId"), attached.origin)


def read_nat_gateways(doc: Document, gateways: list[Record]) -> None:
    """`nat_gateways`: available ones, with the primary address (§3, §8.4); ConnectivityType defaults to public."""
    for gateway in gateways:
        ident = gateway.data["NatGatewayId"]
        if gateway.state() != "available":
            doc.warn(gateway.origin, f"NAT gateway {ident} is {gateway.state()}: skipped (only available ones "
                                     "route traffic)")
            continue
        addresses = gateway.children("NatGatewayAddresses")
        primary = next((a for a in addresses if a.data.get("IsPrimary") is True), addresses[0] if addresses else None)
        if len(addresses) > 1:
            doc.warn(gateway.origin, f"NAT gateway {ident}: only its primary address is modelled")
        doc.put(("nat_gateways", ident), present(
            subnet=gateway.text("SubnetId"), eni=primary.text("NetworkInterfaceId") if primary else None,
            private_ip=primary.text("PrivateIp") if primary else None,
            public_ip=primary.text("PublicIp") if primary else None,
            connectivity=gateway.text("ConnectivityType") or "public", **gateway.common()), gateway.origin)


def read_peerings(doc: Document, peerings: list[Record]) -> None:
    """`peerings`: both VPCs (maybe absent from the snapshot) with their accounts, regions and CIDRs (§4, §8.5)."""
    for peering in peerings:
        ident, state = peering.data["VpcPeeringConnectionId"], peering.state("Status")
        if state is None or state in PEERING_GONE:
            doc.warn(peering.origin, f"peering {ident} is {state or 'without a status'}: skipped")
            continue
        value = {"state": state, **present(name=peering.name())}
        for side in ("requester", "accepter"):
            info = peering.child(f"{side.capitalize()}VpcInfo")
            if info is None:
                continue
            value.update(present(**{side: info.text("VpcId"), f"{side}_account": info.text("OwnerId"),
                                    f"{side}_region": info.text("Region")}))
            primary = info.text("CidrBlock")  # CIDRs are only given for an active peering
            value[f"{side}_cidrs"] = ((info.texts("CidrBlockSet", "CidrBlock") or ([primary] if primary else []))
                                      + info.texts("Ipv6CidrBlockSet", "Ipv6CidrBlock"))
        doc.put(("peerings", ident), value, peering.origin)


def read_vpc_endpoints(doc: Document, endpoints: list[Record]) -> None:
    """`vpc_endpoints`: available ones; a gateway endpoint's route tables, an interface endpoint's subnets, ENIs and
    groups (§6, §8.6; State is capitalised here, unlike most EC2 enums)."""
    for endpoint in endpoints:
        ident, kind = endpoint.data["VpcEndpointId"], endpoint.text("VpcEndpointType")
        if (endpoint.state() or "").lower() != "available":
            doc.warn(endpoint.origin, f"endpoint {ident} is {endpoint.state()}: skipped")
            continue
        where = {"route_tables": endpoint.texts("RouteTableIds")} if kind == "Gateway" else {
            "subnets": endpoint.texts("SubnetIds"), "enis": endpoint.texts("NetworkInterfaceIds"),
            "security_groups": endpoint.texts("Groups", "GroupId")}
        doc.put(("vpc_endpoints", ident), {"vpc": endpoint.text("VpcId"), "type": kind,
                                           "service": endpoint.text("ServiceName"), **where, **endpoint.common()},
                endpoint.origin)
