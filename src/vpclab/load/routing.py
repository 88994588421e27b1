"""The routing part of a network document → model objects: route tables, gateways, NAT gateways, peerings,
endpoints, transit gateways (docs/network-data.md). A mixin of the assembler: problems go through its checker.

What AWS adds implicitly and documents leave out is added here and counted in `added`: each table's `local`
route per VPC CIDR (Terraform states omit them), and a transit gateway table's propagated routes (the VPC CIDRs of
its propagating attachments).
"""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address
from typing import Any

from vpclab.load.checker import Checker, Locator
from vpclab.load.problems import Path
from vpclab.load.spec import EndpointSpec, NatGatewaySpec, PeeringSpec, RouteTableSpec, TransitGatewaySpec
from vpclab.model import ModelError, Vpc, parse_cidr, parse_ip
from vpclab.model.addresses import IPNetwork
from vpclab.model.frozen import FrozenMap
from vpclab.model.routing import (Gateway, NatGateway, Peering, Route, RouteTable, TargetKind, TgwAttachment,
                                  TgwRoute, TransitGateway, VpcEndpoint)

GATEWAY_SECTIONS = (("internet_gateways", TargetKind.INTERNET_GATEWAY),
                    ("egress_only_gateways", TargetKind.EGRESS_ONLY_GATEWAY),
                    ("vpn_gateways", TargetKind.VPN_GATEWAY))


class RoutingBuilder(Checker):
    """Builds the routing objects of a checked document spec; `added` counts the AWS defaults it adds."""

    def __init__(self, locate: Locator | None = None) -> None:
        super().__init__(locate)
        self.added: Counter[str] = Counter()

    def routing(self, spec: Any, vpcs: dict[str, Vpc]) -> dict[str, FrozenMap]:
        """Every routing section of `spec` as the Network's keyword arguments."""
        tables = {tid: t for tid, s in (spec.route_tables or {}).items()
                  if (t := self.route_table(tid, s, vpcs)) is not None}
        gateways = {gid: Gateway(gid, kind, g.vpc, self.locate((section, gid)))
                    for section, kind in GATEWAY_SECTIONS for gid, g in (getattr(spec, section) or {}).items()}
        nats = {nid: n for nid, s in (spec.nat_gateways or {}).items() if (n := self.nat_gateway(nid, s)) is not None}
        peerings = {pid: p for pid, s in (spec.peerings or {}).items() if (p := self.peering(pid, s)) is not None}
        endpoints = {eid: self.endpoint(eid, s) for eid, s in (spec.vpc_endpoints or {}).items()}
        tgws = {tid: self.transit_gateway(tid, s, vpcs) for tid, s in (spec.transit_gateways or {}).items()}
        return {"route_tables": FrozenMap(tables), "gateways": FrozenMap(gateways), "nat_gateways": FrozenMap(nats),
                "peerings": FrozenMap(peerings), "vpc_endpoints": FrozenMap(endpoints),
                "transit_gateways": FrozenMap(tgws)}

    def destination(self, path: Path, value: str) -> IPNetwork | str | None:
        """A route's destination: a CIDR, or a prefix list id (a gateway endpoint's route)."""
        if value.startswith("pl-"):
            return value
        try:
            return parse_cidr(value)
        except ModelError as error:
            self.fail(path, str(error))
            return None

    def route_table(self, tid: str, spec: RouteTableSpec, vpcs: dict[str, Vpc]) -> RouteTable | None:
        """A route table with AWS's `local` routes added where the document leaves them out."""
        path: Path = ("route_tables", tid)
        routes = []
        for index, route in enumerate(spec.routes):
            destination = self.destination(path + ("routes", index, "destination"), route.destination)
            if destination is not None:
                routes.append(Route(destination, route.target, route.state, route.origin == "propagated",
                                    self.locate(path + ("routes", index))))
        vpc = vpcs.get(spec.vpc)
        if vpc is None:
            self.fail(path + ("vpc",), f"unknown VPC {spec.vpc!r}: expected one of {', '.join(vpcs) or '(none)'}")
            return None
        present = {r.destination for r in routes if r.kind is TargetKind.LOCAL}
        for cidr in vpc.cidrs:
            if cidr not in present:
                routes.insert(0, Route(cidr, "local", origin=vpc.origin))
                self.added["local_routes"] += 1
        return RouteTable(tid, spec.vpc, tuple(routes), spec.main, tuple(spec.subnets), tuple(spec.gateways),
                          self.locate(path))

    def nat_gateway(self, nid: str, spec: NatGatewaySpec) -> NatGateway | None:
        path: Path = ("nat_gateways", nid)
        if spec.private_ip is None:
            self.warn(path, f"NAT gateway {nid} has no private address (known only after apply): left out")
            return None
        try:
            private = parse_ip(spec.private_ip)
            public = parse_ip(spec.public_ip) if spec.public_ip else None
        except ModelError as error:
            self.fail(path, str(error))
            return None
        if not isinstance(private, IPv4Address) or (public is not None and not isinstance(public, IPv4Address)):
            self.fail(path, "expected IPv4 addresses for a NAT gateway")
            return None
        return NatGateway(nid, spec.subnet, private, public, spec.connectivity, spec.eni, self.locate(path))

    def peering(self, pid: str, spec: PeeringSpec) -> Peering | None:
        path: Path = ("peerings", pid)
        try:
            requester = tuple(parse_cidr(c) for c in spec.requester_cidrs)
            accepter = tuple(parse_cidr(c) for c in spec.accepter_cidrs)
        except ModelError as error:
            self.fail(path, str(error))
            return None
        return Peering(pid, spec.requester, spec.accepter, spec.state, requester, accepter, self.locate(path))

    def endpoint(self, eid: str, spec: EndpointSpec) -> VpcEndpoint:
        return VpcEndpoint(eid, spec.vpc, spec.type, spec.service, tuple(spec.route_tables), tuple(spec.subnets),
                           tuple(spec.enis), tuple(spec.security_groups), self.locate(("vpc_endpoints", eid)))

    def transit_gateway(self, tid: str, spec: TransitGatewaySpec, vpcs: dict[str, Vpc]) -> TransitGateway:
        """A transit gateway; a table's propagations become routes to the propagating VPCs' CIDRs (§5.1)."""
        path: Path = ("transit_gateways", tid)
        attachments = tuple(TgwAttachment(aid, a.type, a.resource, tuple(a.subnets), a.route_table, a.state,
                                          self.locate(path + ("attachments", aid)))
                            for aid, a in spec.attachments.items())
        by_id = {a.id: a for a in attachments}
        tables = []
        for rid, table in spec.route_tables.items():
            where = path + ("route_tables", rid)
            routes: list[TgwRoute] = []
            for index, route in enumerate(table.routes):
                destination = self.destination(where + ("routes", index), route.destination)
                if isinstance(destination, str):
                    self.warn(where + ("routes", index), f"prefix-list route {destination} of a transit gateway "
                              "table is not read")
                elif destination is not None:
                    routes.append(TgwRoute(destination, route.attachment, route.state, route.type == "propagated",
                                           self.locate(where + ("routes", index))))
            known = {r.destination for r in routes}
            for aid in table.propagations:
                attachment = by_id.get(aid)
                vpc = vpcs.get(attachment.resource) if attachment is not None and attachment.type == "vpc" else None
                for cidr in vpc.cidrs if vpc is not None else ():
                    if cidr not in known:
                        routes.append(TgwRoute(cidr, aid, propagated=True, origin=self.locate(where)))
                        self.added["tgw_propagated_routes"] += 1
            tables.append((rid, tuple(routes)))
        return TransitGateway(tid, attachments, tuple(tables), self.locate(path))
