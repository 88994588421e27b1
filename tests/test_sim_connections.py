"""Several clients of one server port: each connection's data reaches the right peer socket, both ways (issue 9).

Each host picks its ephemeral ports from the start of its own range (aws-semantics.md §3.4: "the client that
initiates the request chooses the ephemeral port range"; docs/assumptions.md S4), so two hosts' first connections
to one server port share the source port 32768: only the client's address tells them apart.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netbuild import build
from vpclab.lab.loader import parse_lab
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.sim import Simulator
from vpclab.sim.sockets import TcpSocket

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TWO_CLIENTS = """\
lab: two-clients
title: Two clients of one server port
vpc: {cidr: 198.18.0.0/16}
subnets:
  a: {cidr: 198.18.1.0/24}
  b: {cidr: 198.18.2.0/24}
security_groups:
  sg-client: {}
  sg-server:
    ingress:
      - {proto: tcp, ports: 4321, cidr: 198.18.1.0/24}
hosts:
  one: {subnet: a, ip: 198.18.1.10, security_groups: [sg-client]}
  two: {subnet: a, ip: 198.18.1.11, security_groups: [sg-client]}
  server: {subnet: b, ip: 198.18.2.20, security_groups: [sg-server]}
steps:
  - listen: {host: server, proto: tcp, port: 4321}
  - connect: {from: one, to: server, port: 4321, as: c1, expect: established}
  - connect: {from: two, to: server, port: 4321, as: c2, expect: established}
  - send: {conn: c2, data: from-two, expect: delivered}
  - send: {conn: c1, data: from-one, expect: delivered}
  - send: {conn: c2, data: to-two, from: server, expect: delivered}
  - send: {conn: c1, data: to-one, from: server, expect: delivered}
"""


class KeptSimBackend(SimBackend):
    """The simulator backend, keeping its simulator after the run so a test can look at the sockets."""

    def stop(self) -> None:
        """Keep `self.sim`."""


def received_by(sim: Simulator) -> dict[tuple[str, int, int, int], list[bytes]]:
    """What every socket received, by (host, local port, remote address, remote port)."""
    return {(s.host, s.lport, s.remote, s.rport): s.received
            for stack in sim.hosts.values() for s in stack.sockets.values() if s.received}


def test_two_clients_of_one_server_port_each_get_their_own_data_both_ways():
    """aws-semantics.md §3.4 (each client picks its own ephemeral port: both use 32768): every send is delivered,
    to the socket of its own connection, from either side."""
    backend = KeptSimBackend()
    result = run_lab(parse_lab(TWO_CLIENTS), backend)
    assert [s.outcome for s in result.steps] == ["listening", "established", "established"] + ["delivered"] * 4
    data_packets = [p for s in result.steps[3:] for p in s.packets if p["summary"].startswith("PSH")]
    assert [(p["src"], p["dst"]) for p in data_packets] == [
        ("198.18.1.11:32768", "198.18.2.20:4321"), ("198.18.1.10:32768", "198.18.2.20:4321"),
        ("198.18.2.20:4321", "198.18.1.11:32768"), ("198.18.2.20:4321", "198.18.1.10:32768")]
    one, two, server = (int(backend.sim.hosts[h].model.ip) for h in ("one", "two", "server"))
    assert received_by(backend.sim) == {
        ("server", 4321, two, 32768): [b"from-two"], ("server", 4321, one, 32768): [b"from-one"],
        ("two", 32768, server, 4321): [b"to-two"], ("one", 32768, server, 4321): [b"to-one"]}


# ---- property: several clients per server, data both ways --------------------------------------------------

OPEN = {"ingress": [{"proto": "-1", "cidr": "0.0.0.0/0"}, {"proto": "-1", "cidr": "::/0"}]}
NETWORK = build(
    groups={"sg-open": OPEN}, vpc="198.18.0.0/16", ipv6_cidr="2600:1f18:ab00::/56",
    subnets={"a": {"cidr": "198.18.1.0/24", "ipv6_cidr": "2600:1f18:ab00:1::/64", "public": True},
             "b": {"cidr": "198.18.2.0/24", "ipv6_cidr": "2600:1f18:ab00:2::/64"}},
    hosts={"s0": {"subnet": "a", "ip": "198.18.1.20", "ipv6": "2600:1f18:ab00:1::20", "public_ip": "198.51.100.20",
                  "security_groups": ["sg-open"]},
           "s1": {"subnet": "b", "ip": "198.18.2.20", "ipv6": "2600:1f18:ab00:2::20", "security_groups": ["sg-open"]},
           "c0": {"subnet": "a", "ip": "198.18.1.10", "ipv6": "2600:1f18:ab00:1::10", "security_groups": ["sg-open"]},
           "c1": {"subnet": "b", "ip": "198.18.2.11", "ipv6": "2600:1f18:ab00:2::11", "security_groups": ["sg-open"]},
           "c2": {"subnet": "b", "ip": "198.18.2.12", "ipv6": "2600:1f18:ab00:2::12", "security_groups": ["sg-open"]},
           "i0": {"internet": True, "ip": "192.0.2.7"},
           "i1": {"internet": True, "ip": "203.0.113.9"}})
SERVERS, PORTS = ("s0", "s1"), (80, 443)


@st.composite
def connections(draw: st.DrawFn) -> tuple[str, str, int, bool]:
    """(client, server, port, IPv6): VPC clients to a server's private IPv4 or IPv6, internet ones to s0's public IP."""
    client = draw(st.sampled_from(("c0", "c1", "c2", "i0", "i1")))
    internet = client.startswith("i")
    server = "s0" if internet else draw(st.sampled_from(SERVERS))
    return client, server, draw(st.sampled_from(PORTS)), not internet and draw(st.booleans())


def target(server: str, v6: bool, internet: bool) -> str:
    host = NETWORK.hosts[server]
    return str(host.public_ip if internet else host.ipv6 if v6 else host.ip)


def client_as_seen(client: TcpSocket, v6: bool) -> int:
    """The client's address as its server sees it: internet hosts arrive with their own, VPC hosts with their private
    IPv4 or IPv6 (written from the model, not from the simulator's router)."""
    host = NETWORK.hosts[client.host]
    return int(host.ipv6 if v6 else host.ip)


@SETTINGS
@given(plan=st.lists(connections(), min_size=2, max_size=6),
       sends=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(("client", "server"))), min_size=1, max_size=8))
def test_data_reaches_exactly_the_peer_socket_of_its_connection(plan, sends):
    """aws-semantics.md §3.4 (clients choose their ephemeral ports, so several clients share source ports): with
    several clients per server port, data sent from either side of a connection is delivered, and lands in exactly
    the peer socket of that connection, nowhere else."""
    sim = Simulator(NETWORK)
    for server in SERVERS:
        for port in PORTS:
            sim.listen(server, "tcp", port)
    conns = []
    for client, server, port, v6 in plan:
        conn, exchange = sim.connect(client, target(server, v6, client.startswith("i")), port)
        assert exchange.outcome == "established"
        conns.append((conn, server, port, v6))
    expected: dict[tuple[str, int, int, int], list[bytes]] = {}
    for n, (index, side) in enumerate(sends):
        conn, server, port, v6 = conns[index % len(conns)]
        data = f"{n}-{side}".encode()
        assert sim.send(conn, data, side).outcome == "delivered"
        c = conn.client
        peer = (server, port, client_as_seen(c, v6), c.lport) if side == "client" else (c.host, c.lport, c.remote,
                                                                                       c.rport)
        expected.setdefault(peer, []).append(data)
    assert received_by(sim) == expected
