"""The semantics core: every verdict in vpclab comes from here. No I/O, no wall clock."""

from vpclab.engine.config import EngineConfig
from vpclab.engine.conntrack import ConntrackTable, Entry
from vpclab.engine.decision import Decision, GateDecision, TrackedLookup
from vpclab.engine.engine import Engine
from vpclab.engine.packet import ACK, FIN, PSH, RST, SYN, Packet
from vpclab.engine.verdict import RuleRef, Step, TrackedFlow, Verdict

__all__ = ["ACK", "FIN", "PSH", "RST", "SYN", "ConntrackTable", "Decision", "Engine", "EngineConfig", "Entry",
           "GateDecision", "Packet", "RuleRef", "Step", "TrackedFlow", "TrackedLookup", "Verdict"]
