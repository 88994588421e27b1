"""`vpclab demo`: the seed articles' observations, run on the simulator and explained packet by packet."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address, ip_network

from rich.console import Console

from vpclab.model import Direction, Host, Network, SecurityGroup, SgRule, Subnet, Vpc
from vpclab.report.packets import packet_line
from vpclab.sim import Exchange, Simulator

RULE_4321 = SgRule.make("tcp", 4321, cidr="198.18.0.0/16")


def _two_hosts(sg_a: SecurityGroup, sg_b: SecurityGroup, ignore_echo: bool = False) -> Network:
    return Network.build(
        Vpc(ip_network("198.18.0.0/16")),
        subnets=[Subnet("a", ip_network("198.18.1.0/24")), Subnet("b", ip_network("198.18.2.0/24"))],
        security_groups=[sg_a, sg_b],
        hosts=[Host("testa", ip_address("198.18.1.10"), "a", (sg_a.id,), icmp_echo_ignore=ignore_echo),
               Host("testb", ip_address("198.18.2.20"), "b", (sg_b.id,), icmp_echo_ignore=ignore_echo)])


def beating_security_groups(show: Callable[[str, Exchange], None]) -> None:
    """An established connection survives removal of the rule that allowed it."""
    net = _two_hosts(SecurityGroup.new("sg-testa"), SecurityGroup.new("sg-testb").authorize(Direction.INGRESS, RULE_4321))
    sim = Simulator(net)
    sim.listen("testb", "tcp", 4321)
    conn, exchange = sim.connect("testa", "testb", 4321)
    show("connect testa → testb:4321", exchange)
    show("send 'one'", sim.send(conn, b"one"))
    sim.apply(net.revoke("sg-testb", Direction.INGRESS, RULE_4321))
    show("revoke tcp 4321 from sg-testb, then send 'two'", sim.send(conn, b"two"))
    show("close", sim.close(conn))
    conn, exchange = sim.connect("testa", "testb", 4321)
    show("connect again", exchange)


def stateful_statelessness(show: Callable[[str, Exchange], None]) -> None:
    """An echo reply is let in only after a request with the same identifier, within the timeout."""
    sg_a = SecurityGroup("sg-a", (), (SgRule.make("icmp", cidr="198.18.2.0/24"),))
    sg_b = SecurityGroup("sg-b", (SgRule.make("icmp", cidr="198.18.1.0/24"),), ())
    sim = Simulator(_two_hosts(sg_a, sg_b, ignore_echo=True))
    show("request id 1 from testa", sim.icmp("testa", "testb", "echo-request", ident=1))
    show("reply id 1 from testb", sim.icmp("testb", "testa", "echo-reply", ident=1))
    show("another reply id 1 (seq 2)", sim.icmp("testb", "testa", "echo-reply", ident=1, seq=2))
    sim.wait(31)
    show("31 s later: reply id 1 with no live request", sim.icmp("testb", "testa", "echo-reply", ident=1))
    sim.icmp("testa", "testb", "echo-request", ident=7)
    show("request id 7, reply id 9", sim.icmp("testb", "testa", "echo-reply", ident=9))


SCENARIOS = {"Beating AWS Security Groups": beating_security_groups,
             "AWS Security Groups: Stateful Statelessness": stateful_statelessness}


def run(console: Console) -> None:
    for title, scenario in SCENARIOS.items():
        console.rule(f"[bold]{title}")
        console.print(scenario.__doc__ or "", style="italic")

        def show(action: str, exchange: Exchange) -> None:
            console.print(f"[bold]{action}[/]: {exchange.outcome}")
            for record in exchange.packets:
                console.print(packet_line(record.time, record.packet, record.verdict))

        scenario(show)
