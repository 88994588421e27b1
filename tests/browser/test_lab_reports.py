"""The lab-run and lab-diff HTML reports (issue 12), opened in headless Chromium from real runs: one arrow per
packet, every drop marked with its reason, a bar per conntrack entry, expectations against outcomes; and the
simulator and the kernel side by side (the kernel run is real: root and the kernel tools, as in tests/kernel/)."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vpclab.lab.catalog import load
from vpclab.lab.diff import compare, unexplained
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.report.html import render
from vpclab.report.html.labrun import address_of

pytestmark = pytest.mark.browser

LABS = {"conntrack-timeouts": "lab-run", "dual-stack": "lab-run-dual-stack",
        "stateful-statelessness": "lab-run-stateful-statelessness"}
"""Three built-in labs; conntrack-timeouts (long waits, expiries) is the one in the README."""


def sim_run(lab: Any) -> dict[str, Any]:
    return run_lab(lab, SimBackend(), conntrack=True).to_dict()


def packets(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for s in run["steps"] for p in s["packets"]]


def entries(run: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Every distinct conntrack entry the run recorded (an entry is listed again after each step it lives)."""
    return {(host, e["flow"], e.get("direction", ""), e.get("created")) for s in run["steps"]
            for host, table in (s.get("conntrack") or {}).items() for e in table}


def host_of(run: dict[str, Any], endpoint: str) -> str:
    owners = {a: h["name"] for h in run["hosts"] for a in h["addresses"]}
    return owners.get(address_of(endpoint), address_of(endpoint))


def assert_pure(kind: str, data: dict[str, Any]) -> str:
    html = render(kind, data)
    assert render(kind, data) == html
    assert render(kind, json.loads(json.dumps(data))) == html
    return html


def assert_run_drawn(page: Any, run: dict[str, Any], scope: str = "") -> None:
    """The timeline of one run: arrows, drop marks with reasons, lanes, bars; and its tables."""
    sent = packets(run)
    root = page.locator(scope) if scope else page
    assert root.locator("svg g.packet").count() == len(sent)
    assert root.locator("svg .arrow").count() == len(sent)  # one arrow (line or loop) per packet
    dropped = [p for p in sent if p["verdict"] != "allowed"]
    assert root.locator("svg g.drop-mark").count() == len(dropped)
    for n, packet in enumerate(sent, 1):
        g = root.locator(f'svg g.packet[data-packet="P{n}"]')
        assert g.get_attribute("data-verdict") == packet["verdict"]
        title = g.locator("title").text_content()
        assert packet["src"] in title and packet["dst"] in title and packet["summary"] in title
    for n, packet in enumerate(dropped, 1):
        mark = root.locator(f'svg g.drop-mark[data-drop="D{n}"]')
        assert mark.get_attribute("data-reason") == packet["reason"]
        assert mark.locator("text").text_content() == "✗"
        row = root.locator(f'table.drops tr[data-drop="D{n}"]')
        assert packet["reason"] in row.text_content()  # the reason in words, beside the mark's id
        deny = next((t for t in packet["trace"] if t["decision"] == "deny"), {})
        if deny.get("source"):
            assert deny["source"] in row.text_content()
    hosts = [host_of(run, end) for p in sent for end in (p["src"], p["dst"])]
    tracked = [h for s in run["steps"] for h, table in (s.get("conntrack") or {}).items() if table]
    lanes = [root.locator("svg g.lane").nth(i).get_attribute("data-host")
             for i in range(root.locator("svg g.lane").count())]
    assert sorted(lanes) == sorted(set(hosts) | set(tracked))
    expected_entries = entries(run)
    assert root.locator("svg g.bar").count() == len(expected_entries) == root.locator("table.entries tbody tr").count()
    assert sorted(root.locator("svg g.bar").nth(i).get_attribute("data-host") for i in range(len(expected_entries))) \
        == sorted(e[0] for e in expected_entries)
    rows = root.locator("table.steps tbody tr")
    assert rows.count() == len(run["steps"])
    for i, step in enumerate(run["steps"]):
        row = rows.nth(i)
        text = row.text_content()
        assert step["description"] in text and step["outcome"] in text
        if step["expect"] is None:
            assert "nothing expected" in text
        else:
            assert ("✓ met" in text) == step["ok"] and ("✗ not met" in text) == (not step["ok"])


def bar_end(page: Any, flow: str, host: str) -> float:
    rect = page.locator(f'svg g.bar[data-host="{host}"]').filter(has_text=flow).first.locator("rect")
    return float(rect.get_attribute("x")) + float(rect.get_attribute("width"))


def arrow_x(page: Any, n: int) -> float:
    return float(page.locator(f'svg g.packet[data-packet="P{n}"] .arrow').get_attribute("x1"))


@pytest.mark.parametrize("name", sorted(LABS))
def test_lab_run_report_draws_every_packet_drop_and_conntrack_entry(name, show):
    run = sim_run(load(name))
    assert packets(run) and entries(run)  # what the report must draw is there
    html = assert_pure("lab-run", run)
    page = show(html, LABS[name]).page
    assert_run_drawn(page, run)
    headings = [page.locator("h2").nth(i).text_content() for i in range(page.locator("h2").count())]
    assert headings == ["Timeline", "Steps: expected and observed", "Dropped packets", "Connection tracking", "Packets"]
    assert page.locator("table th[scope]").count() > 0 and page.locator("table caption").count() == 4
    assert page.locator("svg[role=img] title").first.text_content().startswith(f"Timeline of {name}")
    xs = [arrow_x(page, n) for n in range(1, len(packets(run)) + 1)]
    assert all(b - a >= 20 for a, b in zip(xs, xs[1:]))  # long waits squash nothing: packets stay apart
    if name == "conntrack-timeouts":
        assert_expiry_seen(page, run)
    button = page.locator("button.zoom")
    button.click()
    assert "actual" in page.locator("figure.timeline").get_attribute("class")
    assert button.text_content() == "Fit to the page width"


def assert_expiry_seen(page: Any, run: dict[str, Any]) -> None:
    """conntrack-timeouts: step 7's late answer comes after the 30 s UDP entry of step 5 ended; step 26's ESP
    reply is still inside the 600 s entry of step 1, step 28's AH packet after the AH entry of step 3."""
    numbers: dict[int, int] = {}
    for n, (step, packet) in enumerate(((s["index"], p) for s in run["steps"] for p in s["packets"]), 1):
        numbers.setdefault(step, n)
    late, esp, ah = numbers[7], numbers[26], numbers[28]
    assert bar_end(page, "udp 198.18.1.10:40000 → 198.18.2.53:53", "client") < arrow_x(page, late)
    assert bar_end(page, "esp 198.18.1.10 → 198.18.2.50", "client") > arrow_x(page, esp)
    assert bar_end(page, "ah 198.18.1.10 → 198.18.2.50", "client") < arrow_x(page, ah)
    for n in (late, ah):
        assert page.locator(f'svg g.packet[data-packet="P{n}"] g.drop-mark').count() == 1
    udp = page.locator('table.entries tr', has_text="udp 198.18.1.10:40000 → 198.18.2.53:53").first.text_content()
    assert "expired at 30.004 s" in udp
    waits = page.locator('svg g.step', has_text="wait 349 s")
    assert waits.count() == 1  # the 349 s wait is a labelled break of the axis


def test_an_unmet_expectation_is_marked_in_words(show, tmp_path: Path):
    text = resources.files("vpclab.lab.builtin").joinpath("beating-security-groups.yaml").read_text(encoding="utf-8")
    path = tmp_path / "wrong.yaml"
    path.write_text(text.replace("as: c2, expect: blocked", "as: c2, expect: established"), encoding="utf-8")
    run = sim_run(load(str(path)))
    assert run["ok"] is False
    page = show(render("lab-run", run), "lab-run-failing").page
    assert_run_drawn(page, run)
    row = page.locator('table.steps tr[data-step="8"]')
    assert row.get_attribute("data-ok") == "no" and "✗ not met: expected established, got blocked" in row.text_content()
    assert "✗ FAIL" in page.locator("ul.summary").text_content()
    assert page.locator('svg g.step[data-step="8"] .step-mark').text_content() == "✗"


def test_lab_diff_report_puts_a_real_kernel_run_beside_the_simulator(show):
    """Needs the kernel backend (root, namespaces, nftables, conntrack), like tests/kernel/; in CI it must run."""
    from vpclab.kernel.driver import unavailable_reason

    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the lab-diff report test on the kernel: {reason}")
        pytest.skip(f"the lab-diff report needs a real kernel run: {reason}")
    from vpclab.kernel.backend import KernelBackend

    lab = load("beating-security-groups")
    sim = run_lab(lab, SimBackend(), conntrack=True)
    kernel = run_lab(lab, KernelBackend(), conntrack=True)
    rows = compare(lab, sim, kernel)
    data = {"lab": lab.name, "ok": not unexplained(rows), "steps": [r.to_dict() for r in rows],
            "runs": {"sim": sim.to_dict(), "kernel": kernel.to_dict()}}  # what `vpclab lab diff --json` prints
    html = assert_pure("lab-diff", data)
    page = show(html, "lab-diff").page
    table = page.locator("table#diff tbody tr")
    assert table.count() == len(rows)
    for i, row in enumerate(rows):
        tr = table.nth(i)
        cells = tr.locator("td")
        assert row.description in cells.nth(0).text_content()
        assert cells.nth(2).text_content().startswith(row.sim) and cells.nth(3).text_content().startswith(row.kernel)
        status = "agree" if row.agree else ("listed" if row.listed else "unexplained")
        assert tr.get_attribute("data-status") == status
        assert {"agree": "✓ agree", "listed": "⚠ listed", "unexplained": "✗ unexplained"}[status] in \
            cells.nth(4).text_content()
        if row.expect is not None:
            for cell, outcome in ((cells.nth(2), row.sim), (cells.nth(3), row.kernel)):
                assert ("✓ as expected" in cell.text_content()) == (outcome == row.expect)
    assert page.locator("figure.timeline").count() == 2
    for name, result in (("sim", data["runs"]["sim"]), ("kernel", data["runs"]["kernel"])):
        assert_run_drawn(page, result, f'section[data-backend="{name}"]')
    assert entries(data["runs"]["kernel"])  # the kernel's conntrack -L tables are drawn as bars
    headings = [page.locator("h2").nth(i).text_content() for i in range(page.locator("h2").count())]
    assert headings == ["Step by step: simulator and kernel side by side", "Simulator run", "Kernel run"]
