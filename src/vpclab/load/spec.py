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
    nacl: Name = "default"
    public: bool = False


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


class SgRuleSpec(Strict):
    proto: int | str
    ports: int | str | None = None
    icmp: IcmpSpec | None = None
    cidr: str | None = None
    sg: Name | None = None
    prefix_list: Name | None = None
    description: str = ""


class SgSpec(Strict):
    ingress: list[SgRuleSpec] = []
    egress: list[SgRuleSpec] | None = None  # None: AWS's default allow-all egress
    description: str = ""


class ConntrackSpec(Strict):
    tcp_established: int = 432000
    udp: int = 30
    udp_stream: int = 180
    icmp: int = 30
    max_entries: int | None = None


class HostSpec(Strict):
    ip: str
    subnet: Name | None = None
    public_ip: str | None = None
    ipv6: str | None = None
    security_groups: list[Name] = []
    conntrack: ConntrackSpec = ConntrackSpec()
    icmp_echo_ignore: bool = False
    ephemeral_ports: int | str = "32768-60999"
    internet: bool = False


class NetworkSpec(Strict):
    """A whole network: what `vpclab.load.assemble` takes."""

    vpc: VpcSpec
    subnets: dict[Name, SubnetSpec] = {}
    nacls: dict[Name, NaclSpec] = {}
    prefix_lists: dict[Name, list[str]] = {}
    security_groups: dict[Name, SgSpec] = {}
    hosts: dict[Name, HostSpec]
