"""`vpclab tighten` on generated flow logs (tests/flowsynth.py): it recovers exactly the rules the traffic implies —
egress only for what a group's ENIs initiated, ingress only for what was initiated toward them (the first seed
article; replies pass by connection tracking, aws-semantics.md §2.1) — with the diff, the evidence, the stated
generalisation limits (§1.6 quota) and the stateless NACL entries both directions need (§3.4)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowsynth


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> flowsynth.Synth:
    return flowsynth.write(tmp_path_factory.mktemp("synth"), seed=11)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tighten_recovers_exactly_the_generators_rules(tmp_path: Path, seed: int) -> None:
    """Seed article 1: egress rules only for connections the group's ENIs started, ingress only for those started
    toward them; peers that are all of a group's members become that group (§1.4), the rest /32."""
    made = flowsynth.write(tmp_path, seed)
    proposal = flowsynth.tighten_json(made.snapshot, [made.logs])
    assert flowsynth.proposal_rules(proposal["groups"]) == made.truth


def test_tighten_needs_no_aggregate_and_the_aggregate_comes_on_first_use(synth: flowsynth.Synth) -> None:
    """`vpclab tighten` sums its needs from the connections' row parts without building `flow_rows`: its proposal is
    the one of a run whose aggregate was built first, and aggregating the lazy run later gives the eager run's rows
    and summary (row counts, initiators, directions)."""
    from vpclab.flows.pipeline import read_flows

    lazy = flowsynth.tighten_json(synth.snapshot, [synth.logs])
    eager = flowsynth.tighten_json(synth.snapshot, [synth.logs], aggregate=True)
    assert lazy == eager and lazy["summary"]["records"] > 0
    first = read_flows([synth.logs])
    later = read_flows([synth.logs], aggregate=False)
    try:
        assert later.summary.rows is None and later.summary.initiators == []
        assert "flow_rows" not in {str(r[0]) for r in later.engine.rows("SELECT table_name FROM duckdb_tables()")}
        assert later.rows() == first.rows() and later.summary == first.summary
        assert first.summary.rows == len(first.rows()) > 0
        assert sum(n for _i, _e, _r, n, _c in first.summary.initiators) == lazy["summary"]["records"]
        key = "eni, direction, protocol, local_port, peer_addr, peer_port, action, initiator"
        sums = "SUM(packets), SUM(bytes), SUM(records), SUM(connections), MIN(first_seen), MAX(last_seen)"
        of_rows = first.engine.rows(f"SELECT {key}, {sums}, MIN(client_port_min), MAX(client_port_max) "
                                    f"FROM flow_rows GROUP BY {key} ORDER BY ALL")
        of_parts = first.engine.rows(f"SELECT {key}, {sums}, MIN(client_port), MAX(client_port) "
                                     f"FROM row_parts GROUP BY {key} ORDER BY ALL")
        assert of_parts == of_rows and len(of_rows) > 10  # summing parts is summing rows
    finally:
        first.close()
        later.close()


def test_replies_need_no_rule(synth: flowsynth.Synth) -> None:
    """§2.1: the web servers answer on 443 and 22 but get no egress rule toward their clients; the db, which only
    answers, gets no egress rule at all (its allow-all egress is removed)."""
    groups = {g["group"]: g for g in flowsynth.tighten_json(synth.snapshot, [synth.logs])["groups"]}
    assert groups["sg-db"]["egress"] == []
    assert {(r["proto"], r["ports"], r["peer"]) for r in groups["sg-db"]["remove"]} >= {("-1", "all", "0.0.0.0/0")}
    web_egress_ports = {r["ports"] for r in groups["sg-web"]["egress"]}
    assert "22" not in web_egress_ports and "ephemeral" not in web_egress_ports


def test_diff_keeps_exact_rules_and_carries_the_evidence(tmp_path: Path) -> None:
    """A rule today that is exactly what the traffic needs is kept; the broad ones are removed with what they admitted
    (flows, bytes, last seen) and the proposal's rules are added with theirs."""
    made = flowsynth.write(tmp_path, 5)
    text = made.snapshot.read_text().replace("{proto: tcp, ports: 5432, cidr: 10.0.0.0/16}",
                                             "{proto: tcp, ports: 5432, sg: sg-app}")
    made.snapshot.write_text(text)
    groups = {g["group"]: g for g in flowsynth.tighten_json(made.snapshot, [made.logs])["groups"]}
    db = groups["sg-db"]
    assert [(r["direction"], r["proto"], r["ports"], r["peer"]) for r in db["keep"]] == [
        ("ingress", "tcp", "5432", "sg-app")]
    assert db["keep"][0]["flows"] == 2 and db["keep"][0]["bytes"] > 0 and db["keep"][0]["last_seen"].endswith("Z")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "{proto: tcp, ports: 5432, sg: sg-app}" in t)
    assert db["keep"][0]["source"] == f"{made.snapshot}:{line}"  # a kept or removed rule says where it is written
    assert all(r["source"].startswith(f"{made.snapshot}:") for g in groups.values() for r in g["remove"])
    assert not any("source" in r for g in groups.values() for r in g["add"])  # new rules are written nowhere yet
    web = groups["sg-web"]
    removed = {(r["direction"], r["peer"], r["ports"]): r for r in web["remove"]}
    https = removed[("ingress", "0.0.0.0/0", "443")]
    admitted = sum(r["flows"] for r in web["ingress"] if r["ports"] == "443")
    assert https["flows"] == admitted > 0  # the engine credits today's rule with what it admitted
    assert all(r["direction"] in ("ingress", "egress") for r in web["add"])
    assert {(r["proto"], r["ports"], r["peer"]) for r in web["add"]} == \
        {(r["proto"], r["ports"], r["peer"]) for r in web["ingress"] + web["egress"]}


def test_peers_generalise_to_cidrs_under_the_quota(synth: flowsynth.Synth) -> None:
    """§1.6 (rules per group and direction): with a quota of 3, the web group's ingress peers are generalised at one
    prefix length, no wider than the floor, every observed client still covered."""
    full = {g["group"]: g for g in flowsynth.tighten_json(synth.snapshot, [synth.logs])["groups"]}["sg-web"]
    tight = {g["group"]: g for g in flowsynth.tighten_json(synth.snapshot, [synth.logs], max_rules=3,
                                                           min_prefix_v4=1)["groups"]}["sg-web"]
    assert len(tight["ingress"]) <= 3 < len(full["ingress"])
    assert "ingress v4" in tight["generalised_to"]
    for rule in full["ingress"]:
        peer = ipaddress.ip_network(rule["peer"])
        assert any(r["proto"] == rule["proto"] and r["ports"] == rule["ports"]
                   and peer.subnet_of(ipaddress.ip_network(r["peer"])) for r in tight["ingress"])
    assert sum(r["flows"] for r in tight["ingress"]) == sum(r["flows"] for r in full["ingress"])


def test_quota_that_cannot_be_met_is_a_warning(synth: flowsynth.Synth) -> None:
    """The floor is a stated limit: generalising stops there and the excess is reported, never silently widened."""
    web = {g["group"]: g for g in flowsynth.tighten_json(synth.snapshot, [synth.logs], max_rules=1,
                                                         min_prefix_v4=32)["groups"]}["sg-web"]
    assert any("exceed the quota of 1" in w for w in web["warnings"])
    assert all(r["peer"].endswith("/32") or r["peer"].startswith("sg-") for r in web["ingress"])


def test_user_prefix_list_replaces_the_peers_inside_it(synth: flowsynth.Synth) -> None:
    """A peer inside a prefix list the user names becomes one prefix-list rule (its weight counts in the quota)."""
    from vpclab.analysis.tighten import UserPrefixList

    plist = UserPrefixList.parse("pl-0docs:1=203.0.113.0/24,198.51.100.0/24")
    proposal = flowsynth.tighten_json(synth.snapshot, [synth.logs], prefix_lists=(plist,))
    web = {g["group"]: g for g in proposal["groups"]}["sg-web"]
    https = [r for r in web["ingress"] if r["ports"] == "443"]
    assert [r["peer"] for r in https] == ["pl-0docs"]
    assert proposal["prefix_lists"] == {"pl-0docs": ["203.0.113.0/24", "198.51.100.0/24"]}
    assert {r["peer"] for r in web["ingress"] if r["ports"] == "22"} == {"192.0.2.10/32"}  # outside the list


def test_group_reference_needs_enough_members(synth: flowsynth.Synth) -> None:
    """A group reference matches every member (§1.4): with a minimum of 3 members, sg-web's 2 stay /32s."""
    app = {g["group"]: g for g in flowsynth.tighten_json(synth.snapshot, [synth.logs],
                                                         group_min_members=3)["groups"]}["sg-app"]
    assert {r["peer"] for r in app["ingress"]} == {"10.0.1.11/32", "10.0.1.12/32"}


def test_nacl_entries_include_the_ephemeral_return_ranges(synth: flowsynth.Synth) -> None:
    """§3.4 and §3.3: NACLs are stateless, so each connection crossing a subnet boundary needs its request entry and
    a reply entry for the client's ephemeral ports — the Linux range for a snapshot host, 1024-65535 for an outside
    client; app → db stays inside its subnet and needs none."""
    proposal = flowsynth.tighten_json(synth.snapshot, [synth.logs])
    (acl,) = proposal["nacls"]
    assert acl["nacl"] == "default" and acl["subnets"] == ["private", "public"]

    def covered(entries: list[dict], proto: str, ports: str, address: str) -> bool:
        return any(e["proto"] == proto and e["ports"] == ports and e["action"] == "allow"
                   and ipaddress.ip_address(address) in ipaddress.ip_network(e["cidr"]) for e in entries)

    ingress, egress = acl["ingress"], acl["egress"]
    assert covered(ingress, "tcp", "22", "192.0.2.10") and covered(egress, "tcp", "1024-65535", "192.0.2.10")
    for app in ("10.0.2.21", "10.0.2.22"):  # web (public subnet) opens 8080 on app (private): both ways
        assert covered(egress, "tcp", "8080", app) and covered(ingress, "tcp", "32768-60999", app)
    for web in ("10.0.1.11", "10.0.1.12"):
        assert covered(ingress, "tcp", "8080", web) and covered(egress, "tcp", "32768-60999", web)
    assert not any(ipaddress.ip_address("10.0.2.31") in ipaddress.ip_network(e["cidr"]) for e in ingress + egress)
    for direction in ("ingress", "egress"):  # numbered per direction (§3.1)
        numbers = [e["rule"] for e in acl[direction]]
        assert len(set(numbers)) == len(numbers) and all(1 <= n <= 32766 for n in numbers)
    assert len(acl["ingress"]) <= 19 and len(acl["egress"]) <= 19  # §3.6: 20 with the * rule


def test_unknown_initiators_are_proposed_both_ways_or_skipped(tmp_path: Path) -> None:
    """An ICMP exchange whose two directions start in the same second has no initiator evidence: `propose` gives it a
    rule each way it was seen (so nothing observed breaks), `skip` none; either way it is counted."""
    made = flowsynth.write(tmp_path, 6)
    day = next(made.logs.rglob("*.log.gz")).parent
    import gzip

    with gzip.open(day / "extra.log.gz", "wt") as out:
        out.write(" ".join(flowsynth.FIELDS) + "\n")
        for src, dst, direction in (("192.0.2.99", "10.0.1.11", "ingress"), ("10.0.1.11", "192.0.2.99", "egress")):
            out.write(f"5 123456789012 eni-0000000000000a001 {src} {dst} 0 0 1 1 84 {flowsynth.T0} {flowsynth.T0 + 5} "
                      f"ACCEPT OK vpc-0synth subnet-public 0 IPv4 {src} {dst} {direction}\n")
    proposed = flowsynth.tighten_json(made.snapshot, [made.logs])
    web = {g["group"]: g for g in proposed["groups"]}["sg-web"]
    both = [(d, r.get("initiator_unknown")) for d in ("ingress", "egress") for r in web[d] if "192.0.2.99" in r["peer"]]
    assert both == [("ingress", True), ("egress", True)]
    assert proposed["summary"]["initiator_unknown_records"] == 2  # one record each way
    skipped = flowsynth.tighten_json(made.snapshot, [made.logs], unknown="skip")
    web = {g["group"]: g for g in skipped["groups"]}["sg-web"]
    assert not [r for d in ("ingress", "egress") for r in web[d] if "192.0.2.99" in r["peer"]]
    assert skipped["summary"]["initiator_unknown_skipped"] == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**16 - 1), min_size=1, max_size=60, unique=True), st.integers(1, 20),
       st.integers(8, 24))
def test_cidr_fitting_takes_the_longest_prefix_that_fits(hosts: list[int], budget: int, floor: int) -> None:
    """T6: every peer is covered, by the smallest CIDRs of the peers sharing one /prefix (adjacent ones collapsed,
    which widens nothing); the count is within the budget unless the floor is reached, and one bit longer would
    not have fitted (the generalisation is as specific as the quota allows)."""
    from vpclab.analysis import generalise

    nets = [ipaddress.ip_network((int(ipaddress.ip_address("10.0.0.0")) + h, 32)) for h in hosts]
    fitted, prefix = generalise.fit({"k": nets}, budget, floor)
    out = fitted["k"]
    assert all(any(n.subnet_of(o) for o in out) for n in nets)
    if prefix is None:
        assert out == list(ipaddress.collapse_addresses(nets)) and len(out) <= budget  # exact, nothing widened
        return
    assert prefix >= floor and out == generalise.group_at(nets, prefix)  # peers sharing a /prefix, covered
    assert len(out) <= budget or prefix == floor
    if len(out) <= budget and prefix < 32:
        assert len(generalise.group_at(nets, prefix + 1)) > budget
