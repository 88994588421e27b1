"""The interface a lab runs on: the simulator and the kernel backend implement it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from vpclab.errors import BackendUnavailable
from vpclab.model.network import Network

__all__ = ["Backend", "BackendUnavailable", "Observation"]




@dataclass(slots=True)
class Observation:
    """What a backend observed for one step: the outcome word, the packets seen (JSON dicts), a detail."""

    outcome: str
    packets: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    handle: Any = None  # a connection, for `connect`


class Backend(Protocol):
    """A place where a lab's network exists and its steps happen."""

    name: str

    def start(self, network: Network, hosts: Collection[str] | None = None) -> None:
        """Bring the network up; `hosts` (a lab on a snapshot): the hosts the steps use, the others may stay
        model-only (still group members)."""
    def stop(self) -> None: ...
    def apply(self, network: Network) -> Observation: ...
    def listen(self, host: str, proto: str, port: int, reply: bool) -> Observation: ...
    def connect(self, src: str, dst: str, port: int, sport: int | None) -> Observation: ...
    def send(self, conn: Any, data: bytes, side: str) -> Observation: ...
    def close(self, conn: Any, side: str) -> Observation: ...
    def udp(self, src: str, dst: str, port: int, data: bytes, sport: int | None, reply: bool = False) -> Observation:
        """One datagram: `delivered`/`dropped`, or with `reply` whether the listener's answer came back
        (`reply`/`no-reply`)."""
    def ip(self, src: str, dst: str, proto: int) -> Observation:
        """One packet of another IP protocol (its number): `delivered` or `dropped`."""
    def ping(self, src: str, dst: str, ident: int, seq: int) -> Observation: ...
    def icmp(self, src: str, dst: str, icmp_type: int | str, code: int, ident: int, seq: int) -> Observation: ...
    def wait(self, seconds: float) -> Observation: ...
    def conntrack(self) -> dict[str, list[dict[str, Any]]]: ...
