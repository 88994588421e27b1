"""`vpclab tighten` and `vpclab replay`: read the snapshot and the logs, run the analysis, print; cli.py registers them.

Exit status: 0 done (replay: the proposal breaks nothing); 1 replay's proposal blocks ACCEPTed flows; 2 bad input
(a located message, never a traceback).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from vpclab.errors import InputError

ENGINES = ("duckdb", "spark")


class TightenFormat(str, Enum):
    text = "text"
    json = "json"
    terraform = "terraform"
    cloudformation = "cloudformation"
    cli = "cli"


FLOWS = typer.Option(..., "--flows", help="Flow-log files or folders (S3 layout, .gz or plain, Parquet, CloudWatch "
                                          "JSON); repeat the option or list several paths after it.")
ENGINE = typer.Option("duckdb", "--engine", help="duckdb (embedded, default) or spark (PySpark).")
MORE = typer.Argument(None, hidden=True, help="More flow-log paths (`--flows A B` gives B here).")
HTML = typer.Option(None, "--html", metavar="FILE", help="Also write the answer as one self-contained HTML file "
                    "(rendered from the JSON output; opens offline).")
LOG_FORMAT = typer.Option(None, "--log-format", help="Field list of files without a header line, e.g. "
                                                     "'${version} ${srcaddr} …' (default: the v2 default format).")


_FLOW_SUFFIXES = (".log", ".gz", ".parquet", ".jsonl")


def _positionals(snapshot: Path, more: list[Path] | None) -> tuple[Path, list[Path]]:
    """The snapshot and the extra flow paths among the positional arguments. `--flows A B SNAPSHOT` gives A to
    --flows and B, SNAPSHOT as positionals, B first: the snapshot is then the one that is no flow-log file."""
    given = [snapshot, *(more or [])]
    if len(given) > 1 and snapshot.name.endswith(_FLOW_SUFFIXES):
        others = [p for p in given if not p.name.endswith(_FLOW_SUFFIXES)]
        if len(others) == 1:
            return others[0], [p for p in given if p is not others[0]]
    return snapshot, given[1:]


def _fail(lines: list[str]) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(2)


def _inputs(snapshot: Path, flows: list[Path], engine: str, log_format: str | None,
            aggregate: bool = True) -> tuple[Any, Any]:
    """The snapshot and the opened flow run (directions settled by the snapshot's ENI addresses; `aggregate`: build
    `flow_rows` now, which tighten does not read)."""
    from vpclab.flows.discover import missing
    from vpclab.flows.fields import parse_format
    from vpclab.flows.pipeline import FlowInputError, read_flows
    from vpclab.load.snapshot import load_snapshot

    if engine not in ENGINES:
        raise _fail([f"--engine: {engine!r} is not an engine; expected one of {', '.join(ENGINES)}"])
    try:
        fields = parse_format(log_format) if log_format else None
    except ValueError as error:
        raise _fail([f"--log-format: {error}"]) from None
    if missing(flows):
        raise _fail([f"--flows {p}" for p in missing(flows)])
    try:
        snap = load_snapshot(snapshot)
    except InputError as error:
        raise _fail([str(p) for p in error.problems]) from None
    for warning in snap.warnings:
        typer.echo(str(warning), err=True)
    known = [(h.name, str(a)) for h in snap.network.vpc_hosts() for a in h.private_addresses]
    try:
        run = read_flows(list(flows), engine=engine, fields=fields, known_addresses=known, aggregate=aggregate)
    except FlowInputError as error:
        raise _fail(["no usable flow-log record:", *(f"  {p}" for p in error.problems)]) from None
    except ImportError as error:
        raise _fail([f"--engine {engine}: {error} (install pyspark and a Java runtime)"]) from None
    for problem in run.summary.problems[:5] + run.summary.examples:
        typer.echo(f"warning: {problem}", err=True)
    return snap, run


def tighten_command(
        snapshot: Path = typer.Argument(..., help="An AWS describe-JSON folder, a Terraform JSON document or a lab file."),
        more: list[Path] = MORE,
        flows: list[Path] = FLOWS,
        engine: str = ENGINE,
        output_format: TightenFormat = typer.Option(TightenFormat.text, "--format", help="text, json (DESIGN.md's "
                                                    "contract; replay takes it as --proposal), terraform, "
                                                    "cloudformation or cli."),
        max_rules: int = typer.Option(60, "--max-rules", min=1, help="Rules per group, direction and address family "
                                      "(AWS's default quota, aws-semantics.md §1.6)."),
        min_prefix: int = typer.Option(16, "--min-prefix", min=0, max=32, help="Generalise IPv4 peers no wider than "
                                       "this prefix length."),
        min_prefix_v6: int = typer.Option(48, "--min-prefix-v6", min=0, max=128),
        prefix_list: list[str] = typer.Option([], "--prefix-list", help="A prefix list peers may fall in: "
                                              "PL-ID[:WEIGHT]=CIDR[,CIDR…] (repeatable)."),
        group_min_members: int = typer.Option(2, "--group-min-members", min=1, help="A group reference replaces "
                                              "peers that are all of a group's members, when it has at least this "
                                              "many."),
        unknown: str = typer.Option("propose", "--unknown", help="Connections whose initiator is unknown: propose "
                                    "(a rule each way they were seen) or skip."),
        log_format: str = LOG_FORMAT,
        html: Path = HTML) -> None:
    """Least-privilege rules from what the flow logs show each ENI initiated (egress) and accepted (ingress): the
    diff against today's rules with the evidence, and the NACL entries both directions need."""
    from vpclab.analysis.tighten import TightenOptions, UserPrefixList, tighten
    from vpclab.cli import check_writable, write_html
    from vpclab.report import iac
    from vpclab.report import tighten as report

    check_writable("--html", html)
    if unknown not in ("propose", "skip"):
        raise _fail([f"--unknown: {unknown!r} is not a choice; expected propose or skip"])
    try:
        lists = tuple(UserPrefixList.parse(text) for text in prefix_list)
    except ValueError as error:
        raise _fail([f"--prefix-list {error}"]) from None
    options = TightenOptions(max_rules=max_rules, min_prefix_v4=min_prefix, min_prefix_v6=min_prefix_v6,
                             prefix_lists=lists, group_min_members=group_min_members, unknown=unknown)
    snapshot, more = _positionals(snapshot, more)
    snap, run = _inputs(snapshot, [*flows, *more], engine, log_format, aggregate=False)
    try:
        result = tighten(snap.network, run, options, snapshot=str(snapshot))
    finally:
        run.close()
    if html is not None:
        write_html("tighten", report.to_dict(result), html)
    if output_format is TightenFormat.json:
        typer.echo(json.dumps(report.to_dict(result), indent=1))
    elif output_format is TightenFormat.terraform:
        typer.echo(iac.terraform(result))
    elif output_format is TightenFormat.cloudformation:
        typer.echo(iac.cloudformation(result))
    elif output_format is TightenFormat.cli:
        typer.echo(iac.cli(result), nl=False)
    else:
        Console().print(report.render(result), soft_wrap=False)


def replay_command(
        snapshot: Path = typer.Argument(..., help="An AWS describe-JSON folder, a Terraform JSON document or a lab file."),
        more: list[Path] = MORE,
        flows: list[Path] = FLOWS,
        proposal: Path = typer.Option(None, "--proposal", help="A tighten --format json output, or a second "
                                      "snapshot, to judge the rows against as well."),
        engine: str = ENGINE,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        log_format: str = LOG_FORMAT,
        html: Path = HTML) -> None:
    """Every aggregated flow row judged by the engine, today and under a proposal: what the proposal would block that
    was accepted (exit 1), where the logs disagree with the model, which tracked connections outlive a revocation."""
    from vpclab.analysis.proposal import load_proposal
    from vpclab.analysis.replay import replay
    from vpclab.cli import check_writable, write_html
    from vpclab.report import replay as report

    check_writable("--html", html)
    snapshot, more = _positionals(snapshot, more)
    snap, run = _inputs(snapshot, [*flows, *more], engine, log_format)
    try:
        kind, proposed = "none", None
        if proposal is not None:
            try:
                kind, proposed = load_proposal(snap.network, proposal)
            except InputError as error:
                raise _fail([str(p) for p in error.problems]) from None
        result = replay(snap.network, run, proposed, kind, str(proposal or ""), snapshot=str(snapshot))
    finally:
        run.close()
    if html is not None:
        write_html("replay", report.to_dict(result), html)
    if as_json:
        typer.echo(json.dumps(report.to_dict(result), indent=1))
    else:
        Console().print(report.render(result), soft_wrap=False)
    if result.breaks:
        raise typer.Exit(1)
