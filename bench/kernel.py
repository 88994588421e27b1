"""Kernel backend timings: bring-up and tear-down of a 4-host and a 20-host lab, and a full built-in lab on
each backend. Needs root and the kernel tools; prints a note and returns nothing otherwise."""

from __future__ import annotations

import statistics
import time
from ipaddress import ip_address, ip_network

from vpclab.errors import BackendUnavailable
from vpclab.model import Host, Network, SecurityGroup, SgRule, Subnet, Vpc
from vpclab.model.rules import Direction


def lab_network(hosts: int) -> Network:
    """`hosts` hosts over two subnets, each with a group admitting SSH and ICMP from the VPC."""
    group = SecurityGroup.new("sg-app").authorize(Direction.INGRESS, SgRule.make("tcp", 22, cidr="198.18.0.0/16"))
    group = group.authorize(Direction.INGRESS, SgRule.make("icmp", cidr="198.18.0.0/16"))
    subnets = [Subnet("a", ip_network("198.18.1.0/24")), Subnet("b", ip_network("198.18.2.0/24"))]
    members = [Host(f"h{i}", ip_address(f"198.18.{1 + i % 2}.{10 + i}"), "ab"[i % 2], ("sg-app",))
               for i in range(hosts)]
    return Network.build(Vpc(ip_network("198.18.0.0/16")), subnets, members, [group])


def bring_up_and_down(hosts: int, repeats: int) -> dict[str, float] | None:
    from vpclab.kernel.backend import KernelBackend

    network = lab_network(hosts)
    ups, downs = [], []
    for _ in range(repeats):
        backend = KernelBackend()
        start = time.perf_counter()
        try:
            backend.start(network)
        except BackendUnavailable as error:
            print(f"kernel benchmarks skipped: {error}")
            return None
        ups.append(time.perf_counter() - start)
        start = time.perf_counter()
        backend.stop()
        downs.append(time.perf_counter() - start)
    return {"hosts": hosts, "up_median_s": statistics.median(ups), "up_max_s": max(ups),
            "down_median_s": statistics.median(downs), "down_max_s": max(downs), "repeats": repeats}


def full_lab(name: str) -> dict[str, float] | None:
    from vpclab.kernel.backend import KernelBackend
    from vpclab.lab.catalog import load
    from vpclab.lab.runner import run_lab
    from vpclab.lab.sim_backend import SimBackend

    lab = load(name)
    start = time.perf_counter()
    sim = run_lab(lab, SimBackend())
    sim_s = time.perf_counter() - start
    start = time.perf_counter()
    try:
        kernel = run_lab(lab, KernelBackend())
    except BackendUnavailable as error:
        print(f"kernel benchmarks skipped: {error}")
        return None
    kernel_s = time.perf_counter() - start
    return {"lab": name, "sim_s": sim_s, "kernel_s": kernel_s, "waits_s": lab.total_wait,
            "sim_ok": sim.ok, "kernel_ok": kernel.ok}


def run(quick: bool = False) -> dict[str, object]:
    repeats = 2 if quick else 5
    results: dict[str, object] = {"bring_up": [], "labs": []}
    for hosts in (4, 20):
        figures = bring_up_and_down(hosts, repeats)
        if figures is None:
            return results
        results["bring_up"].append(figures)  # type: ignore[union-attr]
        print(f"kernel lab of {hosts:>2} hosts: up {figures['up_median_s']:.3f} s (max {figures['up_max_s']:.3f}), "
              f"down {figures['down_median_s']:.3f} s (max {figures['down_max_s']:.3f}) over {repeats} runs")
    for name in ("beating-security-groups", "tighten-egress"):
        figures = full_lab(name)
        if figures is None:
            return results
        results["labs"].append(figures)  # type: ignore[union-attr]
        print(f"lab {name}: simulator {figures['sim_s']:.3f} s, kernel {figures['kernel_s']:.3f} s")
    return results


if __name__ == "__main__":
    run()
