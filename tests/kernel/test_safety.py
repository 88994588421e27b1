"""Safety of the kernel backend: leftovers of killed runs are swept, Ctrl-C cleans up, runs do not interfere."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vpclab.kernel import driver
from vpclab.kernel.cleanup import RUN_DIR

SLOW_LAB = """\
lab: slow
title: a lab that waits
vpc: {cidr: 198.18.0.0/16}
subnets: {a: {cidr: 198.18.1.0/24}}
security_groups: {sg-a: {ingress: [{proto: tcp, ports: 22, cidr: 198.18.0.0/16}]}}
hosts:
  h1: {subnet: a, ip: 198.18.1.11, security_groups: [sg-a]}
  h2: {subnet: a, ip: 198.18.1.12, security_groups: [sg-a]}
steps:
  - listen: {host: h2, port: 22}
  - connect: {from: h1, to: h2, port: 22, as: c, expect: established}
  - wait: {seconds: 60}
"""


def start_slow_run(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """Start a kernel run in a child process; returns it and its namespace prefix once its network is up."""
    lab = tmp_path / "slow.yaml"
    lab.write_text(SLOW_LAB)
    child = subprocess.Popen([sys.executable, "-m", "vpclab", "lab", "run", str(lab), "--backend", "kernel"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for marker in RUN_DIR.glob("vl*.pid") if RUN_DIR.exists() else []:
            if marker.read_text().strip() == str(child.pid):
                prefix = marker.name[:-4]
                if len([ns for ns in driver.namespaces() if ns.startswith(prefix)]) >= 6:
                    time.sleep(1.0)  # let it reach its wait step
                    return child, prefix
        time.sleep(0.05)
    child.kill()
    raise AssertionError("the kernel run did not come up")


def lab_namespaces(prefix: str) -> list[str]:
    return [ns for ns in driver.namespaces() if ns.startswith(prefix + "-")]


def test_a_run_killed_with_sigkill_leaves_namespaces_that_lab_clean_removes(tmp_path):
    child, prefix = start_slow_run(tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    left = lab_namespaces(prefix)
    assert len(left) == 6  # router, two ENIs, two hosts, the internet gateway's bounce namespace
    time.sleep(0.5)
    assert all(not driver.run(["ip", "netns", "pids", ns], check=False).split() for ns in left), \
        "the traffic agents must die with their run"
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "clean"], capture_output=True, text=True)
    assert result.returncode == 0 and "removed 6 namespace(s)" in result.stdout
    assert lab_namespaces(prefix) == []


def test_the_next_run_sweeps_leftovers_of_a_killed_run(tmp_path):
    child, prefix = start_slow_run(tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert lab_namespaces(prefix)
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "run", "beating-security-groups", "--backend",
                             "kernel"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert lab_namespaces(prefix) == []


def test_ctrl_c_and_sigterm_clean_up(tmp_path):
    for sig in (signal.SIGINT, signal.SIGTERM):
        child, prefix = start_slow_run(tmp_path)
        child.send_signal(sig)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            pytest.fail(f"the run did not end within 60 s of {sig.name}; it wrote:\n{out.decode()}\n{err.decode()}")
        assert lab_namespaces(prefix) == [], sig
        assert not (RUN_DIR / f"{prefix}.pid").exists()


def test_two_labs_with_identical_addresses_run_at_once_without_interference(tmp_path):
    open_lab = tmp_path / "open.yaml"
    open_lab.write_text(SLOW_LAB.replace("seconds: 60", "seconds: 3"))
    closed_lab = tmp_path / "closed.yaml"
    closed_lab.write_text(SLOW_LAB.replace("seconds: 60", "seconds: 3").replace(
        "{ingress: [{proto: tcp, ports: 22, cidr: 198.18.0.0/16}]}", "{ingress: []}").replace(
        "expect: established", "expect: blocked"))
    runs = [subprocess.Popen([sys.executable, "-m", "vpclab", "lab", "run", str(path), "--backend", "kernel"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for path in (open_lab, closed_lab)]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
