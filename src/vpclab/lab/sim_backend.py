"""The simulator as a lab backend: a thin adapter from lab steps to `vpclab.sim.Simulator`."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from vpclab.lab.backend import Observation
from vpclab.model.network import Network
from vpclab.report.explain import entry_dict, packet_dict
from vpclab.sim import Connection, Exchange, Simulator


class SimBackend:
    """Runs a lab on the simulator, with a virtual clock: `wait 31` takes no real time."""

    name = "sim"

    def __init__(self, explain: bool = True) -> None:
        self.sim: Simulator | None = None
        self.explain = explain

    def _sim(self) -> Simulator:
        if self.sim is None:
            raise RuntimeError("the backend is not started")
        return self.sim

    @staticmethod
    def _observe(exchange: Exchange, handle: Any = None) -> Observation:
        packets = [packet_dict(r.time, r.packet, r.verdict) for r in exchange.packets]
        return Observation(exchange.outcome, packets, exchange.detail, handle)

    def start(self, network: Network, hosts: Collection[str] | None = None) -> None:
        """Simulate the whole network: every host is a model, whether the steps use it or not."""
        self.sim = Simulator(network, explain=self.explain)

    def stop(self) -> None:
        self.sim = None

    def apply(self, network: Network) -> Observation:
        self._sim().apply(network)
        return Observation("applied")

    def listen(self, host: str, proto: str, port: int, reply: bool) -> Observation:
        self._sim().listen(host, proto, port, reply)
        return Observation("listening")

    def connect(self, src: str, dst: str, port: int, sport: int | None) -> Observation:
        conn, exchange = self._sim().connect(src, dst, port, sport)
        return self._observe(exchange, conn)

    def send(self, conn: Connection, data: bytes, side: str) -> Observation:
        return self._observe(self._sim().send(conn, data, side))

    def close(self, conn: Connection, side: str) -> Observation:
        return self._observe(self._sim().close(conn, side))

    def udp(self, src: str, dst: str, port: int, data: bytes, sport: int | None, reply: bool = False) -> Observation:
        return self._observe(self._sim().udp(src, dst, port, data, sport, reply))

    def ip(self, src: str, dst: str, proto: int) -> Observation:
        return self._observe(self._sim().ip(src, dst, proto))

    def ping(self, src: str, dst: str, ident: int, seq: int) -> Observation:
        return self._observe(self._sim().ping(src, dst, ident, seq))

    def icmp(self, src: str, dst: str, icmp_type: int | str, code: int, ident: int, seq: int) -> Observation:
        return self._observe(self._sim().icmp(src, dst, icmp_type, code, ident, seq))

    def wait(self, seconds: float) -> Observation:
        return self._observe(self._sim().wait(seconds))

    def conntrack(self) -> dict[str, list[dict[str, Any]]]:
        sim = self._sim()
        return {table.host: [entry_dict(e, sim.now) for e in table.entries(sim.now)] for table in sim.engine.tables()}
