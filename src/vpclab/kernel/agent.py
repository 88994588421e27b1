"""The traffic agent: runs inside one host namespace and does what a lab step asks, with real sockets.

Started by the kernel backend as `ip netns exec NS python -m vpclab.kernel.agent`; speaks JSON lines on
stdin/stdout (one request, one answer). TCP listeners accept and read in threads, every UDP socket records what it
receives, a raw ICMP socket records every ICMP message that reached the host, and a raw socket per other protocol
(GRE, ESP…) every packet of it. Outcomes are what the sockets saw, within bounded waits.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from vpclab.kernel import icmp as icmp_wire


class Agent:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tcp: dict[int, socket.socket] = {}           # connection id -> socket
        self.received: dict[int, bytearray] = {}          # connection id -> bytes read
        self.peer_closed: dict[int, bool] = {}
        self.accepted: dict[tuple[str, int, int], int] = {}  # (peer ip, peer port, local port) -> id
        self.listeners: dict[tuple[int, int], socket.socket] = {}  # (family, port) -> listening socket
        self.udp: dict[tuple[int, int], socket.socket] = {}        # (family, port) -> bound socket
        self.udp_seen: list[dict[str, Any]] = []
        self.udp_reply: dict[int, bool] = {}
        self.icmp_seen: list[dict[str, Any]] = []
        self.ip_seen: list[dict[str, Any]] = []  # packets of other IP protocols (GRE, ESP…), by raw sockets
        self.ip_sockets: dict[tuple[int, int], socket.socket] = {}  # (family, protocol) -> raw socket
        self.next_id = 1
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        threading.Thread(target=self._icmp_loop, daemon=True).start()
        self.families = [socket.AF_INET]
        self.raw6: socket.socket | None = None
        if _has_ipv6():  # a dual-stack host: IPv6 sockets beside every IPv4 one, and ICMPv6 recorded too
            self.families.append(socket.AF_INET6)
            self.raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            threading.Thread(target=self._icmp6_loop, daemon=True).start()

    # ---- background loops ----------------------------------------------------------------------------

    def _icmp_loop(self) -> None:
        while True:
            data, _ = self.raw.recvfrom(65535)
            try:
                msg = icmp_wire.parse(data)
            except ValueError:
                continue
            with self.lock:
                self.icmp_seen.append({"src": msg.src, "type": msg.type, "code": msg.code, "id": msg.ident,
                                       "seq": msg.seq})

    def _icmp6_loop(self) -> None:
        assert self.raw6 is not None
        while True:
            data, (peer, *_rest) = self.raw6.recvfrom(65535)
            try:
                msg = icmp_wire.parse(data, has_ip_header=False)  # an ICMPv6 raw socket gives no IPv6 header
            except ValueError:
                continue
            with self.lock:
                self.icmp_seen.append({"src": peer, "type": msg.type, "code": msg.code, "id": msg.ident,
                                       "seq": msg.seq})

    def _register(self, sock: socket.socket) -> int:
        with self.lock:
            cid = self.next_id
            self.next_id += 1
            self.tcp[cid] = sock
            self.received[cid] = bytearray()
            self.peer_closed[cid] = False
        threading.Thread(target=self._read_loop, args=(cid, sock), daemon=True).start()
        return cid

    def _read_loop(self, cid: int, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(65535)
            except OSError:
                return
            with self.lock:
                if not data:
                    self.peer_closed[cid] = True
                else:
                    self.received[cid].extend(data)
            if not data:
                try:
                    sock.shutdown(socket.SHUT_WR)  # close too, as nc does
                except OSError:
                    pass
                return

    def _accept_loop(self, port: int, listener: socket.socket) -> None:
        while True:
            try:
                conn, (peer, peer_port, *_rest) = listener.accept()
            except OSError:
                return
            cid = self._register(conn)
            with self.lock:
                self.accepted[(peer, peer_port, port)] = cid

    def _udp_loop(self, port: int, sock: socket.socket) -> None:
        while True:
            try:
                data, (peer, peer_port, *_rest) = sock.recvfrom(65535)
            except OSError:
                return
            with self.lock:
                self.udp_seen.append({"port": port, "src": peer, "sport": peer_port, "data": data.decode(errors="replace")})
                reply = self.udp_reply.get(port, False)
            if reply:
                sock.sendto(data, (peer, peer_port))

    def _udp_socket(self, port: int, family: int = socket.AF_INET) -> socket.socket:
        sock = self.udp.get((family, port))
        if sock is None:
            sock = _bound(family, socket.SOCK_DGRAM, port)
            self.udp[(family, port)] = sock
            threading.Thread(target=self._udp_loop, args=(port, sock), daemon=True).start()
        return sock

    # ---- requests ------------------------------------------------------------------------------------

    def listen(self, proto: str, port: int, reply: bool = False) -> dict[str, Any]:
        for family in self.families:
            if proto == "udp":
                self._udp_socket(port, family)
                self.udp_reply[port] = reply
            elif (family, port) not in self.listeners:
                listener = _bound(family, socket.SOCK_STREAM, port)
                listener.listen(64)
                self.listeners[(family, port)] = listener
                threading.Thread(target=self._accept_loop, args=(port, listener), daemon=True).start()
        return {"ok": True}

    def connect(self, dst: str, port: int, sport: int, timeout: float) -> dict[str, Any]:
        sock = _bound(_family(dst), socket.SOCK_STREAM, sport)
        sock.setblocking(False)
        code = sock.connect_ex((dst, port))
        if code not in (0, 115):  # EINPROGRESS
            sock.close()
            return {"outcome": "refused" if code == 111 else "blocked", "errno": code}
        _, writable, _ = select.select([], [sock], [], timeout)
        if not writable:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()  # give up without a RST on the wire: nothing was established
            return {"outcome": "blocked"}
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            sock.close()
            return {"outcome": "refused" if error == 111 else "blocked", "errno": error}
        sock.setblocking(True)
        return {"outcome": "established", "id": self._register(sock)}

    def find(self, peer: str, peer_port: int, port: int, timeout: float) -> dict[str, Any]:
        """The id of the accepted connection from (peer, peer_port) on `port`."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                cid = self.accepted.get((peer, peer_port, port))
            if cid is not None or time.monotonic() > deadline:
                return {"id": cid}
            time.sleep(0.005)

    def send(self, id: int, data: str) -> dict[str, Any]:
        sock = self.tcp.get(id)
        if sock is None:
            return {"ok": False}
        try:
            sock.sendall(data.encode())
        except OSError as error:
            return {"ok": False, "error": str(error)}
        return {"ok": True}

    def received_since(self, id: int, offset: int, data: str, timeout: float) -> dict[str, Any]:
        """Whether `data` arrived on connection `id` after byte `offset`, waiting up to `timeout`."""
        wanted = data.encode()
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                buffer = bytes(self.received.get(id, b""))
            if wanted in buffer[offset:]:
                return {"delivered": True, "size": len(buffer)}
            if time.monotonic() > deadline:
                return {"delivered": False, "size": len(buffer)}
            time.sleep(0.005)

    def size(self, id: int) -> dict[str, Any]:
        with self.lock:
            return {"size": len(self.received.get(id, b""))}

    def close(self, id: int) -> dict[str, Any]:
        sock = self.tcp.pop(id, None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            time.sleep(0.05)
            sock.close()
        return {"ok": True}

    def udp_send(self, dst: str, port: int, sport: int, data: str) -> dict[str, Any]:
        self._udp_socket(sport, _family(dst)).sendto(data.encode(), (dst, port))
        return {"ok": True}

    def udp_check(self, port: int, data: str, since: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                hit = any(d["port"] == port and d["data"] == data for d in self.udp_seen[since:])
                count = len(self.udp_seen)
            if hit or time.monotonic() > deadline:
                return {"delivered": hit, "count": count}
            time.sleep(0.005)

    def counts(self) -> dict[str, Any]:
        with self.lock:
            return {"udp": len(self.udp_seen), "icmp": len(self.icmp_seen)}

    def icmp_send(self, dst: str, type: int, code: int, id: int, seq: int) -> dict[str, Any]:
        raw = self.raw6 if _family(dst) == socket.AF_INET6 and self.raw6 is not None else self.raw
        raw.sendto(icmp_wire.build(type, code, id, seq, b"vpclab"), (dst, 0))  # ICMPv6: the kernel sums it
        return {"ok": True}

    def icmp_check(self, type: int, id: int, seq: int | None, since: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                hit = any(m["type"] == type and m["id"] == id and (seq is None or m["seq"] == seq)
                          for m in self.icmp_seen[since:])
            if hit or time.monotonic() > deadline:
                return {"delivered": hit}
            time.sleep(0.005)

    def _ip_socket(self, family: int, proto: int) -> socket.socket:
        """A raw socket of one protocol: it sends that protocol's packets and receives a copy of every one that
        arrives (so the host also sends no ICMP protocol-unreachable for it)."""
        sock = self.ip_sockets.get((family, proto))
        if sock is None:
            sock = self.ip_sockets[(family, proto)] = socket.socket(family, socket.SOCK_RAW, proto)
            threading.Thread(target=self._ip_loop, args=(proto, sock), daemon=True).start()
        return sock

    def _ip_loop(self, proto: int, sock: socket.socket) -> None:
        while True:
            try:
                _, (peer, *_rest) = sock.recvfrom(65535)
            except OSError:
                return
            with self.lock:
                self.ip_seen.append({"proto": proto, "src": peer})

    def ip_listen(self, proto: int) -> dict[str, Any]:
        """Start recording packets of `proto` (IPv4, and IPv6 where the namespace has it); the count so far."""
        self._ip_socket(socket.AF_INET, proto)
        try:
            self._ip_socket(socket.AF_INET6, proto)
        except OSError:  # IPv6 disabled in this namespace
            pass
        with self.lock:
            return {"count": len(self.ip_seen)}

    def ip_send(self, dst: str, proto: int) -> dict[str, Any]:
        family = socket.AF_INET6 if ":" in dst else socket.AF_INET
        self._ip_socket(family, proto).sendto(b"vpclab", (dst, 0))
        return {"ok": True}

    def ip_check(self, proto: int, since: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                hit = any(m["proto"] == proto for m in self.ip_seen[since:])
            if hit or time.monotonic() > deadline:
                return {"delivered": hit}
            time.sleep(0.005)

    def ping(self, dst: str, id: int, timeout: float) -> dict[str, Any]:
        result = subprocess.run(["ping", "-n", "-q", "-c", "1", "-W", str(max(1, round(timeout))), "-e", str(id),
                                 dst], capture_output=True, text=True)
        return {"outcome": "reply" if result.returncode == 0 else "no-reply", "output": result.stdout[-200:]}


def _has_ipv6() -> bool:
    """Whether this namespace has IPv6 on (the backend switches it on for dual-stack labs only)."""
    try:
        with open("/proc/sys/net/ipv6/conf/all/disable_ipv6") as flag:
            return flag.read().strip() == "0"
    except OSError:
        return False


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _bound(family: int, kind: int, port: int) -> socket.socket:
    """A socket of `family` bound to every address of this host at `port` (IPv6 sockets for IPv6 only)."""
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    return sock


def main() -> None:
    agent = Agent()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer = getattr(agent, op)(**request)
        except Exception as error:  # reported to the backend, which turns it into a clear error
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
