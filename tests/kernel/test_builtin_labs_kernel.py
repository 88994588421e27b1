"""Every built-in lab passes on the kernel backend, and `vpclab lab diff` agrees with the simulator on each."""

import json
import subprocess
import sys

import pytest

from vpclab.lab.catalog import builtin_names, load


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_lab_passes_on_the_kernel_and_agrees_with_the_simulator(name, long_builtin_labs):
    lab = load(name)
    if name in long_builtin_labs:  # started in the background at the start of the kernel tests (conftest.py)
        process = long_builtin_labs[name]
        stdout, stderr = process.communicate(timeout=900)
        returncode = process.returncode
    else:
        result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "diff", name, "--json",
                                 "--max-wait", str(lab.total_wait + 1)], capture_output=True, text=True, timeout=900)
        stdout, stderr, returncode = result.stdout, result.stderr, result.returncode
    assert returncode == 0, stdout + stderr
    data = json.loads(stdout)
    assert data["ok"] is True
    for step, lab_step in zip(data["steps"], lab.steps):
        assert step["agree"], step
        if lab_step.expect is not None:
            assert step["kernel"] == lab_step.expect, step  # the kernel meets every expectation too


def test_kernel_run_json_has_the_contract_shape():
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "run", "beating-security-groups", "--backend",
                             "kernel", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["backend"] == "kernel" and data["ok"] is True
    assert [s["outcome"] for s in data["steps"]][:3] == ["listening", "established", "delivered"]


def test_a_lab_waiting_longer_than_max_wait_is_refused_before_anything_runs():
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "run", "conntrack-timeouts", "--backend",
                             "kernel", "--max-wait", "10"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "more than --max-wait 10 s" in result.stderr and "Traceback" not in result.stderr
