"""Aggregated replay equals record-by-record engine verdicts (hypothesis, fast profile).

Random small networks (one ENI with a public IP, random security group rules and NACL entries) and random
connections to and from the internet; the connections' records are written as v5 flow logs, read and aggregated
by vpclab.flows, and each aggregated row is judged at its ENI (analysis.replay). Independently, every record's
packet is sent through `Engine.evaluate` — the stateful engine, conntrack included — request first, then the reply.
For every record, the verdict of the row (and client-port span) it was aggregated into must equal the engine's.
(The internet peers are hosts of the network so the engine's router knows where their packets come from.)
"""

from __future__ import annotations

import bisect
import ipaddress
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpclab.analysis.flowrows import flow_rows
from vpclab.analysis.gates import RowJudge
from vpclab.analysis.replay import judge_row
from vpclab.engine.engine import Engine
from vpclab.engine.packet import Packet
from vpclab.flows.pipeline import read_flows
from vpclab.model.network import Host, Network, Subnet, Vpc
from vpclab.model.policy import NetworkAcl, SecurityGroup
from vpclab.model.rules import Direction, NaclEntry, SgRule

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])
ENI, PRIVATE, PUBLIC = "eni-00000000000000e01", "10.0.1.10", "198.18.0.10"
PEERS = ("203.0.113.5", "203.0.113.77", "198.51.100.7")
CIDRS = ("0.0.0.0/0", "203.0.113.0/24", "198.51.100.7/32")
SERVER_PORTS = (22, 53, 443, 8080)
FIELDS = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " \
         "tcp-flags flow-direction"


def _range(draw: st.DrawFn) -> str:
    a = draw(st.sampled_from((0, 22, 53, 443, 1024, 8080, 32768, 40000, 50000)))
    b = draw(st.sampled_from((22, 53, 443, 1023, 8080, 32767, 45000, 60999, 65535)))
    lo, hi = min(a, b), max(a, b)
    return f"{lo}-{hi}"


@st.composite
def networks(draw: st.DrawFn) -> Network:
    def rules() -> tuple[SgRule, ...]:
        out = []
        for _ in range(draw(st.integers(0, 4))):
            proto = draw(st.sampled_from(("tcp", "udp", "-1")))
            out.append(SgRule.make(proto, None if proto == "-1" else _range(draw), cidr=draw(st.sampled_from(CIDRS))))
        return tuple(dict.fromkeys(out))

    def entries() -> tuple[NaclEntry, ...]:
        out = []
        for number in sorted(draw(st.sets(st.integers(1, 30), max_size=4))):
            proto = draw(st.sampled_from(("tcp", "udp", "-1")))
            out.append(NaclEntry.make(number * 10, draw(st.sampled_from(("allow", "allow", "deny"))), proto,
                                      draw(st.sampled_from(CIDRS)), None if proto == "-1" else _range(draw)))
        return tuple(out)

    group = SecurityGroup("sg-e", rules(), rules())
    acl = NetworkAcl("acl-e", entries(), entries())
    vpc = Vpc(ipaddress.IPv4Network("10.0.0.0/16"))
    subnet = Subnet("pub", ipaddress.IPv4Network("10.0.1.0/24"), nacl="acl-e", public=True)
    host = Host(ENI, ipaddress.IPv4Address(PRIVATE), "pub", ("sg-e",), ipaddress.IPv4Address(PUBLIC))
    outside = [Host(f"peer{i}", ipaddress.IPv4Address(a), internet=True) for i, a in enumerate(PEERS)]
    return Network.build(vpc, [subnet], [host, *outside], [group], [acl])


connections = st.lists(st.tuples(st.sampled_from(("local", "peer")), st.sampled_from((6, 17)),
                                 st.sampled_from(SERVER_PORTS), st.integers(1024, 65535), st.sampled_from(PEERS)),
                       min_size=1, max_size=12, unique_by=lambda c: c[3])


def _packets(initiator: str, proto: int, port: int, cport: int, peer: str) -> tuple[Packet, Packet]:
    """The request and reply as the engine sees them on the wire (the internet side uses the ENI's public IP)."""
    if initiator == "local":
        out = (PRIVATE, cport, peer, port)
        back = (peer, port, PUBLIC, cport)
    else:
        out = (peer, cport, PUBLIC, port)
        back = (PRIVATE, port, peer, cport)
    if proto == 6:
        return Packet.tcp(out[0], out[1], out[2], out[3], "S"), Packet.tcp(back[0], back[1], back[2], back[3], "SA")
    return Packet.udp(*out), Packet.udp(*back)


def _record(src: str, dst: str, sport: int, dport: int, proto: int, t: int, flags: int, direction: str) -> str:
    return f"5 {ENI} {src} {dst} {sport} {dport} {proto} 1 60 {t} {t + 1} ACCEPT OK {flags if proto == 6 else 0} " \
           f"{direction}"


@SETTINGS
@given(network=networks(), conns=connections)
def test_aggregated_rows_judge_every_record_as_the_engine_does(tmp_path_factory, network: Network, conns) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("prop")
    lines, truth = [FIELDS], []
    for i, (initiator, proto, port, cport, peer) in enumerate(conns):
        t = 1_764_590_400 + 10 * i
        local_is_client = initiator == "local"
        client, server = (PRIVATE, peer) if local_is_client else (peer, PRIVATE)
        lines.append(_record(client, server, cport, port, proto, t, 2, "egress" if local_is_client else "ingress"))
        lines.append(_record(server, client, port, cport, proto, t + 1, 18, "ingress" if local_is_client else "egress"))
        engine = Engine(network)
        request, reply = _packets(initiator, proto, port, cport, peer)
        asked = engine.evaluate(request, 0.0, explain=False)
        answered = engine.evaluate(reply, 1.0, explain=False) if asked.allowed else None
        truth.append((initiator, proto, port, cport, peer, asked.allowed, None if answered is None else answered.allowed))
    path = Path(folder) / "flows.log"
    path.write_text("\n".join(lines) + "\n")
    run = read_flows([path], known_addresses=[(ENI, PRIVATE)])
    try:
        rows = list(flow_rows(run))
    finally:
        run.close()
    judge = RowJudge(network)
    index: dict[tuple, list] = {}  # type: ignore[type-arg]
    for row in rows:  # rows also differ by initiator evidence (tcp-flags, ports, first-seen)
        assert row.initiator in ("local", "peer"), row
        key = (row.direction, row.protocol, row.local_port, row.peer_addr, row.peer_port)
        index.setdefault(key, []).append(judge_row(row, judge))
    for initiator, proto, port, cport, peer, asked, answered in truth:
        local = initiator == "local"
        request_key = ("egress" if local else "ingress", proto, "ephemeral" if local else str(port), peer,
                       str(port) if local else "ephemeral")
        reply_key = ("ingress" if local else "egress", *request_key[1:])
        for key, expected in ((request_key, asked), (reply_key, answered)):
            if expected is None:
                continue  # the engine never sees a reply to a request it dropped
            found = [v for judged in index[key] for v in judged.today
                     if v.ports is None or v.ports[0] <= cport <= v.ports[1]]
            assert found and all(v.allowed == expected for v in found), (key, cport, found)


def test_a_row_is_cut_where_a_nacl_entry_changes_the_decision() -> None:
    """§3.1: a NACL that allows replies to 32768-40000 only makes the aggregated reply row two spans, one allowed and
    one refused — never one verdict for ports that differ."""
    acl = NetworkAcl("acl-e", (NaclEntry.make(100, "allow", "-1", "0.0.0.0/0"),),
                     (NaclEntry.make(100, "allow", "tcp", "0.0.0.0/0", "32768-40000"),))
    network = Network.build(Vpc(ipaddress.IPv4Network("10.0.0.0/16")),
                            [Subnet("pub", ipaddress.IPv4Network("10.0.1.0/24"), nacl="acl-e", public=True)],
                            [Host(ENI, ipaddress.IPv4Address(PRIVATE), "pub", ("sg-e",), ipaddress.IPv4Address(PUBLIC))],
                            [SecurityGroup("sg-e", (SgRule.make("tcp", 443, cidr="0.0.0.0/0"),), ())], [acl])
    from vpclab.analysis.flowrows import FlowRow

    row = FlowRow(ENI, "egress", 6, PRIVATE, "443", "203.0.113.5", "ephemeral", "ACCEPT", "peer", "tcp-flags", 2, 120,
                  2, 2, 0, 1, 33000, 50000)
    verdicts = judge_row(row, RowJudge(network)).today
    assert [(v.ports, v.allowed) for v in verdicts] == [((33000, 40000), True), ((40001, 50000), False)]
    assert [g.component for g in verdicts[1].blockers] == ["nacl"]
    assert Direction.EGRESS == verdicts[1].blockers[0].direction


def test_peers_are_judged_alike_only_within_one_compiled_address_interval() -> None:
    """The judge remembers a verdict per peer *class* (the engine's compiled address intervals of the ENI's groups
    and of its NACL), not per peer: peers on either side of a rule's CIDR edge (§1.1) or of a NACL entry's (§3.1)
    get their own verdicts, and a peer inside an interval already asked gets that interval's verdict."""
    from vpclab.analysis.flowrows import FlowRow

    acl = NetworkAcl("acl-e", (NaclEntry.make(100, "deny", "-1", "203.0.113.64/26"),
                               NaclEntry.make(200, "allow", "-1", "0.0.0.0/0")),
                     (NaclEntry.make(100, "allow", "-1", "0.0.0.0/0"),))
    network = Network.build(Vpc(ipaddress.IPv4Network("10.0.0.0/16")),
                            [Subnet("pub", ipaddress.IPv4Network("10.0.1.0/24"), nacl="acl-e", public=True)],
                            [Host(ENI, ipaddress.IPv4Address(PRIVATE), "pub", ("sg-e",), ipaddress.IPv4Address(PUBLIC))],
                            [SecurityGroup("sg-e", (SgRule.make("tcp", 443, cidr="203.0.113.0/25"),), ())], [acl])
    judge = RowJudge(network)

    def allowed(peer: str) -> tuple[bool, tuple[str, ...]]:
        row = FlowRow(ENI, "ingress", 6, PRIVATE, "443", peer, "ephemeral", "ACCEPT", "peer", "tcp-flags", 1, 60, 1, 1,
                      0, 1, 40000, 40000)
        (verdict,) = judge_row(row, judge).today
        return verdict.allowed, tuple(g.component for g in verdict.blockers)

    expected = {"203.0.113.5": (True, ()), "203.0.113.70": (False, ("nacl",)), "203.0.113.200": (False, ("sg",)),
                "203.0.113.6": (True, ()), "203.0.113.127": (False, ("nacl",)), "203.0.113.128": (False, ("sg",)),
                "198.51.100.1": (False, ("sg",)), "203.0.113.63": (True, ())}
    assert {peer: allowed(peer) for peer in expected} == expected


@SETTINGS
@given(network=networks(), peers=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20),
       direction=st.sampled_from(("ingress", "egress")), proto=st.sampled_from((6, 17, 1)))
def test_a_peer_class_is_found_by_one_lookup_as_by_each_compiled_interval(network: Network, peers, direction,  # type: ignore[no-untyped-def]
                                                                        proto) -> None:
    """The judge finds a peer's class (§1.1, §3.1: the compiled address intervals of the ENI's groups both ways and of
    its NACL in the row's direction) with one bisect over their union: the same class as each interval list's own."""
    from vpclab.analysis.flowrows import FlowRow

    judge, engine = RowJudge(network), Engine(network)
    way = Direction.EGRESS if direction == "egress" else Direction.INGRESS
    for value in (*peers, 0, 2**32 - 1):
        peer = str(ipaddress.IPv4Address(value))
        row = FlowRow(ENI, direction, proto, PRIVATE, "443", peer, "ephemeral", "ACCEPT", "peer", "tcp-flags", 1, 60, 1,
                      1, 0, 1, 40000, 40000)
        expected = (4, *(bisect.bisect_right(engine.sg_address_bounds(ENI, d, 4, proto), value) for d in Direction),
                    bisect.bisect_right(engine.nacl_address_bounds("pub", way, 4, proto), value))
        assert judge._peer_class(row, (("sg-e",), "pub")) == expected
