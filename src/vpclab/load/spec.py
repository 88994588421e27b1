"""The network part of the lab file's shape (DESIGN.md, 'The lab file'), checked by Pydantic: unknown keys are errors.

Every front door (lab YAML, AWS describe JSON, Terraform JSON) hands the assembler data in this shape.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class VpcSpec(Strict):
    cidr: str
    ipv6_cidr: str | None = None


class SubnetSpec(Strict):
    cidr: str
    ipv6_cidr: str | None = None
    nacl: Name | None = None  # None: the VPC's default NACL
    public: bool = False
    vpc: Name | None = None  # None: the network's only VPC
    zone: str = ""
    name: str = ""
    account: str = ""
    region: str = ""


class IcmpSpec(Strict):
    type: int | str = -1
    code: int = -1


class NaclRuleSpec(Strict):
    rule: int
    action: Literal["allow", "deny"]
    proto: int | str
    cidr: str
    ports: int | str | None = None
    icmp: IcmpSpec | None = None


class NaclSpec(Strict):
    ingress: list[NaclRuleSpec] = []
    egress: list[NaclRuleSpec] = []
    vpc: Name | None = None
    default: bool = False  # the VPC's default NACL
    name: str = ""
    account: str = ""
    region: str = ""


class SgRuleSpec(Strict):
    proto: int | str
    ports: int | str | None = None
    icmp: IcmpSpec | None = None
    cidr: str | None = None
    sg: Name | None = None
    prefix_list: Name | None = None
    description: str = ""


class SgSpec(Strict):
    ingress: list[SgRuleSpec] | None = None  # None: none, or for the VPC's default group AWS's rules
    egress: list[SgRuleSpec] | None = None  # None: AWS's default allow-all egress
    description: str = ""
    vpc: Name | None = None
    name: str = ""
    default: bool = False  # the VPC's default group
    used_by: list[str] = []  # Terraform addresses of the resources that name it (modelled or not): it is in use
    account: str = ""
    region: str = ""


class ConntrackSpec(Strict):
    tcp_established: int = 432000
    udp: int = 30
    udp_stream: int = 180
    icmp: int = 30
    max_entries: int | None = None


class HostSpec(Strict):
    ip: str | None = None  # None only in documents (an address Terraform knows after apply): left out, warned
    subnet: Name | None = None
    public_ip: str | None = None
    ipv6: str | None = None
    security_groups: list[Name] = []
    conntrack: ConntrackSpec = ConntrackSpec()
    icmp_echo_ignore: bool = False
    ephemeral_ports: int | str = "32768-60999"
    internet: bool = False
    secondary_ips: list[str] = []
    public_ips: dict[str, str] = {}
    public_ip_unknown: bool = False
    ipv6_addresses: list[str] = []
    instance: str | None = None
    interface_type: str = "interface"
    source_dest_check: bool = True
    requester_managed: bool = False
    name: str = ""
    account: str = ""
    region: str = ""


class Tagged(Strict):
    """What every object of a network document may carry: its Name tag, account and region."""

    name: str = ""
    account: str = ""
    region: str = ""


class PrefixListSpec(Tagged):
    cidrs: list[str]


class VpcEntrySpec(Tagged):
    """One VPC of a network document's `vpcs` (docs/network-data.md)."""

    cidrs: list[str]
    ipv6_cidrs: list[str] = []


class RouteSpec(Strict):
    destination: str
    target: Name
    state: Literal["active", "blackhole"] = "active"
    origin: Literal["static", "propagated"] = "static"


class RouteTableSpec(Tagged):
    vpc: Name
    main: bool = False
    subnets: list[Name] = []
    gateways: list[Name] = []
    routes: list[RouteSpec] = []


class GatewaySpec(Tagged):
    vpc: Name | None = None


class NatGatewaySpec(Tagged):
    subnet: Name
    private_ip: str | None = None
    public_ip: str | None = None
    connectivity: Literal["public", "private"] = "public"
    eni: str | None = None


class PeeringSpec(Strict):
    requester: Name
    accepter: Name
    state: str = "active"
    requester_cidrs: list[str] = []
    accepter_cidrs: list[str] = []
    requester_account: str = ""
    accepter_account: str = ""
    requester_region: str = ""
    accepter_region: str = ""
    name: str = ""


class EndpointSpec(Tagged):
    vpc: Name
    type: str
    service: str = ""
    route_tables: list[str] = []
    subnets: list[str] = []
    enis: list[str] = []
    security_groups: list[str] = []


class TgwRouteSpec(Strict):
    destination: str
    attachment: str | None = None
    type: Literal["static", "propagated"] = "static"
    state: str = "active"


class TgwAttachmentSpec(Tagged):
    type: str = "vpc"
    resource: str = ""
    subnets: list[str] = []
    route_table: str | None = None
    state: str = "available"


class TgwRouteTableSpec(Tagged):
    routes: list[TgwRouteSpec] = []
    propagations: list[str] = []


class TransitGatewaySpec(Tagged):
    attachments: dict[str, TgwAttachmentSpec] = {}
    route_tables: dict[str, TgwRouteTableSpec] = {}


class NetworkSpec(Strict):
    """A whole network: what `vpclab.load.assemble` takes."""

    vpc: VpcSpec
    subnets: dict[Name, SubnetSpec] = {}
    nacls: dict[Name, NaclSpec] = {}
    prefix_lists: dict[Name, list[str]] = {}
    security_groups: dict[Name, SgSpec] = {}
    hosts: dict[Name, HostSpec]


class DocumentSpec(NetworkSpec):
    """A network document of an importer (docs/network-data.md): several VPCs, route tables and gateways."""

    vpc: VpcSpec | None = None  # type: ignore[assignment]
    vpcs: dict[Name, VpcEntrySpec] = {}
    prefix_lists: dict[Name, list[str] | PrefixListSpec] = {}  # type: ignore[assignment]
    hosts: dict[Name, HostSpec] = {}  # type: ignore[assignment]
    route_tables: dict[Name, RouteTableSpec] = {}
    internet_gateways: dict[Name, GatewaySpec] = {}
    egress_only_gateways: dict[Name, GatewaySpec] = {}
    vpn_gateways: dict[Name, GatewaySpec] = {}
    nat_gateways: dict[Name, NatGatewaySpec] = {}
    peerings: dict[Name, PeeringSpec] = {}
    vpc_endpoints: dict[Name, EndpointSpec] = {}
    transit_gateways: dict[Name, TransitGatewaySpec] = {}
