"""What `lab run` prints (issue 9): `--verbose` columns never run together; `--json` carries the load warnings."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from rich.console import Console
from test_lab_quotas import lab as quota_lab

from vpclab.lab.catalog import builtin_names, load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.report import timeline


def rendered(name: str) -> tuple[str, list[dict]]:
    result = run_lab(load(name), SimBackend(), conntrack=True)
    console = Console(width=400, record=True, color_system=None)
    console.print(timeline.render(result, verbose=True), soft_wrap=True)
    return console.export_text(), [t for s in result.steps for p in s.packets for t in p["trace"]]


@pytest.mark.parametrize("name", builtin_names())
def test_verbose_trace_lines_keep_two_spaces_between_place_decision_and_reason(name):
    text, trace = rendered(name)
    lines = [line for line in text.splitlines() if line.startswith(" " * 19) and line.strip()]
    assert len(lines) == len(trace)
    starts = set()
    for line, step in zip(lines, trace):
        place = " ".join(x for x in (step["component"], step["id"], step.get("host", ""), step.get("direction", ""))
                         if x)
        match = re.match(rf" {{19}}{re.escape(place)}( {{2,}}){re.escape(step['decision'])}( {{2,}})\S", line)
        assert match, (line, place)
        starts.add(line.index(step["decision"], 19 + len(place)))
    assert len(starts) == 1  # one decision column for the whole run


def test_the_longest_place_of_a_run_no_longer_runs_into_its_decision():
    """The example of issue 9: `conntrack eni-worker worker egressallow`."""
    text, _ = rendered("tighten-egress")
    assert "egressallow" not in text and "ingressallow" not in text
    assert re.search(r"conntrack eni-worker worker egress {2,}allow {2,}tracked connection", text)


def test_run_json_carries_the_load_warnings_and_still_exits_0(tmp_path):
    """AWS quotas exceeded (aws-semantics.md §1.6) are warnings: on stderr, and in --json's `warnings`."""
    text = quota_lab(ingress_v4=61)
    path = tmp_path / "quota.yaml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "run", str(path), "--json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["warnings"]) == 1
    warning = data["warnings"][0]
    line = text[:text.index("  big:")].count("\n") + 1
    assert warning["where"] == f"{path}:{line}" and "60" in warning["message"] and "§1.6" in warning["message"]
    assert warning["message"] in result.stderr  # the same warning, located, on stderr


def test_a_lab_without_warnings_has_an_empty_list():
    result = run_lab(load("beating-security-groups"), SimBackend())
    assert result.to_dict()["warnings"] == []
