"""Names of everything a kernel lab creates: namespaces with a per-run prefix, interfaces within them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from vpclab.model.network import Network

#: every namespace of a run starts with `vl` + 6 hex digits + `-`; sweeps only ever touch names of this shape
PREFIX_PATTERN = re.compile(r"^(vl[0-9a-f]{6})-")
INTERNET_WILDCARD = "i*"


def new_prefix() -> str:
    return "vl" + secrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where each part of a network lives in a run with prefix `prefix`.

    Router namespace: one bridge per subnet (`br-N`), one uplink port per ENI (`eN`), one point-to-point link per
    internet host (`iN`). ENI namespace per VPC host (its security groups), host namespace per host.
    """

    prefix: str
    router: str
    bridges: dict[str, str]
    enis: dict[str, str]
    hosts: dict[str, str]
    uplinks: dict[str, str]
    internet_links: dict[str, str]

    @classmethod
    def make(cls, network: Network, prefix: str) -> "Plan":
        bridges = {name: f"br-{i}" for i, name in enumerate(network.subnets)}
        enis: dict[str, str] = {}
        hosts: dict[str, str] = {}
        uplinks: dict[str, str] = {}
        internet: dict[str, str] = {}
        for i, host in enumerate(network.hosts.values()):
            hosts[host.name] = f"{prefix}-h{i}"
            if host.internet:
                internet[host.name] = f"i{i}"
            else:
                enis[host.name] = f"{prefix}-e{i}"
                uplinks[host.name] = f"e{i}"
        return cls(prefix, f"{prefix}-rtr", bridges, enis, hosts, uplinks, internet)

    @property
    def namespaces(self) -> list[str]:
        return [self.router, *self.enis.values(), *self.hosts.values()]
