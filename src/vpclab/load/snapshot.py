"""A snapshot (DESIGN.md, "Snapshots"): an AWS describe-JSON folder, a Terraform JSON document or a lab file,
read by its front door and assembled into the model, with every warning and the AWS defaults vpclab added.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpclab.errors import InputError, Origin, Problem
from vpclab.model import Direction, Network
from vpclab.model.routing import TargetKind


@dataclass
class Snapshot:
    """What vpclab read from a configuration: its kind, the model, the warnings, the defaults it added."""

    path: str
    kind: str  # aws-describe | terraform-plan | terraform-state | lab
    network: Network
    warnings: list[Problem] = field(default_factory=list)
    added_defaults: Counter[str] = field(default_factory=Counter)


def kind_of(path: Path) -> str:
    """Which front door reads `path`: a folder is AWS describe JSON, a YAML file a lab, a JSON file Terraform."""
    if path.is_dir():
        return "aws-describe"
    if path.suffix.lower() in (".yaml", ".yml"):
        return "lab"
    if path.is_file():
        return "terraform"
    raise InputError([Problem("", "no such file or folder: expected an AWS describe-JSON folder, a Terraform JSON "
                              "document (terraform show -json) or a lab file", Origin(str(path)))])


def load_snapshot(path: str | Path) -> Snapshot:
    """Read and assemble a snapshot; raises InputError (every problem located) when it cannot be used."""
    from vpclab.load.assemble import assemble_document

    source = Path(path)
    kind = kind_of(source)
    if kind == "lab":
        from vpclab.lab.catalog import load

        lab = load(str(source))
        return Snapshot(str(source), "lab", lab.network, list(lab.warnings))
    if kind == "aws-describe":
        from vpclab.load.aws import read_aws_folder

        document: Any = read_aws_folder(source)
    else:
        from vpclab.load.terraform import read_terraform

        document = read_terraform(source)
        kind = document.kind
    try:
        network, assembler = assemble_document(document.data, document.locate)
    except InputError as error:  # what the importer skipped (a file that is not JSON…) is often the cause: say it
        raise InputError(list(document.warnings) + error.problems) from None
    return Snapshot(str(source), kind, network, list(document.warnings) + assembler.warnings, assembler.added)


def counts(network: Network) -> dict[str, int]:
    """What the model holds, in DESIGN.md's `import --json` terms (SG rules one per peer, as AWS lists them)."""
    rules = {d: sum(len(g.rules(d)) for g in network.security_groups.values()) for d in Direction}
    return {
        "vpcs": len(network.vpcs), "subnets": len(network.subnets), "route_tables": len(network.route_tables),
        "routes": sum(len(t.routes) for t in network.route_tables.values()),
        "security_groups": len(network.security_groups), "sg_rules_ingress": rules[Direction.INGRESS],
        "sg_rules_egress": rules[Direction.EGRESS], "nacls": len(network.nacls),
        "nacl_entries": sum(len(a.ingress) + len(a.egress) for a in network.nacls.values()),
        "instances": len({h.instance for h in network.vpc_hosts() if h.instance}),
        "enis": len(network.vpc_hosts()), "prefix_lists": len(network.prefix_lists),
        "internet_gateways": sum(1 for g in network.gateways.values() if g.kind is TargetKind.INTERNET_GATEWAY),
        "nat_gateways": len(network.nat_gateways), "peerings": len(network.peerings),
        "transit_gateways": len(network.transit_gateways),
    }


def by_vpc(network: Network) -> dict[str, dict[str, Any]]:
    """Per VPC: its CIDRs and how many subnets, ENIs and route tables it holds."""
    result: dict[str, dict[str, Any]] = {}
    for vid, vpc in network.vpcs.items():
        subnets = [s for s in network.subnets.values() if s.vpc == vid]
        names = {s.name for s in subnets}
        result[vid] = {"cidrs": [str(c) for c in vpc.cidrs], "name": vpc.label, "account": vpc.account,
                       "region": vpc.region, "subnets": len(subnets),
                       "enis": sum(1 for h in network.vpc_hosts() if h.subnet in names),
                       "route_tables": sum(1 for t in network.route_tables.values() if t.vpc == vid)}
    return result


def import_report(snapshot: Snapshot) -> dict[str, Any]:
    """The `vpclab import --json` object of DESIGN.md."""
    return {"snapshot": snapshot.path, "kind": snapshot.kind, "counts": counts(snapshot.network),
            "by_vpc": by_vpc(snapshot.network), "added_defaults": dict(snapshot.added_defaults),
            "warnings": [{"where": str(w.origin) if w.origin else "", "message": w.message if not w.field else
                          f"{w.field}: {w.message}"} for w in snapshot.warnings]}
