"""The tighten and replay HTML reports (issue 12), made by the real CLI (`--html`) on a generated snapshot and its
flow logs (tests/flowsynth.py), opened offline in Chromium and checked on the DOM against the JSON the same command
prints: every group, NACL and warning has its section, the diff's rows are the JSON's with their evidence, and a
narrower proposal's broken rows, fidelity findings and tracked survivors are all there and marked."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the flow-log generator

import flowsynth  # noqa: E402
from shareddata import needs_shared, shared  # noqa: E402
from vpclab.cli import app  # noqa: E402
from vpclab.report.html import render  # noqa: E402
from vpclab.report.html.filters import number, utc  # noqa: E402

pytestmark = pytest.mark.browser

STRANGER = "eni-0000000000000f00d"
"""An ENI the logs show and the snapshot lacks (its records are counted, not used)."""


def run(*args: str, html: Path, json_flag: list[str]) -> tuple[dict[str, Any], str, int]:
    """The command's JSON and the HTML its --html wrote, from one run."""
    result = CliRunner().invoke(app, [*args, *json_flag, "--html", str(html)])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout), html.read_text(encoding="utf-8"), result.exit_code


def lab(tmp_path: Path, seed: int) -> flowsynth.Synth:
    """The generated snapshot and logs, with sg-db's rule exactly what app → db needs (a rule kept), an ICMP
    exchange of unknown initiator and records of an ENI the snapshot lacks."""
    made = flowsynth.write(tmp_path, seed)
    made.snapshot.write_text(made.snapshot.read_text().replace("{proto: tcp, ports: 5432, cidr: 10.0.0.0/16}",
                                                               "{proto: tcp, ports: 5432, sg: sg-app}"))
    day = next(made.logs.rglob("*.log.gz")).parent
    with gzip.open(day / "extra.log.gz", "wt") as out:
        out.write(" ".join(flowsynth.FIELDS) + "\n")
        t0 = flowsynth.T0
        for src, dst, direction in (("192.0.2.99", "10.0.1.11", "ingress"), ("10.0.1.11", "192.0.2.99", "egress")):
            out.write(f"5 123456789012 eni-0000000000000a001 {src} {dst} 0 0 1 1 84 {t0} {t0 + 5} "
                      f"ACCEPT OK vpc-0synth subnet-public 0 IPv4 {src} {dst} {direction}\n")
        out.write(f"5 123456789012 {STRANGER} 10.0.3.5 10.0.1.11 40000 443 6 3 300 {t0} {t0 + 5} "
                  f"ACCEPT OK vpc-0synth subnet-other 2 IPv4 10.0.3.5 10.0.1.11 egress\n")
    return made


def rel(path: Path) -> str:
    """A path as the user would type it from the working folder (the report shows it as given)."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def tighten(tmp_path: Path, made: flowsynth.Synth, *options: str) -> tuple[dict[str, Any], str]:
    data, html, _ = run("tighten", rel(made.snapshot), "--flows", rel(made.logs), *options,
                        html=tmp_path / "tighten.html", json_flag=["--format", "json"])
    return data, html


def text(page: Any, selector: str) -> str:
    return page.locator(selector).text_content() or ""


# ---- tighten ------------------------------------------------------------------------------------------------


def test_tighten_draws_every_groups_diff_with_its_evidence(tmp_path: Path, show, monkeypatch) -> None:
    """Every group has its section whose remove / add / keep rows are the JSON's, each marked by word and class,
    carrying its flows, bytes and last-seen date and why; the summary's counts, options and time range; every NACL
    with both directions' entries; every warning."""
    monkeypatch.chdir(tmp_path)  # the report names the snapshot as the user typed it
    made = lab(tmp_path, 5)
    data, html = tighten(tmp_path, made)
    assert data["snapshot"] == "snapshot.yaml"
    s = data["summary"]
    assert s["keep"] >= 1 and s["add"] >= 1 and s["remove"] >= 1 and s["initiator_unknown_records"] == 2
    assert set(s["enis_not_in_snapshot"]) == {STRANGER}
    page = show(html, "tighten").page
    assert page.locator("section.group").count() == len(data["groups"]) == s["groups"]
    for g in data["groups"]:
        section = page.locator(f"section.group[data-group='{g['group']}']")
        assert section.count() == 1
        assert g["group"] in (section.locator("h3").text_content() or "")
        for eni in g["enis"]:
            assert eni in (section.locator("dl.facts").text_content() or "")
        for change, word in (("remove", "− remove"), ("add", "+ add"), ("keep", "= keep")):
            rows = section.locator(f"table.diff tr[data-change='{change}']")
            assert rows.count() == len(g[change])
            for i in range(rows.count()):
                row = rows.nth(i)
                assert word in (row.locator("td.change").text_content() or "")  # the word, not only the colour
                assert f"change-{change}" in (row.get_attribute("class") or "")
            sources = sorted(r["source"] for r in g[change] if "source" in r)  # today's rules: where written
            assert sorted(t.strip() for t in rows.locator("td.rule .source").all_text_contents()) == sources
            assert len(sources) == (0 if change == "add" else len(g[change]))
            drawn = sorted((rows.nth(i).get_attribute("data-direction"), rows.nth(i).get_attribute("data-proto"),
                            rows.nth(i).get_attribute("data-ports"), rows.nth(i).get_attribute("data-peer"),
                            int(rows.nth(i).get_attribute("data-flows") or -1),
                            int(rows.nth(i).get_attribute("data-bytes") or -1)) for i in range(rows.count()))
            assert drawn == sorted((r["direction"], r["proto"], r["ports"], r["peer"], r["flows"], r["bytes"])
                                   for r in g[change])
            for r in g[change]:  # the evidence as the reader sees it
                row = section.locator(f"table.diff tr[data-change='{change}'][data-direction='{r['direction']}']"
                                      f"[data-proto='{r['proto']}'][data-ports='{r['ports']}']"
                                      f"[data-peer='{r['peer']}']")
                assert row.count() == 1
                assert (row.locator("td.flows").text_content() or "").strip() == number(r["flows"])
                assert number(r["bytes"]) in (row.locator("td.bytes").text_content() or "")
                assert (row.locator("td.last-seen").text_content() or "").strip() == utc(r["last_seen"])
                assert r.get("why", "") in (row.locator("td.why").text_content() or "")
                assert r["peer"] in (row.locator("td.rule").text_content() or "")
                if r.get("initiator_unknown"):
                    assert "initiator unknown" in (row.locator("td.why").text_content() or "")
    keep = page.locator("section.group[data-group='sg-db'] tr[data-change='keep']")
    assert keep.count() == 1 and "tcp port 5432 from sg-app" in (keep.text_content() or "")
    for key in ("records", "needs", "rules_today", "rules_proposed", "add", "remove", "keep", "nacl_entries"):
        assert (text(page, f"table.counts tr[data-key='{key}'] td") or "").strip() == number(s[key])
    assert utc(s["first_seen"]) in text(page, "#summary") and utc(s["last_seen"]) in text(page, "#summary")
    for key, value in s["options"].items():
        assert text(page, f"table.options tr[data-option='{key}'] td code").strip() == str(value)
    assert page.locator("section.nacl").count() == len(data["nacls"]) >= 1
    for n in data["nacls"]:
        section = page.locator(f"section.nacl[data-nacl='{n['nacl']}']")
        for direction in ("ingress", "egress"):
            entries = section.locator(f"table.nacl-entries[data-direction='{direction}'] tr.entry")
            assert entries.count() == len(n[direction]) > 0
            assert [(int(entries.nth(i).get_attribute("data-rule") or -1), entries.nth(i).get_attribute("data-cidr"),
                     int(entries.nth(i).get_attribute("data-flows") or -1)) for i in range(entries.count())] == \
                [(e["rule"], e["cidr"], e["flows"]) for e in n[direction]]
            assert section.locator(f"table.nacl-entries[data-direction='{direction}'] tr.default-deny").count() == 1
    warnings = text(page, "#warnings")
    assert STRANGER in warnings and "not in the snapshot" in warnings
    # the filter hides a change's rows on screen (print shows them all)
    page.locator("input[data-filter='remove']").uncheck()
    assert page.locator("table.diff tr[data-change='remove']:visible").count() == 0
    assert page.locator("table.diff tr[data-change='add']:visible").count() == s["add"]


def test_tighten_quota_warnings_and_generalisation_are_shown(tmp_path: Path, show) -> None:
    """A quota that cannot be met at the floor is a warning in its group's section and in the warnings list; a
    quota met by generalising names the prefix length."""
    made = lab(tmp_path, 11)
    data, html = tighten(tmp_path, made, "--max-rules", "1", "--min-prefix", "32")
    warned = [(g["group"], w) for g in data["groups"] for w in g["warnings"]]
    assert any("exceed the quota of 1" in w for _, w in warned)
    page = show(html, "tighten-quota").page
    for group, w in warned:
        assert w in text(page, f"section.group[data-group='{group}'] ul.warnings")
        assert w in text(page, "#warnings")
    data, html = tighten(tmp_path, made, "--max-rules", "3", "--min-prefix", "1")
    generalised = {g["group"]: g["generalised_to"] for g in data["groups"] if g["generalised_to"]}
    assert generalised
    page = show(html, "tighten-generalised").page
    for group, prefixes in generalised.items():
        for key, length in prefixes.items():
            assert f"{key} to /{length}" in text(page, f"section.group[data-group='{group}'] dl.facts")


# ---- replay -------------------------------------------------------------------------------------------------


def _without(proposal: dict[str, Any], group: str, direction: str, ports: str) -> dict[str, Any]:
    data = json.loads(json.dumps(proposal))
    for g in data["groups"]:
        if g["group"] == group:
            g[direction] = [r for r in g[direction] if r["ports"] != ports]
    return data


def replay(tmp_path: Path, made: flowsynth.Synth, proposal: dict[str, Any] | None,
           name: str = "replay") -> tuple[dict[str, Any], str, int]:
    extra: list[str] = []
    if proposal is not None:
        path = tmp_path / f"{name}-proposal.json"
        path.write_text(json.dumps(proposal))
        extra = ["--proposal", rel(path)]
    return run("replay", rel(made.snapshot), "--flows", rel(made.logs), *extra, html=tmp_path / f"{name}.html",
               json_flag=["--json"])


def key(row: dict[str, Any]) -> str:
    return "|".join(str(row[k]) for k in ("eni", "direction", "proto", "local", "peer", "action"))


def keys(page: Any, selector: str) -> list[str]:
    rows = page.locator(selector)
    return sorted(rows.nth(i).get_attribute("data-key") or "" for i in range(rows.count()))


def test_replay_of_a_narrower_proposal_marks_every_broken_row(tmp_path: Path, show, monkeypatch) -> None:
    """A proposal without sg-web's SSH rule and sg-app's NTP rule breaks exactly the SSH rows at the web ENIs and the
    NTP rows at the app ENIs (both directions): each is a row marked '✗ breaks' with its flows and the group that
    blocks it; the SSH sessions, tracked today (SSH from one /24), survive until their idle timeout; the snapshot
    without the 443 rule and with 3389 open gives fidelity findings of both kinds; the stranger ENI is listed."""
    monkeypatch.chdir(tmp_path)
    made = lab(tmp_path, 16)
    made.snapshot.write_text(made.snapshot.read_text()
                             .replace("{proto: tcp, ports: 22, cidr: 0.0.0.0/0}",
                                      "{proto: tcp, ports: 22, cidr: 192.0.2.0/24}")
                             .replace("{proto: tcp, ports: 443, cidr: 0.0.0.0/0}",
                                      "{proto: tcp, ports: 3389, cidr: 0.0.0.0/0}"))
    proposal, _ = tighten(tmp_path, made)
    narrower = _without(_without(proposal, "sg-web", "ingress", "22"), "sg-app", "egress", "123")
    data, html, status = replay(tmp_path, made, narrower)
    assert status == 1 and data["ok"] is False
    expected = sorted([(e, d, "22") for e in flowsynth.WEB for d in ("ingress", "egress")]
                      + [(e, d, "ephemeral") for e in flowsynth.APP for d in ("ingress", "egress")])
    assert sorted((j["row"]["eni"], j["row"]["direction"], j["row"]["local"].rsplit(":", 1)[1])
                  for j in data["broken"]) == expected
    assert {f["kind"] for f in data["fidelity"]} == {"log-reject-model-allows", "log-accept-model-blocks"}
    assert len(data["tracked_survivors"]) == 2 and all(s["tracked"] for s in data["tracked_survivors"])
    page = show(html, "replay").page
    verdict = page.locator("p.verdict")
    assert verdict.get_attribute("data-ok") == "false"
    said = verdict.text_content() or ""
    assert f"breaks {len(data['broken'])} rows" in said and said.startswith("✗")
    broken = page.locator("table.broken tr.broken")
    assert broken.count() == len(data["broken"])
    assert keys(page, "table.broken tr.broken") == sorted(key(j["row"]) for j in data["broken"])
    for j in data["broken"]:
        row = page.locator(f"table.broken tr.broken[data-key='{key(j['row'])}']").first
        assert (row.locator("td.mark").text_content() or "").strip() == "✗ breaks"
        assert "bad-bg" in (row.get_attribute("class") or "")
        assert (row.locator("td.traffic .connections").text_content() or "") == number(j["row"]["connections"])
        assert (row.locator("td.traffic .bytes").text_content() or "") == number(j["row"]["bytes"])
        assert j["row"]["eni"] in (row.locator("td.flow").text_content() or "")
        assert "✓ allowed" in (row.locator("td.today").text_content() or "")
        blocked_by = row.locator("td.blocked-by")
        assert "✗ blocked" in (blocked_by.text_content() or "")
        gates = [(g["component"], g["id"], g["rule"]) for v in j["proposal"] for g in v["blockers"]]
        assert gates and all(c == "sg" for c, _, _ in gates)
        drawn = blocked_by.locator("li.gate")
        assert drawn.count() == len(gates)
        for component, gate_id, rule in gates:
            gate = blocked_by.locator(f"li.gate[data-component='{component}'][data-id='{gate_id}']").first
            assert rule in (gate.text_content() or "")
    for kind in ("log-reject-model-allows", "log-accept-model-blocks"):
        mine = [f for f in data["fidelity"] if f["kind"] == kind]
        assert keys(page, f"section.kind[data-kind='{kind}'] tr.finding") == sorted(key(f["row"]) for f in mine)
        for f in mine:
            row = page.locator(f"tr.finding[data-key='{key(f['row'])}']").first
            assert f["row"]["action"] in (row.locator("td.action").text_content() or "")
            word = "✓ allowed" if all(v["allowed"] for v in f["today"]) else "✗ blocked"
            assert word in (row.locator("td.model").text_content() or "")
    assert keys(page, "table.survivors tr.survivor") == sorted(key(s["row"]) for s in data["tracked_survivors"])
    for s in data["tracked_survivors"]:
        row = page.locator(f"table.survivors tr.survivor[data-key='{key(s['row'])}']").first
        assert row.get_attribute("data-tracked") == "true"
        assert "tracked: survives" in (row.locator("td.mark").text_content() or "")
        assert (row.locator("td.until").text_content() or "").strip() == utc(s["survives_until"])
        assert (row.locator("td.timeout").text_content() or "").strip() == f"{number(s['tcp_established_timeout'])} s"
        assert (row.locator("td.duration").text_content() or "").strip() == f"{number(s['duration_s'])} s"
        assert s["meaning"] in text(page, f"table.survivors tr.survivor-meaning[data-key='{key(s['row'])}']")
        lane = page.locator(f"figure.survival g.lane[data-key='{key(s['row'])}']")
        assert lane.count() == 1 and f"until {utc(s['survives_until'])}" in (lane.text_content() or "")
        seen = float(lane.locator("rect.seen").get_attribute("width") or 0)
        idle = float(lane.locator("rect.idle").get_attribute("width") or 0)
        assert idle > 100 * seen > 0  # 432000 s idle against the session's ~25 minutes: drawn to scale
    assert data["enis_not_in_snapshot"] == {STRANGER: 1}
    assert (page.locator(f"table.missing tr[data-eni='{STRANGER}'] td").text_content() or "") == "1"
    for count_key, value in data["counts"].items():
        assert (page.locator(f"table.counts tr[data-key='{count_key}'] td").text_content() or "") == number(value)


def test_replay_without_breaks_and_with_untracked_survivors(tmp_path: Path, show) -> None:
    """tighten's own proposal breaks nothing (said in words, no broken row); no proposal says so; revoking SSH that
    is untracked today (0.0.0.0/0 in, allow-all out) lists the sessions as cut at once, with no 'until'."""
    made = lab(tmp_path, 10)
    proposal, _ = tighten(tmp_path, made)
    data, html, status = replay(tmp_path, made, proposal, "own")
    assert status == 0 and data["ok"] is True and data["broken"] == []
    page = show(html, "replay-own").page
    assert page.locator("p.verdict").get_attribute("data-ok") == "true"
    assert "✓" in text(page, "p.verdict") and "blocks nothing" in text(page, "p.verdict")
    assert page.locator("tr.broken").count() == 0 and "✓ Nothing" in text(page, "#broken")
    data, html, status = replay(tmp_path, made, None, "none")
    assert data["proposal"]["kind"] == "none"
    page = show(html, "replay-none").page
    assert "No proposal" in text(page, "p.verdict") and "No proposal given" in text(page, "#broken")
    data, html, status = replay(tmp_path, made, _without(proposal, "sg-web", "ingress", "22"), "untracked")
    assert status == 1 and data["tracked_survivors"]
    assert all(not s["tracked"] and s["survives_until"] is None for s in data["tracked_survivors"])
    page = show(html, "replay-untracked").page
    assert page.locator("figure.survival").count() == 0  # nothing outlives the revocation
    rows = page.locator("table.survivors tr.survivor")
    assert rows.count() == len(data["tracked_survivors"])
    for i in range(rows.count()):
        assert rows.nth(i).get_attribute("data-tracked") == "false"
        assert "untracked: cut at once" in (rows.nth(i).locator("td.mark").text_content() or "")
        assert "cut at once" in (rows.nth(i).locator("td.until").text_content() or "")


# ---- the shared real logs -----------------------------------------------------------------------------------

PING_LAB = Path(__file__).resolve().parents[1] / "fixtures" / "tighten" / "doc-ping.yaml"
"""The AWS page's ping example as a snapshot: the group admits ICMP in, the NACL admits ICMP in only."""


@needs_shared
def test_flow_reports_on_the_aws_ping_example(tmp_path: Path, show) -> None:
    """The AWS records (aws-docs/doc-ping-sg-nacl.log): the group narrowed to the one peer, the NACL given the
    request entry only (its egress has none, AWS's * rule still drawn) and the unopened reply counted; replaying
    that proposal breaks nothing and no finding is invented."""
    logs = shared("flowlogs", "aws-docs", "doc-ping-sg-nacl.log")
    data, html, _ = run("tighten", str(PING_LAB), "--flows", str(logs), html=tmp_path / "t.html",
                        json_flag=["--format", "json"])
    (group,) = data["groups"]
    page = show(html, "tighten-ping").page
    section = page.locator(f"section.group[data-group='{group['group']}']")
    added = section.locator("tr[data-change='add']")
    assert added.count() == len(group["add"]) == 1
    assert added.get_attribute("data-peer") == "203.0.113.12/32" and "+ add" in (added.text_content() or "")
    assert section.locator("tr[data-change='remove']").count() == len(group["remove"])
    (acl,) = data["nacls"]
    nacl = page.locator(f"section.nacl[data-nacl='{acl['nacl']}']")
    assert nacl.locator("table[data-direction='ingress'] tr.entry").count() == len(acl["ingress"]) == 1
    assert nacl.locator("table[data-direction='egress'] tr.entry").count() == len(acl["egress"]) == 0
    assert nacl.locator("table[data-direction='egress'] tr.default-deny").count() == 1
    assert text(page, "table.not-used tr[data-key='nacl_replies_not_seen_accepted'] td") == "1"
    proposal = tmp_path / "ping.json"
    proposal.write_text(json.dumps(data))
    data, html, status = run("replay", str(PING_LAB), "--flows", str(logs), "--proposal", str(proposal),
                             html=tmp_path / "r.html", json_flag=["--json"])
    assert status == 0 and data["broken"] == [] and data["fidelity"] == [] and data["counts"]["blocked_today"] == 1
    page = show(html, "replay-ping").page
    assert page.locator("p.verdict").get_attribute("data-ok") == "true"
    assert page.locator("tr.broken, tr.finding, tr.survivor").count() == 0
    assert text(page, "table.counts tr[data-key='blocked_today'] td") == "1"
    assert "agree with the model" in text(page, "#fidelity")


@needs_shared
def test_flow_reports_name_the_enis_no_snapshot_holds(tmp_path: Path, show) -> None:
    """cloudfwd's two ENIs are in no shared snapshot: tighten draws no group and says which ENIs were left out;
    replay lists them with their records and judges nothing."""
    logs, snapshot = shared("flowlogs", "cloudfwd"), shared("aws-snapshots", "test-public-subnet")
    data, html, _ = run("tighten", str(snapshot), "--flows", str(logs), html=tmp_path / "t.html",
                        json_flag=["--format", "json"])
    assert data["groups"] == [] and data["summary"]["enis_not_in_snapshot"]
    page = show(html, "tighten-unknown-enis").page
    assert page.locator("section.group").count() == 0 and "No security group was tightened" in text(page, "#groups")
    for eni, records in data["summary"]["enis_not_in_snapshot"].items():
        assert f"{eni} ({number(records)} records)" in text(page, "#warnings")
    data, html, _ = run("replay", str(snapshot), "--flows", str(logs), html=tmp_path / "r.html", json_flag=["--json"])
    assert data["enis_not_in_snapshot"] == {"eni-63c18886": 346, "eni-b1578161": 14}
    page = show(html, "replay-unknown-enis").page
    for eni, records in data["enis_not_in_snapshot"].items():
        assert text(page, f"table.missing tr[data-eni='{eni}'] td") == number(records)
    assert "Nothing judged" in text(page, "p.verdict") and "nothing to compare" in text(page, "#fidelity")


# ---- purity -------------------------------------------------------------------------------------------------


def test_flow_reports_are_pure(tmp_path: Path) -> None:
    """The same JSON gives byte-identical HTML: twice, after a json.dumps/json.loads round trip, and as the CLI
    wrote it."""
    made = lab(tmp_path, 16)
    proposal, written = tighten(tmp_path, made)
    assert render("tighten", proposal) == render("tighten", json.loads(json.dumps(proposal))) == written
    data, written, _ = replay(tmp_path, made, _without(proposal, "sg-web", "ingress", "443"))
    assert data["broken"]
    assert render("replay", data) == render("replay", json.loads(json.dumps(data))) == written
