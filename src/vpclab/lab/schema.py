"""The lab file's shape (DESIGN.md, 'The lab file'), checked by Pydantic: unknown keys are errors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Port = Annotated[int, Field(ge=1, le=65535)]
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


class LabSpec(Strict):
    lab: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: Name
    about: str = ""
    vpc: VpcSpec
    subnets: dict[Name, SubnetSpec] = {}
    nacls: dict[Name, NaclSpec] = {}
    prefix_lists: dict[Name, list[str]] = {}
    security_groups: dict[Name, SgSpec] = {}
    hosts: dict[Name, HostSpec]
    steps: list[Any] = []


# ---- steps ---------------------------------------------------------------------------------------------

class ListenStep(Strict):
    host: Name
    proto: Literal["tcp", "udp"] = "tcp"
    port: Port
    reply: bool = False


class ConnectStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    port: Port
    sport: Port | None = None
    name: Name | None = Field(None, alias="as")
    expect: Literal["established", "blocked", "refused"] | None = None


class SendStep(Strict):
    conn: Name
    data: str = "data"
    side: Literal["client", "server"] = Field("client", alias="from")
    expect: Literal["delivered", "dropped"] | None = None


class CloseStep(Strict):
    conn: Name
    side: Literal["client", "server"] = Field("client", alias="from")


class PingStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    id: Annotated[int, Field(ge=0, le=65535)] = 1
    seq: Annotated[int, Field(ge=0, le=65535)] = 1
    expect: Literal["reply", "no-reply"] | None = None


class IcmpStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    type: int | str
    code: Annotated[int, Field(ge=0, le=255)] = 0
    id: Annotated[int, Field(ge=0, le=65535)] = 0
    seq: Annotated[int, Field(ge=0, le=65535)] = 0
    expect: Literal["delivered", "dropped"] | None = None


class UdpStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    port: Port
    sport: Port | None = None
    data: str = "data"
    expect: Literal["delivered", "dropped"] | None = None


class WaitStep(Strict):
    seconds: Annotated[float, Field(ge=0, le=864000)]


class SgChangeStep(Strict):
    sg: Name
    ingress: SgRuleSpec | None = None
    egress: SgRuleSpec | None = None


class NaclEntryStep(Strict):
    nacl: Name
    ingress: NaclRuleSpec | None = None
    egress: NaclRuleSpec | None = None


class DeleteNaclEntryStep(Strict):
    nacl: Name
    direction: Literal["ingress", "egress"]
    rule: int


class AssociateNaclStep(Strict):
    subnet: Name
    nacl: Name


class SetSecurityGroupsStep(Strict):
    host: Name
    security_groups: list[Name]


STEP_TYPES: dict[str, type[Strict]] = {
    "listen": ListenStep, "connect": ConnectStep, "send": SendStep, "close": CloseStep, "ping": PingStep,
    "icmp": IcmpStep, "udp": UdpStep, "wait": WaitStep, "authorize": SgChangeStep, "revoke": SgChangeStep,
    "nacl_entry": NaclEntryStep, "delete_nacl_entry": DeleteNaclEntryStep, "associate_nacl": AssociateNaclStep,
    "set_security_groups": SetSecurityGroupsStep,
}
#: the outcome words each action may expect
OUTCOMES: dict[str, tuple[str, ...]] = {
    "connect": ("established", "blocked", "refused"), "send": ("delivered", "dropped"),
    "udp": ("delivered", "dropped"), "icmp": ("delivered", "dropped"), "ping": ("reply", "no-reply"),
}
CONFIG_ACTIONS = frozenset({"authorize", "revoke", "nacl_entry", "delete_nacl_entry", "associate_nacl",
                            "set_security_groups"})
