"""HTML reports are escaped: text from a lab file or a snapshot can never become markup or script (issue 12).

A snapshot's names and descriptions are written by others; a report that pasted them raw would run their script in
the reader's browser. The environment escapes every template (one switch for all kinds); a lab report is rendered
here with hostile text planted in its data to prove it.
"""

from __future__ import annotations

import copy

from vpclab.lab.catalog import load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.report.html import render

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_a_hostile_step_description_is_escaped_in_the_lab_report() -> None:
    data = run_lab(load("beating-security-groups"), SimBackend(), conntrack=True).to_dict()
    planted = copy.deepcopy(data)
    planted["steps"][0]["description"] = HOSTILE
    planted["title"] = HOSTILE
    html = render("lab-run", planted)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert render("lab-run", data) == render("lab-run", copy.deepcopy(data))  # pure: same data, same bytes
