"""Random small labs run on the simulator and on the kernel: any disagreement that no listed difference explains
fails, and the lab is saved for replay (`vpclab lab diff FILE`)."""

import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from vpclab.kernel.backend import KernelBackend
from vpclab.lab.diff import compare, unexplained
from vpclab.lab.loader import parse_lab
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend

from randomlab import random_lab

EXAMPLES = int(os.environ.get("VPCLAB_DIFF_EXAMPLES", "200"))
SAVED = Path(os.environ.get("VPCLAB_DIFF_DIR", "/tmp/vpclab-diff"))
counter = {"labs": 0}


@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_lab())
def test_random_labs_agree_on_both_backends(text):
    lab = parse_lab(text, "random.yaml")
    counter["labs"] += 1
    rows = compare(lab, run_lab(lab, SimBackend()), run_lab(lab, KernelBackend()))
    bad = unexplained(rows)
    if bad:
        SAVED.mkdir(parents=True, exist_ok=True)
        path = SAVED / f"disagreement-{counter['labs']}.yaml"
        path.write_text(text)
        detail = "; ".join(f"step {r.index} {r.description}: sim {r.sim}, kernel {r.kernel}" for r in bad)
        raise AssertionError(f"{detail} (lab saved to {path})")
