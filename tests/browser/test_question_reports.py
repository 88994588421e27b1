"""The reach, matrix and audit HTML reports (issue 12), made by the real CLI (`--html`) on the real shared snapshots,
opened offline in Chromium and checked on the DOM against the JSON the same command prints."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared-data helper

from shareddata import shared  # noqa: E402
from vpclab.analysis.reach import reach_all  # noqa: E402
from vpclab.cli import app  # noqa: E402
from vpclab.load.snapshot import load_snapshot  # noqa: E402
from vpclab.model import NaclEntry, NetworkAcl  # noqa: E402
from vpclab.model.frozen import FrozenMap  # noqa: E402
from vpclab.model.protocols import TCP  # noqa: E402
from vpclab.report import reach as reach_report  # noqa: E402
from vpclab.report.html import render  # noqa: E402

pytestmark = pytest.mark.browser


def run(tmp_path: Path, *args: str, json_flag: str = "--json") -> tuple[dict[str, Any], str]:
    """The command's JSON and the HTML its --html wrote, from one run."""
    out = tmp_path / "report.html"
    flags = [json_flag] if json_flag == "--json" else ["--format", "json"]
    result = CliRunner().invoke(app, [*args, *flags, "--html", str(out)])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout), out.read_text(encoding="utf-8")


def snapshot(name: str) -> str:
    return str(shared("aws-snapshots", name))


# ---- reach --------------------------------------------------------------------------------------------------


def test_reach_marks_the_blocking_security_group_hop(tmp_path: Path, show) -> None:
    """test-subnet tcp/80: sg-02566e… (only 22 inbound) blocks the forward path at its third hop; that hop's element
    carries the class and the blocker's reason, and the blocker's source and AWS CLI fix are shown."""
    data, html = run(tmp_path, "reach", snapshot("test-subnet"), "--from", "10.10.1.228", "--to", "10.10.1.44",
                     "--proto", "tcp", "--port", "80")
    assert data["reachable"] is False and len(data["explanations"]) == 1
    page = show(html, "reach").page
    assert page.locator("section.answer").get_attribute("data-reachable") == "false"
    assert "✗ not reachable" in (page.locator(".verdict").text_content() or "")
    forward = page.locator("#a1-forward li.hop")
    assert forward.count() == len(data["forward"])
    assert page.locator("#a1-return li.hop").count() == len(data["return"])
    (blocker,) = data["explanations"]
    denied = [i for i, h in enumerate(data["forward"], start=1) if h["decision"] == "deny"]
    assert len(denied) == 1
    hop = page.locator(f"#a1-forward-{denied[0]}")
    assert "blocking" in (hop.get_attribute("class") or "").split()
    assert hop.get_attribute("data-id") == blocker["id"] == "sg-02566e413c0030c70"
    text = hop.text_content() or ""
    assert blocker["reason"] in text and "Blocked here" in text and blocker["source"] in text
    assert page.locator("li.hop.blocking").count() == 1  # the other hops are not marked
    for i, h in enumerate(data["forward"] + data["return"]):
        assert h["reason"] in (page.locator("li.hop").nth(i).text_content() or "")
    card = page.locator("article.blocker")
    assert card.count() == 1 and card.get_attribute("data-code") == blocker["code"]
    (fix,) = data["fix"]
    assert fix["text"] in (card.text_content() or "") and fix["cli"] in (card.locator("pre.cli").text_content() or "")
    assert page.locator("svg g.node.blocking").count() == 1  # the drawn strip marks it too


def test_reach_reachable_path_through_the_nat_gateway(tmp_path: Path, show) -> None:
    """test-nat-gateway test1 → internet tcp/443: every hop of both paths shown, none marked, no blocker."""
    data, html = run(tmp_path, "reach", snapshot("test-nat-gateway"), "--from", "test1", "--to", "internet",
                     "--proto", "tcp", "--port", "443")
    assert data["reachable"] is True
    page = show(html, "reach-reachable").page
    assert page.locator("section.answer").get_attribute("data-reachable") == "true"
    assert "✓ reachable" in (page.locator(".verdict").text_content() or "")
    hops = page.locator("li.hop")
    assert hops.count() == len(data["forward"]) + len(data["return"]) > 6
    assert page.locator("li.hop.blocking").count() == 0 and page.locator("article.blocker").count() == 0
    labels = page.locator("li.hop .hop-head strong").all_text_contents()
    assert "NAT gateway" in labels and "Internet gateway" in labels
    for i, h in enumerate(data["forward"] + data["return"]):
        item = hops.nth(i)
        assert item.get_attribute("data-code") == h["code"]
        assert h.get("source", "") in (item.text_content() or "")


def test_reach_lists_every_blocker_on_both_paths(tmp_path: Path, show) -> None:
    """test-public-private-subnet with its private subnet on a NACL allowing only tcp 22 both ways (the classic
    missing ephemeral range, as tests/test_reach_snapshots.py): tcp/80 has three blockers, two forward and one on
    the return path; each is marked at its hop and listed with its fix."""
    network = load_snapshot(shared("aws-snapshots", "test-public-private-subnet")).network
    acl = NetworkAcl("acl-ssh-only", ingress=(NaclEntry.make(100, "allow", "tcp", "0.0.0.0/0", "22"),),
                     egress=(NaclEntry.make(100, "allow", "tcp", "0.0.0.0/0", "22"),))
    network = replace(network, nacls=FrozenMap({**network.nacls, acl.id: acl}))
    network = network.associate_nacl("subnet-0f263105946ad1a1d", acl.id)
    data = reach_report.answers_dict(reach_all(network, "13.58.55.60", "10.0.1.204", TCP, 80))
    assert len(data["explanations"]) == 3
    page = show(render("reach", data), "reach-blockers").page
    cards = page.locator("article.blocker")
    assert cards.count() == 3
    for i, b in enumerate(data["explanations"]):
        card = cards.nth(i)
        assert card.get_attribute("data-path") == b["path"] and card.get_attribute("data-id") == b["id"]
        assert b["reason"] in (card.text_content() or "")
        link = card.locator("a[href^='#a1-']").get_attribute("href") or ""
        hop = page.locator(link)
        assert "blocking" in (hop.get_attribute("class") or "").split()
        assert hop.locator("xpath=ancestor::section[@data-path]").get_attribute("data-path") == b["path"]
        assert b["reason"] in (hop.text_content() or "")
    assert page.locator("#a1-forward li.hop.blocking").count() == 2
    assert page.locator("#a1-return li.hop.blocking").count() == 1
    script = page.locator("pre.script").text_content() or ""
    assert all(f["cli"] in script for f in data["fix"]) and len(data["fix"]) == 3


def test_reach_answers_once_per_eni_of_an_instance(show) -> None:
    """An instance with two ENIs (test-nat-gateway's test1 given a second one, as tests/test_reach_snapshots.py):
    one section per answer, each with its own hops and anchors."""
    network = load_snapshot(shared("aws-snapshots", "test-nat-gateway")).network
    test1 = network.hosts["eni-0e4ce6a7777b9bff8"]
    second = replace(test1, name="eni-second", ip=type(test1.ip)("10.1.1.99"), secondary_ips=())
    network = replace(network, hosts=FrozenMap({**network.hosts, second.name: second}))
    data = reach_report.answers_dict(reach_all(network, test1.instance or "", "Jump Host", TCP, 22))
    assert len(data["answers"]) == 2
    page = show(render("reach", data), "reach-answers").page
    sections = page.locator("section.answer")
    assert sections.count() == 2
    for k, answer in enumerate(data["answers"], start=1):
        section = page.locator(f"#a{k}")
        assert answer["from"]["eni"] in (section.locator("h2").text_content() or "")
        assert section.locator("li.hop").count() == len(answer["forward"]) + len(answer["return"])
    ids = page.locator("[id]").evaluate_all("es => es.map(e => e.id)")
    assert len(ids) == len(set(ids))


# ---- matrix -------------------------------------------------------------------------------------------------


def test_matrix_is_n_by_n_and_filters(tmp_path: Path, show) -> None:
    """pybatfish-hybrid-cloud tcp/22: 8 ENIs give 8×8 cells, each agreeing with its class pair; the text and state
    filters hide rows and cells in the browser."""
    data, html = run(tmp_path, "reach", snapshot("pybatfish-hybrid-cloud"), "--matrix", "--proto", "tcp",
                     "--port", "22")
    n = data["enis"]
    assert n == 8
    page = show(html, "matrix").page
    cells = page.locator("#matrix td.cell")
    assert cells.count() == n * n
    assert page.locator("#matrix tbody th[scope=row]").count() == n
    assert page.locator("#matrix thead th[scope=col].col").count() == n
    klass = {e: c["class"] for c in data["classes"] for e in c["enis"]}
    order = [e for c in data["classes"] for e in c["enis"]]
    pairs = {(p["from"], p["to"]): p["reachable"] for p in data["pairs"]}
    states = cells.evaluate_all("cs => cs.map(c => [c.dataset.state, c.textContent])")
    for k, (state, text) in enumerate(states):
        a, b = order[k // n], order[k % n]
        expected = "self" if a == b else ("ok" if pairs[(klass[a], klass[b])] else "bad")
        assert state == expected and text.startswith({"self": "—", "ok": "✓", "bad": "✗"}[expected])
    assert page.locator("#matrix td.state-ok").count() == data["reachable_eni_pairs"]
    visible = page.locator("#matrix td.cell:visible")
    assert visible.count() == n * n

    subnet = "subnet-0cb5f4c094bee5214"
    mine = [e for e in order if next(c for c in data["classes"] if c["class"] == klass[e])["subnet"] == subnet]
    assert len(mine) == 2
    page.locator("#filter-from").fill(subnet)
    rows = page.locator("#matrix tbody tr:visible")
    assert rows.count() == 2
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.eni)")) == sorted(mine)
    assert visible.count() == 2 * n

    page.locator("#filter-to").fill(subnet)  # the 2×2 block of that subnet: its two ENIs reach each other
    assert page.locator("#matrix thead th.col:visible").count() == 2
    assert visible.evaluate_all("cs => cs.map(c => c.dataset.state)") == ["self", "ok", "ok", "self"]

    page.locator("input[name=state][value=bad]").check()  # nothing blocked is left in it
    assert visible.count() == 0 and rows.count() == 0
    assert (page.locator("#matrix-status").text_content() or "").startswith("0 × 2")

    page.locator("#filter-to").fill("")  # blocked only, from that subnet to anyone
    shown = visible.evaluate_all("cs => cs.map(c => c.dataset.state)")
    blocked = sum(1 for a in mine for b in order if a != b and not pairs[(klass[a], klass[b])])
    assert shown == ["bad"] * blocked and blocked > 0 and rows.count() == 2

    page.locator("#filter-reset").click()
    assert visible.count() == n * n and rows.count() == n

    vpcs = sorted({c["vpc"] for c in data["classes"]})  # the VPC filter: the matrix JSON names each class's VPC
    assert len(vpcs) >= 2 and all(vpcs)
    in_vpc = [e for e in order if next(c for c in data["classes"] if c["class"] == klass[e])["vpc"] == vpcs[0]]
    page.locator("#filter-from").fill(vpcs[0])
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.eni)")) == sorted(in_vpc)
    page.locator("#filter-reset").click()


def test_matrix_expands_a_class_to_its_enis(tmp_path: Path, show) -> None:
    """stateful-statelessness: b and c share a class (same subnet and group), so 3 ENIs in 2 classes give 3×3 cells;
    b → c and c → b take the class's own pair (blocked by sg-b ingress), the diagonal is 'same ENI'."""
    lab = Path(__file__).resolve().parents[2] / "src" / "vpclab" / "lab" / "builtin" / "stateful-statelessness.yaml"
    data, html = run(tmp_path, "reach", str(lab), "--matrix", "--proto", "tcp", "--port", "22")
    assert data["enis"] == 3 and len(data["classes"]) == 2
    page = show(html, "matrix-classes").page
    assert page.locator("#matrix td.cell").count() == 9
    assert page.locator("#matrix td.state-self").count() == 3
    b_to_c = page.locator("#matrix tbody tr[data-eni=b] td.cell").nth(2)
    assert b_to_c.get_attribute("data-state") == "bad"
    assert "forward sg sg-b ingress: ENI_SG_RULES_MISMATCH" in (b_to_c.get_attribute("title") or "")
    assert (b_to_c.text_content() or "") == "✗SG"


# ---- audit --------------------------------------------------------------------------------------------------


def rules_in(value: Any) -> list[dict[str, Any]]:
    """Every rule object (owner, rule, source) anywhere in a finding's evidence."""
    if isinstance(value, dict):
        found = [value] if "owner" in value and "rule" in value else []
        return found + [r for v in value.values() for r in rules_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in rules_in(v)]
    return []


@pytest.mark.parametrize("where, name", [("pybatfish-hybrid-cloud", "audit"), ("nacl-stateless", "audit-lab")])
def test_audit_shows_every_finding_grouped_by_severity(tmp_path: Path, show, where: str, name: str) -> None:
    """A real snapshot (17 findings of all four severities) and a built-in lab (a NACL that drops replies, rules
    nested in lists): every finding appears inside its severity's section (highest first) and its resource's group,
    with its check's title, message, evidence (every rule it cites), source and fix."""
    target = snapshot(where) if name == "audit" else str(
        Path(__file__).resolve().parents[2] / "src" / "vpclab" / "lab" / "builtin" / f"{where}.yaml")
    data, html = run(tmp_path, "audit", target, json_flag="--format")
    findings = data["findings"]
    assert len(findings) >= 5
    if name == "audit":
        assert len({f["severity"] for f in findings}) == 4
    else:
        assert "nacl-drops-replies" in {f["check"] for f in findings}
    page = show(html, name).page
    articles = page.locator("article.finding")
    assert articles.count() == len(findings)
    present = [s for s in ("high", "medium", "low", "info") if any(f["severity"] == s for f in findings)]
    assert page.locator("section.severity").evaluate_all("ss => ss.map(s => s.dataset.severity)") == present
    titles = {c["id"]: c["title"] for c in data["checks_run"]}
    for i, f in enumerate(findings, start=1):
        item = page.locator(f"#finding-{i}")
        assert item.get_attribute("data-check") == f["check"]
        assert item.get_attribute("data-severity") == f["severity"]
        assert item.locator("xpath=ancestor::section[@data-severity]").get_attribute("data-severity") == f["severity"]
        assert item.locator("xpath=ancestor::section[@data-resource]").get_attribute("data-resource") == f["resource"]
        text = item.text_content() or ""
        assert titles[f["check"]] in text and f["message"] in text and f["fix"]["text"] in text
        assert f["source"] in text and f["fix"]["cli"] in text
        evidence = item.locator("details.evidence").text_content() or ""
        assert all(key in evidence for key in f["evidence"])
        assert all(r["rule"] in evidence and r.get("source", "") in evidence for r in rules_in(f["evidence"]))
    for sev, count in data["summary"].items():
        assert page.locator(f"#severity-{sev} article.finding").count() == count
        resources = page.locator(f"#severity-{sev} section.resource").evaluate_all(
            "rs => rs.map(r => r.dataset.resource)")
        assert resources == sorted({f["resource"] for f in findings if f["severity"] == sev})
    assert page.locator("table.checks tbody tr").count() == len(data["checks_run"])
    assert page.locator("table.by-resource tbody tr").count() == len({f["resource"] for f in findings})


# ---- purity -------------------------------------------------------------------------------------------------


def test_the_three_renderers_are_pure(tmp_path: Path) -> None:
    """The same JSON gives byte-identical HTML: twice, and after a json.dumps/json.loads round trip."""
    runs = {"reach": run(tmp_path, "reach", snapshot("test-subnet"), "--from", "10.10.1.228", "--to",
                         "10.10.1.44", "--proto", "tcp", "--port", "80"),
            "matrix": run(tmp_path, "reach", snapshot("test-transit-gateway"), "--matrix", "--proto", "tcp",
                          "--port", "22"),
            "audit": run(tmp_path, "audit", snapshot("test-nat-gateway"), json_flag="--format")}
    for kind, (data, written) in runs.items():
        once = render(kind, data)
        assert once == render(kind, data) == render(kind, json.loads(json.dumps(data))) == written
