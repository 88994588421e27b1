"""Amazon DNS, IMDS and Time Sync as simulated responders, at the addresses and ports `engine.paths` lists."""

from __future__ import annotations

from collections.abc import Callable

from vpclab.engine.packet import Packet
from vpclab.engine.paths import Service
from vpclab.model.protocols import TCP, UDP
from vpclab.sim.host import Send, Stack


class ServiceStack(Stack):
    """An Amazon service: accepts TCP on its ports (RST elsewhere) and answers UDP on its ports with the same data;
    anything else goes unanswered, so a step to a port it does not serve fails as it would on AWS."""

    def __init__(self, service: Service, send: Send, clock_now: Callable[[], float]) -> None:
        super().__init__(service.name, send, clock_now)
        self.service = service
        self.tcp_listeners = set(service.tcp)
        self.udp_listeners = dict.fromkeys(service.udp, True)

    def receive(self, packet: Packet, data: bytes) -> None:
        """TCP to any port (a listener or a RST); UDP only on a port the service answers."""
        if packet.proto == TCP:
            self._receive_tcp(packet, data)
        elif packet.proto == UDP and packet.dport in self.udp_listeners:
            self._receive_udp(packet, data)
