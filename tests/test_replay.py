"""`vpclab replay`: every aggregated row judged by the engine at the ENI that logged it, today and under a proposal.

tighten's own proposal blocks nothing the logs show ACCEPTed; a narrower one lists exactly the rows that break;
tracked connections outlive a revocation until their idle timeout (aws-semantics.md §2.4, §2.5, the second seed
article); where the log and the model disagree it is a fidelity finding (§5.5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import flowsynth
from shareddata import shared
from vpclab.analysis.proposal import apply_tighten, load_proposal
from vpclab.analysis.replay import replay


def vpclab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vpclab", *args], capture_output=True, text=True, timeout=300)


def _replay(snapshot: Path, logs: list[Path], proposal: dict | None = None, proposal_path: Path | None = None):  # type: ignore[no-untyped-def]
    network, run = flowsynth.open_run(snapshot, logs)
    try:
        other, kind = None, "none"
        if proposal is not None:
            other, kind = apply_tighten(network, proposal, "proposal.json"), "tighten"
        elif proposal_path is not None:
            kind, other = load_proposal(network, proposal_path)
        return replay(network, run, other, kind, snapshot=str(snapshot))
    finally:
        run.close()


def _keys(judged: list) -> set[tuple[str, str, str, str, str]]:  # type: ignore[type-arg]
    return {(j.row.eni, j.row.direction, str(j.row.protocol), j.row.local_port, j.row.peer_port) for j in judged}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tightens_own_proposal_blocks_nothing_accepted(tmp_path: Path, seed: int) -> None:
    """The proof the issue asks for: every ACCEPTed row still passes under the proposal (groups and NACLs)."""
    made = flowsynth.write(tmp_path, seed)
    proposal = flowsynth.tighten_json(made.snapshot, [made.logs])
    result = _replay(made.snapshot, [made.logs], proposal)
    assert result.counts["judged"] == result.counts["rows"] > 0
    assert result.broken == [] and not result.breaks
    assert result.fidelity == []  # the generator's ACCEPT/REJECT is what the model says of its snapshot


def _without(proposal: dict, group: str, direction: str, ports: str) -> dict:
    data = json.loads(json.dumps(proposal))
    for g in data["groups"]:
        if g["group"] == group:
            g[direction] = [r for r in g[direction] if r["ports"] != ports]
    return data


def test_a_narrower_proposal_lists_exactly_the_flows_that_break(tmp_path: Path) -> None:
    """Without sg-web's SSH rule and sg-app's NTP rule, exactly the SSH rows at the web ENIs and the NTP rows at the
    app ENIs break — both directions of each, since a reply has no tracked connection to ride on."""
    made = flowsynth.write(tmp_path, 7)
    proposal = flowsynth.tighten_json(made.snapshot, [made.logs])
    narrower = _without(_without(proposal, "sg-web", "ingress", "22"), "sg-app", "egress", "123")
    result = _replay(made.snapshot, [made.logs], narrower)
    expected = set()
    for eni in flowsynth.WEB:
        expected |= {(eni, "ingress", "6", "22", "ephemeral"), (eni, "egress", "6", "22", "ephemeral")}
    for eni in flowsynth.APP:
        expected |= {(eni, "egress", "17", "ephemeral", "123"), (eni, "ingress", "17", "ephemeral", "123")}
    assert _keys(result.broken) == expected
    blockers = {g.component for j in result.broken for v in j.proposal or [] for g in v.blockers}
    assert blockers == {"sg"}
    assert all(j.today_allowed for j in result.broken)


def test_a_stateless_nacl_without_the_return_range_breaks_only_the_replies(tmp_path: Path) -> None:
    """§3.1/§3.4: take out the NACL's egress entry for the admin's ephemeral ports and only the SSH replies (egress at
    the web ENIs) break — the requests still pass, and the security group still tracks the connection."""
    made = flowsynth.write(tmp_path, 8)
    proposal = flowsynth.tighten_json(made.snapshot, [made.logs])
    acl = proposal["nacls"][0]
    acl["egress"] = [e for e in acl["egress"] if not (e["cidr"] == "192.0.2.10/32" and e["proto"] == "tcp")]
    result = _replay(made.snapshot, [made.logs], proposal)
    assert _keys(result.broken) == {(eni, "egress", "6", "22", "ephemeral") for eni in flowsynth.WEB}
    for j in result.broken:
        (verdict,) = j.proposal or []
        assert verdict.sg == "tracked" and [g.component for g in verdict.blockers] == ["nacl"]


def test_tracked_connections_survive_the_revocation_until_their_idle_timeout(tmp_path: Path) -> None:
    """§2.4 (the second seed article): revoking the SSH rule does not cut the established sessions — they pass while
    active and until the ENI's TCP established timeout after their last packet (§2.5: 432000 s by default, here
    one web ENI set to 350 s)."""
    made = flowsynth.write(tmp_path, 9)
    text = made.snapshot.read_text().replace(
        "eni-0000000000000a002: {subnet: public, ip: 10.0.1.12, public_ip: 198.18.0.12, security_groups: [sg-web]}",
        "eni-0000000000000a002: {subnet: public, ip: 10.0.1.12, public_ip: 198.18.0.12, security_groups: [sg-web], "
        "conntrack: {tcp_established: 350}}").replace("{proto: tcp, ports: 22, cidr: 0.0.0.0/0}",
                                                       "{proto: tcp, ports: 22, cidr: 192.0.2.0/24}")
    made.snapshot.write_text(text)  # SSH from one /24 only: tracked (§2.2)
    proposal = _without(flowsynth.tighten_json(made.snapshot, [made.logs]), "sg-web", "ingress", "22")
    result = _replay(made.snapshot, [made.logs], proposal)
    survivors = {s.row.eni: s for s in result.survivors}
    assert set(survivors) == set(flowsynth.WEB)
    for eni, timeout in (("eni-0000000000000a001", 432000), ("eni-0000000000000a002", 350)):
        s = survivors[eni]
        assert s.tracked and s.timeout == timeout and s.row.local_port == "22"
        assert s.until == s.row.last_seen + timeout
        assert s.row.last_seen - s.row.first_seen >= 400  # the generator's long-lived sessions


def test_an_untracked_flow_is_cut_at_once(tmp_path: Path) -> None:
    """§2.2/§2.4: the generated snapshot opens SSH to 0.0.0.0/0 and its egress is AWS's default allow-all, so SSH is
    untracked today and revoking the rule cuts it at once: the survivor entry says so."""
    made = flowsynth.write(tmp_path, 10)
    proposal = _without(flowsynth.tighten_json(made.snapshot, [made.logs]), "sg-web", "ingress", "22")
    result = _replay(made.snapshot, [made.logs], proposal)
    assert result.survivors and all(not s.tracked and s.until is None for s in result.survivors)
    from rich.console import Console

    from vpclab.report.replay import render

    console = Console(record=True, width=240)
    console.print(render(result))
    text = console.export_text()
    assert f"0 tracked keep passing while active, {len(result.survivors)} untracked are cut at once" in text
    rows = [line for line in text.splitlines() if "cut at once (untracked)" in line]
    assert len(rows) == min(len(result.survivors), 20) and not any("432000" in line for line in rows)


def test_logs_that_disagree_with_the_model_are_fidelity_findings(tmp_path: Path) -> None:
    """§5.5: the scans the logs show REJECTed on 3389 are allowed by a snapshot that opens 3389 (the log saw a filter
    the snapshot lacks), and the HTTPS the logs ACCEPTed is refused by a snapshot without the 443 rule."""
    made = flowsynth.write(tmp_path, 12)
    text = made.snapshot.read_text().replace("      - {proto: tcp, ports: 443, cidr: 0.0.0.0/0}",
                                             "      - {proto: tcp, ports: 3389, cidr: 0.0.0.0/0}")
    made.snapshot.write_text(text)
    result = _replay(made.snapshot, [made.logs])
    kinds: dict[str, set] = {}  # type: ignore[type-arg]
    for kind, j in result.fidelity:
        kinds.setdefault(kind, set()).add((j.row.eni, j.row.direction, j.row.local_port, j.row.peer_addr))
    scans = {(flowsynth.ENI_OF[c.server], "ingress", "3389", c.client) for c in made.conns if c.port == 3389}
    https = {(flowsynth.ENI_OF[c.server], d, "443", c.client) for c in made.conns if c.port == 443
             and c.server in flowsynth.ENI_OF for d in ("ingress", "egress")}
    assert kinds == {"log-reject-model-allows": scans, "log-accept-model-blocks": https}


def test_a_second_snapshot_is_a_proposal_too(tmp_path: Path) -> None:
    """`--proposal` takes any snapshot: today's lab without sg-db's ingress rule breaks exactly app → db."""
    made = flowsynth.write(tmp_path, 13)
    other = tmp_path / "other.yaml"
    other.write_text(made.snapshot.read_text().replace("      - {proto: tcp, ports: 5432, cidr: 10.0.0.0/16}\n", "")
                     .replace("  sg-db:\n    ingress:\n", "  sg-db:\n    ingress: []\n"))
    result = _replay(made.snapshot, [made.logs], proposal_path=other)
    assert result.proposal_kind == "snapshot"
    db = next(iter(flowsynth.DB))
    assert _keys(result.broken) == {(db, "ingress", "6", "5432", "ephemeral"), (db, "egress", "6", "5432", "ephemeral")}


def test_cli_exit_statuses(tmp_path: Path) -> None:
    """0 when the proposal breaks nothing, 1 when it blocks ACCEPTed flows, the JSON naming them."""
    made = flowsynth.write(tmp_path, 14)
    done = vpclab("tighten", str(made.snapshot), "--flows", str(made.logs), "--format", "json")
    assert done.returncode == 0, done.stderr
    good = tmp_path / "proposal.json"
    good.write_text(done.stdout)
    done = vpclab("replay", str(made.snapshot), "--flows", str(made.logs), "--proposal", str(good), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["broken"] == [] and data["proposal"]["kind"] == "tighten"
    bad = tmp_path / "narrow.json"
    bad.write_text(json.dumps(_without(json.loads(good.read_text()), "sg-web", "ingress", "443")))
    done = vpclab("replay", str(made.snapshot), "--flows", str(made.logs), "--proposal", str(bad))
    assert done.returncode == 1 and "blocks" in done.stdout and "443" in done.stdout


def test_bad_proposal_is_located(tmp_path: Path) -> None:
    """Bad input (common brief): the file, the JSON path and what is expected; exit 2, no traceback."""
    made = flowsynth.write(tmp_path, 15)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"groups": [{"group": "sg-web", "ingress": [{"proto": "tcpp", "ports": "22",
                                                                            "peer": "10.0.0.0/8"}], "egress": []},
                                          {"group": "sg-nope", "ingress": [], "egress": []}]}))
    done = vpclab("replay", str(made.snapshot), "--flows", str(made.logs), "--proposal", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{bad}: $.groups[0].ingress[0]" in done.stderr and "'tcpp' is not a protocol" in done.stderr
    assert "$.groups[1].group" in done.stderr and "'sg-nope' is not a security group" in done.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{\"groups\": [")
    done = vpclab("replay", str(made.snapshot), "--flows", str(made.logs), "--proposal", str(broken))
    assert done.returncode == 2 and f"{broken}:1" in done.stderr and "is not JSON" in done.stderr


# ---- the shared real logs ------------------------------------------------------------------------------------

PING_LAB = (Path(__file__).parent / "fixtures" / "tighten" / "doc-ping.yaml").read_text()
"""The page's example as a snapshot: the group admits ICMP in, the NACL admits ICMP in only."""


def test_aws_ping_example_agrees_with_the_model(tmp_path: Path) -> None:
    """§5.5's example on the shared records (aws-docs/doc-ping-sg-nacl.log) with a snapshot written from the page:
    the security group admits the ping and tracks it, the NACL refuses the reply — the model says what the log says
    (ACCEPT in, REJECT out), so there is no fidelity finding; opening the NACL makes the REJECT one."""
    logs = [shared("flowlogs", "aws-docs", "doc-ping-sg-nacl.log")]
    lab = tmp_path / "ping.yaml"
    lab.write_text(PING_LAB)
    result = _replay(lab, logs)
    assert result.counts["judged"] == 2 and result.fidelity == []
    assert result.counts["blocked_today"] == 1
    opened = tmp_path / "opened.yaml"
    opened.write_text(PING_LAB.replace("    egress: []\nsecurity", "    egress:\n      - {rule: 100, action: allow, "
                                                                  "proto: -1, cidr: 0.0.0.0/0}\nsecurity"))
    result = _replay(opened, logs)
    assert [(k, j.row.direction, j.row.action) for k, j in result.fidelity] == [
        ("log-reject-model-allows", "egress", "REJECT")]
    proposal = flowsynth.tighten_json(lab, logs)
    (group,) = proposal["groups"]
    assert [(r["proto"], r["peer"]) for r in group["ingress"]] == [("icmp", "203.0.113.12/32")] and group["egress"] == []
    (acl,) = proposal["nacls"]
    assert [(e["proto"], e["cidr"]) for e in acl["ingress"]] == [("icmp", "203.0.113.12/32")]
    assert acl["egress"] == []  # the reply the NACL refused is not opened by a tightening (T10)
    assert proposal["summary"]["nacl_replies_not_seen_accepted"] == 1


def test_shared_logs_whose_enis_no_snapshot_holds(tmp_path: Path) -> None:
    """No shared snapshot holds the ENIs of the shared logs (cloudfwd's eni-63c18886 and eni-b1578161): nothing is
    judged or tightened, and both say which ENIs were missing and how many records they had."""
    logs = [shared("flowlogs", "cloudfwd", "cloudfwd-v2.log")]
    snapshot = shared("aws-snapshots", "test-public-subnet")
    result = _replay(snapshot, logs)
    assert result.unknown_enis == {"eni-63c18886": 346, "eni-b1578161": 14}
    assert result.counts.get("judged", 0) == 0 and result.counts["not_judged_eni_not_in_snapshot"] > 0
    proposal = flowsynth.tighten_json(snapshot, logs)
    assert proposal["groups"] == [] and proposal["summary"]["enis_tightened"] == 0
    assert set(proposal["summary"]["enis_not_in_snapshot"]) == {"eni-63c18886", "eni-b1578161"}
    done = vpclab("replay", str(snapshot), "--flows", str(logs[0]))
    assert done.returncode == 0 and "not in the snapshot" in done.stdout and "eni-63c18886" in done.stdout


def test_replay_renderers_name_what_breaks_and_what_survives(tmp_path: Path) -> None:
    """The text and JSON of a replay whose proposal drops SSH: the broken rows with the blocking group, the tracked
    sessions with the time they last until (JSON: the whole contract of DESIGN.md's replay paragraph)."""
    from rich.console import Console

    from vpclab.report.replay import render, to_dict

    made = flowsynth.write(tmp_path, 16)
    made.snapshot.write_text(made.snapshot.read_text().replace("{proto: tcp, ports: 22, cidr: 0.0.0.0/0}",
                                                               "{proto: tcp, ports: 22, cidr: 192.0.2.0/24}"))
    proposal = _without(flowsynth.tighten_json(made.snapshot, [made.logs]), "sg-web", "ingress", "22")
    result = _replay(made.snapshot, [made.logs], proposal)
    data = to_dict(result)
    assert data["ok"] is False and len(data["broken"]) == 4 and len(data["tracked_survivors"]) == 2
    survivor = data["tracked_survivors"][0]
    assert survivor["tracked"] and survivor["tcp_established_timeout"] == 432000 and survivor["survives_until"]
    blockers = {b["id"] for j in data["broken"] for v in j["proposal"] for b in v["blockers"]}
    assert blockers == {"sg-web"}
    console = Console(record=True, width=240)
    console.print(render(result))
    text = console.export_text()
    assert "blocks 4 row(s)" in text and "2 tracked keep passing while active, 0 untracked" in text
    assert survivor["survives_until"] in text


def test_aws_ipv6_example_tightens_to_one_slash_128(tmp_path: Path) -> None:
    """The shared IPv6 record (aws-docs/doc-ipv6-ssh.log) with a snapshot that gives the ENI the server's address:
    SSH from ::/0 narrows to the one client's /128 (§1.1: a single IPv6 address is a /128), the NACL entries are
    IPv6 ones, and replay judges the row as an IPv6 packet, allowed today and under the proposal."""
    logs = [shared("flowlogs", "aws-docs", "doc-ipv6-ssh.log")]
    lab = Path(__file__).parent / "fixtures" / "tighten" / "doc-ipv6-ssh.yaml"
    proposal = flowsynth.tighten_json(lab, logs)
    (group,) = proposal["groups"]
    client = "2001:db8:1234:a100:8d6e:3477:df66:f105/128"
    assert [(r["proto"], r["ports"], r["peer"]) for r in group["ingress"]] == [("tcp", "22", client)]
    assert {(r["proto"], r["ports"], r["peer"]) for r in group["remove"]} == {
        ("tcp", "22", "::/0"), ("-1", "all", "0.0.0.0/0"), ("-1", "all", "::/0")}  # the new group's egress, both families
    (acl,) = proposal["nacls"]
    assert [(e["proto"], e["ports"], e["cidr"]) for e in acl["ingress"]] == [("tcp", "22", client)]
    result = _replay(lab, logs, proposal)
    assert result.counts["judged"] == 1 and result.broken == [] and result.fidelity == []
