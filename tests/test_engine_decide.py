"""The engine's stateless calls: `decide` (what the rules say on a path) and `tracked` (what conntrack holds).

They must never change state, and together they must predict `evaluate`: a packet passes iff its route exists,
every NACL on the path allows it, and at each security group gate either a live tracked entry or a rule admits
it (aws-semantics.md §1.2 two independent gates, §2 connection tracking, §3 NACLs).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vpclab.engine import Engine, Packet
from vpclab.engine.decision import Decision
from vpclab.lab.catalog import load
from vpclab.model import SecurityGroup
from vpclab.report.explain import verdict_reason

from test_properties_engine import SETTINGS, reply_to, scenarios


def conntrack_state(engine: Engine) -> list[tuple]:
    """Everything a table holds, to prove a call changed nothing."""
    return [(t.host, t.count, t.created, t.expired, t.exceeded,
             [(e.orig, e.state, e.last_seen, e.timeout, e.packets) for e in t.entries()]) for t in engine.tables()]


def predicted(engine: Engine, p: Packet, now: float) -> tuple[bool, Decision]:
    decision = engine.decide(p)
    tracked = {(t.host, t.direction): t.flow for t in engine.tracked(p, now)}
    if decision.route.drop_code is not None:
        return False, decision
    ok = all(g.allowed or (g.component == "sg" and tracked.get((g.where, g.direction)) is not None)
             for g in decision.gates)
    return ok, decision


def check(engine: Engine, p: Packet, now: float) -> None:
    before = conntrack_state(engine)
    expected, decision = predicted(engine, p, now)
    assert conntrack_state(engine) == before, "decide/tracked changed conntrack state"
    for gate in decision.gates:  # the deciding rule is known without any explanation being built
        assert gate.rule is not None or (gate.component == "sg" and not gate.allowed)
    verdict = engine.evaluate(p, now, explain=False)
    assert verdict.allowed == expected, (p.describe(), verdict_reason(engine.evaluate(p, now)), decision)


@SETTINGS
@given(case=scenarios(any_kind=True), waits=st.lists(st.sampled_from([0.01, 1, 29, 31, 200]), min_size=4, max_size=4),
       revoke_at=st.integers(0, 4))
def test_decide_and_tracked_predict_evaluate_and_change_nothing(case, waits, revoke_at):
    """A flow's packet and its reply, back and forth with waits (idle timeouts), and at some point every
    ingress rule revoked (tracked flows survive, untracked ones are cut): at each packet the stateless calls
    change nothing and predict the verdict."""
    network, p = case
    engine = Engine(network)
    now = 0.0
    for i, (packet, wait) in enumerate(zip([p, reply_to(p), p, reply_to(p)], waits)):
        if i == revoke_at:
            bare = network
            for gid, group in network.security_groups.items():
                bare = bare._changed(security_groups=bare.security_groups.replace(
                    gid, SecurityGroup(gid, (), group.egress)))
            engine.update(bare)
        check(engine, packet, now)
        now += wait


def test_decide_lists_every_blocker_not_just_the_first():
    """nacl-stateless: the server's SYN-ACK, judged by rules alone, is refused by subnet b's NACL (no egress
    entry for ephemeral ports: the `*` deny) *and* by the client's group (no ingress rule): both are listed,
    each with what decided it, while the gates that allow it are listed too."""
    lab = load("nacl-stateless")
    engine = Engine(lab.network)
    web, client = lab.network.hosts["web"], lab.network.hosts["client"]
    reply = Packet.tcp(web.ip, 80, client.ip, 40000, "SA")
    decision = engine.decide(reply)
    assert [(g.component, g.where, str(g.direction), g.allowed) for g in decision.gates] == [
        ("sg", "web", "egress", True), ("nacl", "b", "egress", False), ("nacl", "a", "ingress", True),
        ("sg", "client", "ingress", False)]
    nacl, sg = decision.blockers
    assert nacl.rule.ref == "*" and nacl.rule.owner == "web-acl" and sg.rule is None
    assert decision.gates[0].rule.ref == "egress rule 1"  # sg-web's default egress rule admits it
    assert [t.flow for t in engine.tracked(reply, 0.0)] == [None, None]
