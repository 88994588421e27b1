"""The lab file's shape (DESIGN.md, 'The lab file'), checked by Pydantic: unknown keys are errors.

The network part is `vpclab.load.spec`; this adds the lab's header and its steps.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from vpclab.load.spec import NaclRuleSpec, Name, NetworkSpec, SgRuleSpec, Strict

Port = Annotated[int, Field(ge=1, le=65535)]
Data = Annotated[str, Field(min_length=1)]  # the backends recognise a delivery by its data
Family = Literal["ipv4", "ipv6"]  # which address of a host named by `to` (default: its IPv4 one)
Side = Annotated[str, Field(min_length=1)]  # `client`, `server`, or the host name of either end


class LabHeader(Strict):
    lab: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: Name
    about: str = ""


class LabSpec(NetworkSpec, LabHeader):
    """The whole lab file: header, network, steps (keys in that order)."""

    steps: list[Any] = []


class SnapshotHostSpec(Strict):
    """A lab name for one ENI of the snapshot (by id, Name tag or address), or a host on the internet."""

    eni: str | None = None
    name: str | None = None
    address: str | None = None
    internet: bool = False
    ip: str | None = None


class SnapshotLabSpec(LabHeader):
    """A lab on a real configuration: `snapshot: PATH` (relative to the lab file) instead of the network keys."""

    snapshot: Name
    hosts: dict[Name, SnapshotHostSpec] = {}
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
    family: Family | None = None
    expect: Literal["established", "blocked", "refused"] | None = None


class SendStep(Strict):
    conn: Name
    data: Data = "data"
    side: Side = Field("client", alias="from")
    expect: Literal["delivered", "dropped"] | None = None


class CloseStep(Strict):
    conn: Name
    side: Side = Field("client", alias="from")


class PingStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    id: Annotated[int, Field(ge=0, le=65535)] = 1
    seq: Annotated[int, Field(ge=0, le=65535)] = 1
    family: Family | None = None
    expect: Literal["reply", "no-reply"] | None = None


class IcmpStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    type: int | str
    code: Annotated[int, Field(ge=0, le=255)] = 0
    id: Annotated[int, Field(ge=0, le=65535)] = 0
    seq: Annotated[int, Field(ge=0, le=65535)] = 0
    family: Family | None = None
    expect: Literal["delivered", "dropped"] | None = None


class UdpStep(Strict):
    src: Name = Field(alias="from")
    to: Name
    port: Port
    sport: Port | None = None
    data: Data = "data"
    family: Family | None = None
    expect: Literal["delivered", "dropped", "reply", "no-reply"] | None = None  # reply: the listener's answer


class IpStep(Strict):
    """One packet of another IP protocol (GRE, ESP, AH, SCTP…, or a number): tracked by addresses and protocol."""

    src: Name = Field(alias="from")
    to: Name
    proto: int | str
    family: Family | None = None
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


class SetConntrackStep(Strict):
    """ModifyNetworkInterfaceAttribute's ConnectionTrackingSpecification: the keys given change, the others stay."""

    host: Name
    tcp_established: int | None = None
    udp: int | None = None
    udp_stream: int | None = None
    icmp: int | None = None
    max_entries: int | None = None


class ModifyPrefixListStep(Strict):
    """ModifyManagedPrefixList: entries added and removed; every rule referencing the list uses the new version."""

    prefix_list: Name
    add: list[str] = []
    remove: list[str] = []


STEP_TYPES: dict[str, type[Strict]] = {
    "listen": ListenStep, "connect": ConnectStep, "send": SendStep, "close": CloseStep, "ping": PingStep,
    "icmp": IcmpStep, "udp": UdpStep, "wait": WaitStep, "authorize": SgChangeStep, "revoke": SgChangeStep,
    "nacl_entry": NaclEntryStep, "delete_nacl_entry": DeleteNaclEntryStep, "associate_nacl": AssociateNaclStep,
    "set_security_groups": SetSecurityGroupsStep, "ip": IpStep, "set_conntrack": SetConntrackStep,
    "modify_prefix_list": ModifyPrefixListStep,
}
#: the outcome words each action may expect
OUTCOMES: dict[str, tuple[str, ...]] = {
    "connect": ("established", "blocked", "refused"), "send": ("delivered", "dropped"),
    "udp": ("delivered", "dropped", "reply", "no-reply"), "icmp": ("delivered", "dropped"),
    "ping": ("reply", "no-reply"), "ip": ("delivered", "dropped"),
}
CONFIG_ACTIONS = frozenset({"authorize", "revoke", "nacl_entry", "delete_nacl_entry", "associate_nacl",
                            "set_security_groups", "set_conntrack", "modify_prefix_list"})
#: steps that send to `to` (a host name, `NAME@ipv6`, or an address)
SENDING = frozenset({"connect", "udp", "ping", "icmp", "ip"})
