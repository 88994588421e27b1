"""Benchmark: loading a lab file whose one security group holds 1,000 or 10,000 rules (issue 9, item 6).

`parse_lab(text)` end to end (YAML → lines → checked spec → model → steps), and its YAML part alone
(`yamlsource.parse`), with the loader vpclab picks (libyaml's `CSafeLoader` when PyYAML has it); the pure-Python
loader, the fallback, is timed once at the largest size for comparison. Target: 10,000 rules in under 2 s.
"""

from __future__ import annotations

import yaml

from bench import scenarios
from bench.timing import measure_interleaved
from vpclab.lab import yamlsource
from vpclab.lab.loader import parse_lab

SIZES = (1_000, 10_000)
TARGET_S = 2.0


def lab_text(count: int) -> str:
    """A lab with `count` seeded random ingress rules in one group, one flow mapping per line."""
    rules = "\n".join(f"      - {{proto: {r['proto']}, ports: {r['ports']}, cidr: {r['cidr']}, description: rule {i}}}"
                      for i, r in enumerate(scenarios.random_rules(count).specs, start=1))
    return f"""\
lab: big-group
title: One security group with {count} rules
vpc: {{cidr: {scenarios.VPC_CIDR}}}
subnets:
  app: {{cidr: {scenarios.APP_SUBNET}}}
  db: {{cidr: {scenarios.DB_SUBNET}}}
security_groups:
  sg-client: {{}}
  sg-big:
    ingress:
{rules}
hosts:
  web: {{subnet: app, ip: {scenarios.WEB_IP}, security_groups: [sg-client]}}
  target: {{subnet: db, ip: {scenarios.DB_IP}, security_groups: [sg-big]}}
steps:
  - listen: {{host: target, port: 443}}
  - connect: {{from: web, to: target, port: 443}}
"""


def run(quick: bool = False, sizes: tuple[int, ...] = SIZES) -> dict[str, object]:
    rounds = 3 if quick else 7
    results = []
    for size in sizes:
        text = lab_text(size)
        lab = parse_lab(text, "big.yaml")
        rules = len(lab.network.security_groups["sg-big"].ingress)
        if rules != size:
            raise AssertionError(f"loaded {rules} rules, expected {size}")
        timings = measure_interleaved({"parse_lab": (lambda text=text: parse_lab(text, "big.yaml"), 1),
                                       "yaml": (lambda text=text: yamlsource.parse(text, "big.yaml"), 1)}, rounds)
        row: dict[str, object] = {"rules": size, "lines": text.count("\n"), "bytes": len(text),
                                  "parse_lab": timings["parse_lab"].to_dict(), "yaml": timings["yaml"].to_dict(),
                                  "rest_median_s": round(timings["parse_lab"].median_s - timings["yaml"].median_s, 4)}
        if size == max(sizes) and not quick and yamlsource.Loader is not yaml.SafeLoader:
            row["pure_python_yaml"] = _pure_python(text)
        results.append(row)
    largest = results[-1]["parse_lab"]["seconds"]  # type: ignore[index]
    median = sorted(largest)[len(largest) // 2]
    return {"loader": yamlsource.Loader.__name__, "libyaml": bool(yaml.__with_libyaml__), "target_s": TARGET_S,
            "results": results, "meets_target": max(sizes) >= 10_000 and median < TARGET_S}


def _pure_python(text: str) -> dict[str, object]:
    """One pass of `yamlsource.parse` with the pure-Python loader (what a PyYAML without libyaml costs)."""
    fast = yamlsource.Loader
    yamlsource.Loader = yaml.SafeLoader
    try:
        return measure_interleaved({"yaml": (lambda: yamlsource.parse(text, "big.yaml"), 1)}, 1, warmup=0)[
            "yaml"].to_dict()
    finally:
        yamlsource.Loader = fast
