"""The kernel backend: a lab's network as namespaces, its filters as nftables with real conntrack, its steps as
real packets from real sockets. Implements the lab runner's backend interface."""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpclab.engine import Engine
from vpclab.engine.ports import EphemeralPorts
from vpclab.errors import BackendUnavailable, KernelError
from vpclab.kernel import cleanup, driver, topology
from vpclab.kernel.plan import Plan, new_prefix
from vpclab.kernel.render import nat_ruleset, router6_ruleset, router_ruleset, sg_ruleset
from vpclab.lab.backend import Observation
from vpclab.model.addresses import parse_ip
from vpclab.model.network import Network
from vpclab.model.routing import TargetKind
from vpclab.model.protocols import ICMP, ICMPV6, parse_icmp_type

#: bounded waits (seconds) for an outcome to show; positive outcomes return as soon as they are seen
CONNECT_WAIT = 0.5
DATA_WAIT = 0.4
DATAGRAM_WAIT = 0.3
#: after a segment of a connection was lost, later data arrives only with its retransmission (rto_min 10 ms,
#: backoff capped at 1 s where the kernel allows): wait for it as a real network would deliver it
RETRANSMIT_WAIT = 2.5


def _die_with_parent() -> None:
    """In a child: get SIGKILL when the parent dies (PR_SET_PDEATHSIG), so no agent outlives a killed run."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class Agent:
    """A traffic agent process inside one host namespace (see `vpclab.kernel.agent`)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "vpclab.kernel.agent"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
        self.lock = threading.Lock()
        self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            error = self.process.stderr.read() if self.process.stderr else ""
            raise KernelError(f"the traffic agent in {self.ns} stopped: {error.strip()[-500:]}")
        return json.loads(line)

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        with self.lock:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.process.stdin.flush()
            answer = self._answer()
        if "error" in answer:
            raise KernelError(f"{op} in {self.ns}: {answer['error']}")
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # our own child, by PID
        self.process.wait(timeout=5)


@dataclass
class KernelConnection:
    client: str
    client_id: int
    server: str | None
    peer: str  # the client's address as the server sees it
    sport: int
    port: int
    server_id: int | None = None
    lost: set[str] = field(default_factory=set)  # the sides whose sent data was not seen arriving (TCP retransmits)


class KernelBackend:
    """Runs a lab on real Linux: namespaces named `vlXXXXXX-*`, nftables, conntrack, sockets."""

    name = "kernel"

    def __init__(self, capture: Path | None = None) -> None:
        self.capture_path = capture  # --pcap: capture in the lab's namespaces, written to this file on stop
        self.capture: Any = None  # a kernel.capture.Capture while one runs (imported only for --pcap: scapy)
        self.plan: Plan | None = None
        self.engine: Engine | None = None  # the compiled facts the renderers format; it judges no packet here
        self.agents: dict[str, Agent] = {}
        self.applied: dict[str, str] = {}
        self.ports: dict[str, EphemeralPorts] = {}
        self.udp_bound: dict[str, set[int]] = {}
        self.ipv6 = False  # whether the run is dual stack (something built has an IPv6 address)
        self._main_pid = os.getpid()
        self._previous_handlers: dict[int, Any] = {}

    # ---- lifecycle -----------------------------------------------------------------------------------

    def start(self, network: Network, hosts: Collection[str] | None = None) -> None:
        """Build the network (only `hosts` and what they route through, when given: a lab on a snapshot)."""
        driver.preflight()
        if self.capture_path is not None:
            from vpclab.kernel import capture as capturing

            capturing.preflight()
        plan = Plan.make(network, new_prefix(), hosts)
        refuse_unbuildable(network, plan)
        cleanup.sweep()
        prefix = plan.prefix
        self.plan = plan
        self.engine = Engine(network)
        self.ipv6 = topology.dual_stack(network, plan)
        cleanup.claim(prefix)
        atexit.register(self.stop)
        if threading.current_thread() is threading.main_thread():  # signals can only be handled there
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self._previous_handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            topology.create(network, self.plan)
            self._apply_rules(first=True)
            topology.wait_until_forwarding(self.plan)
            if self.capture_path is not None:  # every host's and NAT gateway's eth0, named after it
                from vpclab.kernel.capture import Capture

                capture = Capture(self.capture_path)
                capture.start(self.plan.hosts | self.plan.nats)
                self.capture = capture  # once started: stop() writes its file
        except BaseException:
            self.stop()
            raise
        self.ports = {name: EphemeralPorts(network.hosts[name].ephemeral_ports) for name in self.plan.hosts}

    def _on_signal(self, signum: int, frame: object) -> None:
        if os.getpid() == self._main_pid:  # never in a helper process that inherited the handler
            raise SystemExit(128 + signum)

    def stop(self) -> None:
        if os.getpid() != self._main_pid or self.plan is None:
            return
        plan, self.plan = self.plan, None
        capture, self.capture = self.capture, None
        try:
            if capture is not None:  # stopped first: the file ends with the last step, not the agents' teardown
                capture.stop()
        finally:  # whatever the capture did, the namespaces go
            for agent in self.agents.values():
                try:
                    agent.stop()
                except Exception:
                    pass
            self.agents.clear()
            topology.destroy(plan)
            cleanup.release(plan.prefix)
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers.clear()
        if capture is not None:  # only files remain: merged into the --pcap file
            capture.save()

    # ---- configuration -------------------------------------------------------------------------------

    def _apply_rules(self, first: bool = False) -> None:
        assert self.plan is not None and self.engine is not None
        jobs: list[tuple[str, str, dict[str, Any], dict[str, object] | None]] = []  # (key, namespace, rules, sysctls)
        jobs.append((self.plan.router, self.plan.router, router_ruleset(self.engine, self.plan), None))
        if self.ipv6:
            jobs.append((f"{self.plan.router} ip6", self.plan.router, router6_ruleset(self.engine, self.plan), None))
        for name, ns in self.plan.enis.items():
            host = self.engine.network.hosts[name]
            sysctls = topology.eni_sysctls(host) | (topology.IPV6_ON if self.ipv6 else {})
            jobs.append((ns, ns, sg_ruleset(self.engine, name), sysctls))  # set_conntrack changes them
        for nat_id, ns in self.plan.nats.items():
            nat = self.engine.network.nat_gateways[nat_id]
            jobs.append((ns, ns, nat_ruleset(str(nat.private_ip)), topology.NAT_SYSCTLS if first else None))
        for key, ns, ruleset, sysctls in jobs:
            text = json.dumps(ruleset, sort_keys=True)
            if self.applied.get(key) != text:
                driver.nft(ns, ruleset)
                self.applied[key] = text
            values = json.dumps(sysctls, sort_keys=True)
            if sysctls and self.applied.get(f"{key} sysctls") != values:  # first, or after an ENI's new timeouts:
                driver.sysctl(ns, sysctls)  # Linux applies them to each entry from its next packet on (C12)
                self.applied[f"{key} sysctls"] = values

    def apply(self, network: Network) -> Observation:
        assert self.engine is not None
        self.engine.update(network)
        self._apply_rules()
        return Observation("applied")

    # ---- helpers -------------------------------------------------------------------------------------

    def agent(self, host: str) -> Agent:
        assert self.plan is not None
        if host not in self.agents:
            self.agents[host] = Agent(self.plan.hosts[host])
        return self.agents[host]

    def _address(self, target: str) -> str:
        assert self.engine is not None
        hosts = self.engine.network.hosts
        return str(hosts[target].ip) if target in hosts else str(parse_ip(target))

    def _owner(self, address: str) -> str | None:
        """The host that holds `address` (private, public or internet), where a packet's arrival is checked."""
        assert self.engine is not None and self.plan is not None
        owner = self.engine.router.owner(int(parse_ip(address)))
        return owner if owner in self.plan.hosts else None

    def _seen_as(self, src: str, dst_address: str) -> str:
        """The source address a receiver sees for `src` (the engine's route says whether the IGW translates)."""
        assert self.engine is not None
        host = self.engine.network.hosts[src]
        dst = parse_ip(dst_address)
        ip = host.ipv6 if dst.version == 6 and host.ipv6 is not None else host.ip  # the sender's address of that family
        return str(type(ip)(self.engine.router.source_seen(int(ip), int(dst), dst.version == 6)))

    def _port(self, host: str) -> int:
        return self.ports[host].take()

    # ---- steps ---------------------------------------------------------------------------------------

    def listen(self, host: str, proto: str, port: int, reply: bool) -> Observation:
        self.agent(host).call("listen", proto=proto, port=port, reply=reply)
        if proto == "udp":
            self.udp_bound.setdefault(host, set()).add(port)
        return Observation("listening")

    def connect(self, src: str, dst: str, port: int, sport: int | None) -> Observation:
        address = self._address(dst)
        sport = sport or self._port(src)
        answer = self.agent(src).call("connect", dst=address, port=port, sport=sport, timeout=CONNECT_WAIT)
        outcome = answer["outcome"]
        handle = None
        if outcome == "established":
            handle = KernelConnection(src, answer["id"], self._owner(address), self._seen_as(src, address), sport,
                                      port)
        return Observation(outcome, handle=handle)

    def _server_id(self, conn: KernelConnection) -> int | None:
        if conn.server_id is None and conn.server is not None:
            conn.server_id = self.agent(conn.server).call("find", peer=conn.peer, peer_port=conn.sport,
                                                          port=conn.port, timeout=DATA_WAIT)["id"]
        return conn.server_id

    def send(self, conn: KernelConnection | None, data: bytes, side: str) -> Observation:
        if conn is None:
            return Observation("dropped", detail="the connection is not established")
        server_id = self._server_id(conn)
        if server_id is None or conn.server is None:
            return Observation("dropped", detail="the server never accepted the connection")
        ends = [(conn.client, conn.client_id), (conn.server, server_id)]
        (sender, sender_id), (receiver, receiver_id) = ends if side == "client" else ends[::-1]
        offset = self.agent(receiver).call("size", id=receiver_id)["size"]
        if not self.agent(sender).call("send", id=sender_id, data=data.decode())["ok"]:
            return Observation("dropped", detail="the sender's socket is closed")
        wait = RETRANSMIT_WAIT if side in conn.lost else DATA_WAIT
        seen = self.agent(receiver).call("received_since", id=receiver_id, offset=offset, data=data.decode(),
                                         timeout=wait)
        if not seen["delivered"]:
            conn.lost.add(side)
            return Observation("dropped")
        conn.lost.discard(side)
        return Observation("delivered")

    def close(self, conn: KernelConnection | None, side: str) -> Observation:
        if conn is not None:
            if side == "client":
                self.agent(conn.client).call("close", id=conn.client_id)
            elif self._server_id(conn) is not None and conn.server is not None:
                self.agent(conn.server).call("close", id=conn.server_id)
        return Observation("closed")

    def udp(self, src: str, dst: str, port: int, data: bytes, sport: int | None, reply: bool = False) -> Observation:
        address = self._address(dst)
        receiver = self._owner(address)
        sport = sport or self._port(src)
        since = 0
        if receiver is not None:
            if port not in self.udp_bound.setdefault(receiver, set()):  # something must be there to see it arrive
                self.listen(receiver, "udp", port, False)
            since = self.agent(receiver).call("counts")["udp"]
        answers = self.agent(src).call("counts")["udp"]  # what the sender received before: the answer comes after
        self.agent(src).call("udp_send", dst=address, port=port, sport=sport, data=data.decode())
        self.udp_bound.setdefault(src, set()).add(sport)
        if receiver is None:
            return Observation("no-reply" if reply else "dropped", detail="no host holds that address")
        seen = self.agent(receiver).call("udp_check", port=port, data=data.decode(), since=since,
                                         timeout=DATAGRAM_WAIT)
        if not reply:
            return Observation("delivered" if seen["delivered"] else "dropped")
        if not seen["delivered"]:
            return Observation("no-reply", detail="the datagram did not arrive")
        back = self.agent(src).call("udp_check", port=sport, data=data.decode(), since=answers, timeout=DATAGRAM_WAIT)
        return Observation("reply") if back["delivered"] else Observation("no-reply",
                                                                          detail="the answer did not come back")

    def ip(self, src: str, dst: str, proto: int) -> Observation:
        """One packet of another IP protocol from a raw socket; `delivered` if the receiver's raw socket saw it."""
        address = self._address(dst)
        receiver = self._owner(address)
        since = self.agent(receiver).call("ip_listen", proto=proto)["count"] if receiver is not None else 0
        self.agent(src).call("ip_listen", proto=proto)  # the sender takes this protocol's answers too
        self.agent(src).call("ip_send", dst=address, proto=proto)
        if receiver is None:
            return Observation("dropped", detail="no host holds that address")
        seen = self.agent(receiver).call("ip_check", proto=proto, since=since, timeout=DATAGRAM_WAIT)
        return Observation("delivered" if seen["delivered"] else "dropped")

    def ping(self, src: str, dst: str, ident: int, seq: int) -> Observation:
        answer = self.agent(src).call("ping", dst=self._address(dst), id=ident, timeout=CONNECT_WAIT)
        return Observation(answer["outcome"])

    def icmp(self, src: str, dst: str, icmp_type: int | str, code: int, ident: int, seq: int) -> Observation:
        address = self._address(dst)
        number = parse_icmp_type(icmp_type, ICMPV6 if parse_ip(address).version == 6 else ICMP)
        receiver = self._owner(address)
        since = self.agent(receiver).call("counts")["icmp"] if receiver else 0
        self.agent(src).call("icmp_send", dst=address, type=number, code=code, id=ident, seq=seq)
        if receiver is None:
            return Observation("dropped", detail="no host holds that address")
        seen = self.agent(receiver).call("icmp_check", type=number, id=ident, seq=seq, since=since,
                                         timeout=DATAGRAM_WAIT)
        return Observation("delivered" if seen["delivered"] else "dropped")

    def wait(self, seconds: float) -> Observation:
        time.sleep(seconds)
        return Observation("waited")

    def conntrack(self) -> dict[str, list[dict[str, Any]]]:
        assert self.plan is not None
        tables = {}
        for host, ns in self.plan.enis.items():
            text = driver.in_ns(ns, ["conntrack", "-L"], check=False)
            tables[host] = [_entry(line) for line in text.splitlines() if line.strip()]
        return tables


def refuse_unbuildable(network: Network, plan: Plan) -> None:
    """Refuse, before anything is created, a network one router namespace cannot hold: subnets with overlapping
    CIDRs (overlapping VPCs, allowed in AWS) among those the run builds, or a route to an egress-only internet
    gateway (not emulated yet: K9)."""
    seen: list[tuple[str, object]] = []
    for name in plan.bridges:
        table = network.route_table_of(name)
        if table is not None and table.targets(TargetKind.EGRESS_ONLY_GATEWAY):
            raise BackendUnavailable(f"subnet {name} routes IPv6 to an egress-only internet gateway, which the kernel "
                                     "backend does not emulate yet: use --backend sim")
        cidr = network.subnets[name].cidr
        clash = next((other for other, c in seen if cidr.overlaps(c)), None)  # type: ignore[attr-defined]
        if clash is not None:
            raise BackendUnavailable(f"subnets {clash} and {name} overlap ({network.subnets[clash].cidr} and {cidr}): "
                                     "the kernel backend routes every subnet it builds in one namespace; use "
                                     "--backend sim, or name hosts of one of the overlapping VPCs only")
        seen.append((name, cidr))


def _entry(line: str) -> dict[str, Any]:
    """One `conntrack -L` line as the timeline's entry shape."""
    parts = line.split()
    timeout = next((int(p) for p in parts[2:4] if p.isdigit()), 0)
    state = next((p for p in parts if re.fullmatch(r"[A-Z_]{3,}", p)), "")
    flow = " ".join(p for p in parts if p.startswith(("src=", "dst=", "sport=", "dport=", "id=", "type=")))
    return {"flow": f"{parts[0]} {flow}", "state": state, "expires_in": timeout, "opened_by": "kernel conntrack"}
