"""The simulator: hosts, sockets and a virtual clock around the engine."""

from vpclab.sim.simulator import Connection, Exchange, PacketRecord, Simulator

__all__ = ["Connection", "Exchange", "PacketRecord", "Simulator"]
