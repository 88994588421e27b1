"""Per-ENI connection tracking: entries keyed by their original and reply tuples, idle timers, capacity.

Keys are `(src, dst, proto, a, b)`: ports for TCP/UDP, `(identifier, type)` for ICMP queries, `(0, 0)` for
other protocols. An entry is stored under both tuples, so a packet finds it from either direction.
"""

from __future__ import annotations


from vpclab.engine.config import EngineConfig
from vpclab.engine.packet import ACK, FIN, RST, SYN, Packet
from vpclab.engine.verdict import RuleRef, TrackedFlow
from vpclab.model.network import ConntrackSettings
from vpclab.model.protocols import ICMP, ICMP_QUERY_REPLY, ICMPV6, ICMPV6_QUERY_REPLY, TCP, UDP

Key = tuple[int, int, int, int, int]
TCP_REOPENABLE = frozenset({"TIME_WAIT", "CLOSE"})


def packet_key(p: Packet) -> Key:
    """The tuple a packet is looked up by."""
    proto = p.proto
    if proto == TCP or proto == UDP:
        return (p.src, p.dst, proto, p.sport, p.dport)
    if proto == ICMP or proto == ICMPV6:
        return (p.src, p.dst, proto, p.ident, p.icmp_type)
    return (p.src, p.dst, proto, 0, 0)


def reply_key(p: Packet) -> Key | None:
    """The tuple replies to `p` will carry, or None when `p` cannot open an entry (e.g. an ICMP error)."""
    proto = p.proto
    if proto == TCP or proto == UDP:
        return (p.dst, p.src, proto, p.dport, p.sport)
    if proto == ICMP or proto == ICMPV6:
        replies = ICMP_QUERY_REPLY if proto == ICMP else ICMPV6_QUERY_REPLY
        reply_type = replies.get(p.icmp_type)
        return None if reply_type is None else (p.dst, p.src, proto, p.ident, reply_type)
    return (p.dst, p.src, proto, 0, 0)


class Entry:
    """A tracked flow on one ENI: who opened it, its state, and when it was last seen."""

    __slots__ = ("orig", "reply", "proto", "state", "created", "last_seen", "timeout", "opened_by",
                 "direction", "fin_orig", "fin_reply", "transactions", "last_was_orig", "packets", "v6")

    def __init__(self, orig: Key, reply: Key, proto: int, state: str, now: float, timeout: float,
                 opened_by: RuleRef | None, direction: str) -> None:
        self.orig = orig
        self.reply = reply
        self.proto = proto
        self.state = state
        self.created = now
        self.last_seen = now
        self.timeout = timeout
        self.opened_by = opened_by  # the rule that admitted the first packet
        self.direction = direction
        self.fin_orig = False
        self.fin_reply = False
        self.transactions = 0
        self.last_was_orig = True
        self.packets = 1
        self.v6 = False

    @property
    def expires(self) -> float:
        return self.last_seen + self.timeout

    def snapshot(self, now: float | None = None) -> TrackedFlow:
        """An immutable view of the entry as it is now (`idle` filled in when `now` is given)."""
        idle = 0.0 if now is None else now - self.last_seen
        return TrackedFlow(self.orig, self.v6, self.state, self.timeout, self.opened_by, self.direction, idle)


class ConntrackTable:
    """One ENI's tracked flows, with its timeouts, its optional capacity and its counters."""

    __slots__ = ("host", "settings", "config", "_entries", "lookup", "count", "exceeded", "created", "expired")

    def __init__(self, host: str, settings: ConntrackSettings, config: EngineConfig) -> None:
        self.host = host
        self.settings = settings
        self.config = config
        self._entries: dict[Key, Entry] = {}
        #: the entry stored under a key, expired or not (a bound dict.get: the engine's hot path calls it)
        self.lookup = self._entries.get
        self.count = 0
        self.exceeded = 0  # like AWS's conntrack_allowance_exceeded
        self.created = 0
        self.expired = 0

    # ---- lookup and lifecycle --------------------------------------------------------------------------

    def live(self, p: Packet, now: float) -> Entry | None:
        """The entry that would admit `p` at `now`, without changing anything (None if none or expired)."""
        entry = self.lookup(packet_key(p))
        if entry is None or self.is_expired(entry, now) or self._restarts(entry, p):
            return None
        return entry

    def claim(self, key: Key, p: Packet, now: float) -> tuple[Entry | None, Entry | None]:
        """The live entry for packet `p` (stored under `key`) and, if one just expired, that entry.

        An expired entry is removed (and counted); a closed TCP entry that a new SYN restarts is removed, as
        in Linux, so the SYN is judged by the rules again."""
        entry = self.lookup(key)
        if entry is None:
            return None, None
        if self.is_expired(entry, now):
            self.remove(entry)
            self.expired += 1
            return None, entry
        if self._restarts(entry, p):
            self.remove(entry)
            return None, None
        return entry, None

    @staticmethod
    def _restarts(entry: Entry, p: Packet) -> bool:
        return (p.proto == TCP and p.flags & SYN and not p.flags & ACK and entry.state in TCP_REOPENABLE
                and packet_key(p) == entry.orig)

    def is_expired(self, entry: Entry, now: float) -> bool:
        idle = now - entry.last_seen
        return idle >= entry.timeout if self.config.expire_at_timeout else idle > entry.timeout

    def remove(self, entry: Entry) -> None:
        if self._entries.pop(entry.orig, None) is not None:
            self.count -= 1
        self._entries.pop(entry.reply, None)

    def sweep(self, now: float) -> int:
        """Drop expired entries; returns how many went."""
        dead = {id(e): e for e in self._entries.values() if self.is_expired(e, now)}
        for entry in dead.values():
            self.remove(entry)
        self.expired += len(dead)
        return len(dead)

    def full(self, now: float) -> bool:
        limit = self.settings.max_entries
        if limit is None or self.count < limit:
            return False
        self.sweep(now)
        return self.count >= limit

    def open(self, p: Packet, now: float, opened_by: RuleRef | None, direction: str) -> Entry | None:
        """Create an entry for a packet that may open one; None when it cannot (e.g. TCP mid-stream)."""
        rkey = reply_key(p)
        if rkey is None:
            return None
        proto = p.proto
        if proto == TCP:
            if p.flags & RST:
                return None
            if p.flags & SYN and not p.flags & ACK:
                state = "SYN_SENT"
            elif self.config.tcp_midstream_pickup:
                state = "ESTABLISHED"
            else:
                return None
        elif proto == UDP:
            state = "UNREPLIED"
        elif proto == ICMP or proto == ICMPV6:
            state = "REQUESTED"
        else:
            state = "UNREPLIED"
        entry = Entry(packet_key(p), rkey, proto, state, now, 0.0, opened_by, direction)
        entry.v6 = p.v6
        entry.timeout = self._timeout(entry)
        self._entries[entry.orig] = entry
        self._entries[entry.reply] = entry
        self.count += 1
        self.created += 1
        return entry

    def refresh(self, entry: Entry, p: Packet, is_orig: bool, now: float) -> None:
        """Advance the entry's state with a packet it matched, and restart its idle timer."""
        entry.last_seen = now
        entry.packets += 1
        proto = entry.proto
        if proto == TCP:
            self._tcp(entry, p.flags, is_orig)
        elif proto == UDP:
            if not is_orig and entry.last_was_orig:
                entry.transactions += 1
            entry.last_was_orig = is_orig
            if entry.transactions >= self.config.udp_stream_transactions:
                entry.state = "STREAM"
            elif entry.transactions:
                entry.state = "REPLIED"
        elif not is_orig:
            entry.state = "REPLIED"
        entry.timeout = self._timeout(entry)

    # ---- state machine and timeouts ------------------------------------------------------------------

    @staticmethod
    def _tcp(entry: Entry, flags: int, is_orig: bool) -> None:
        state = entry.state
        if flags & RST:
            entry.state = "CLOSE"
            return
        if flags & FIN:
            if is_orig:
                entry.fin_orig = True
            else:
                entry.fin_reply = True
            entry.state = "LAST_ACK" if entry.fin_orig and entry.fin_reply else "FIN_WAIT"
            return
        if state == "SYN_SENT":
            if not is_orig and flags & SYN and flags & ACK:
                entry.state = "SYN_RECV"
        elif state == "SYN_RECV":
            if is_orig and flags & ACK:
                entry.state = "ESTABLISHED"
        elif state == "LAST_ACK":
            if flags & ACK:
                entry.state = "TIME_WAIT"
        elif state == "FIN_WAIT":
            sent_fin_orig = entry.fin_orig
            if flags & ACK and is_orig != sent_fin_orig:
                entry.state = "CLOSE_WAIT"

    def _timeout(self, entry: Entry) -> float:
        proto = entry.proto
        if proto == TCP:
            if entry.state == "ESTABLISHED":
                return self.settings.tcp_established
            return self.config.tcp_state_timeouts[entry.state]
        if proto == UDP:
            return self.settings.udp_stream if entry.state == "STREAM" else self.settings.udp
        if proto == ICMP or proto == ICMPV6:
            return self.settings.icmp
        return self.config.generic_timeout

    # ---- readout -------------------------------------------------------------------------------------

    def entries(self, now: float | None = None) -> list[Entry]:
        """Live entries (all entries if `now` is None), oldest first."""
        unique = {id(e): e for e in self._entries.values()}.values()
        live = [e for e in unique if now is None or not self.is_expired(e, now)]
        return sorted(live, key=lambda e: (e.created, e.orig))

    def echo_ids_towards(self, local: int, remote: int, proto: int) -> list[int]:
        """Identifiers of ICMP echo requests this ENI tracks between two addresses (for explanations)."""
        return sorted({e.orig[3] for e in self.entries() if e.proto == proto and
                       {e.orig[0], e.orig[1]} == {local, remote}})
