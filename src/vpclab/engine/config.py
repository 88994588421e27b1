"""Engine settings for the behaviours AWS does not document (see docs/assumptions.md for each choice)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Linux's defaults for TCP states other than established (nf_conntrack_tcp_timeout_*), in seconds.
LINUX_TCP_TIMEOUTS: dict[str, int] = {
    "SYN_SENT": 120, "SYN_RECV": 60, "FIN_WAIT": 120, "CLOSE_WAIT": 60, "LAST_ACK": 30,
    "TIME_WAIT": 120, "CLOSE": 10,
}


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Choices where AWS is silent. Defaults follow Linux where the kernel backend shows it."""

    #: idle timeouts of TCP states other than ESTABLISHED (the ENI's tcp_established covers that one)
    tcp_state_timeouts: dict[str, int] = field(default_factory=lambda: dict(LINUX_TCP_TIMEOUTS))
    #: a TCP segment other than SYN with no entry opens an ESTABLISHED entry (Linux nf_conntrack_tcp_loose=1)
    tcp_midstream_pickup: bool = False
    #: AWS: protocols other than TCP/UDP/ICMP are tracked by (peer IP, protocol) for 600 s
    generic_timeout: int = 600
    #: apply AWS's untracked-flow rule; False tracks every flow
    untracked_flows: bool = True
    #: UDP request/response transactions after which a flow is a stream (AWS: "more than one")
    udp_stream_transactions: int = 2
    #: an idle entry expires when idle time >= timeout (True) or > timeout (False)
    expire_at_timeout: bool = True
    #: how many untracked flows to remember, only to explain why a later packet of one was dropped
    untracked_memory: int = 4096

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.tcp_state_timeouts.items())), self.tcp_midstream_pickup,
                     self.generic_timeout, self.untracked_flows, self.udp_stream_transactions,
                     self.expire_at_timeout, self.untracked_memory))
