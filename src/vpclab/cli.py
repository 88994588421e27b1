"""The `vpclab` command (Typer + Rich). Thin: it loads, runs and renders; every verdict comes from the engine.

Exit status: 0 every expectation met; 1 an expectation not met; 2 bad input or usage; 3 backend unavailable.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from vpclab import __version__
from vpclab.errors import BackendError, InputError, Problem

app = typer.Typer(help="vpclab: see, test and tighten AWS VPC packet filtering — security groups (stateful), "
                       "network ACLs (stateless) and connection tracking, every verdict explained.",
                  epilog="Start with: vpclab lab list · vpclab lab run beating-security-groups · "
                         "vpclab lab run tracked-vs-untracked --verbose · sudo vpclab lab diff nacl-stateless · "
                         "your own configuration: vpclab collect -o snap --region R, then vpclab import snap",
                  no_args_is_help=True, add_completion=False, rich_markup_mode="rich")
lab_app = typer.Typer(help="Labs: a small VPC, hosts and steps with expected outcomes.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")

out = Console()
err = Console(stderr=True)


class BackendName(str, Enum):
    sim = "sim"
    kernel = "kernel"


HTML = typer.Option(None, "--html", metavar="FILE", help="Also write the answer as one self-contained HTML file "
                    "(rendered from the --json output; opens offline).")
MAX_WAIT = typer.Option(120.0, "--max-wait", help="Refuse a kernel run whose waits add up to more seconds.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vpclab {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Security groups (stateful), network ACLs (stateless) and connection tracking, explained."""


def _refused(error: InputError) -> typer.Exit:
    """Bad input: every problem on stderr, located; the exit to raise is status 2 (never a traceback)."""
    for problem in error.problems:
        typer.echo(str(problem), err=True)
    return typer.Exit(2)


def _load(name: str):  # type: ignore[no-untyped-def]
    from vpclab.lab.catalog import load

    try:
        lab = load(name)
    except InputError as error:
        raise _refused(error) from None
    for warning in lab.warnings:
        typer.echo(str(warning), err=True)
    return lab


@lab_app.command("list")
def lab_list(as_json: bool = typer.Option(False, "--json", help="Print [{name, title}] as JSON.")) -> None:
    """List the built-in labs."""
    from vpclab.lab.catalog import builtin_labs

    labs = builtin_labs()
    if as_json:
        typer.echo(json.dumps([{"name": lab.name, "title": lab.title} for lab in labs]))
        return
    table = Table("name", "title", title="Built-in labs", title_justify="left")
    for lab in labs:
        table.add_row(lab.name, lab.title)
    out.print(table)


@lab_app.command("run")
def lab_run(lab: str = typer.Argument(..., help="A built-in lab name or a path to a lab file."),
            backend: BackendName = typer.Option(BackendName.sim, "--backend", "-b",
                                                help="sim: the simulator (virtual time); kernel: real Linux "
                                                     "namespaces, nftables and conntrack (root; waits are real)."),
            as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
            verbose: bool = typer.Option(False, "--verbose", "-v",
                                         help="Show every packet with its full trace, and the conntrack tables."),
            html: Path = HTML,
            pcap: Path = typer.Option(None, "--pcap", metavar="FILE", help="Also write the run's packets as pcapng "
                                      "for Wireshark (sim: from the virtual clock, drops marked by a comment; "
                                      "kernel: a real capture in the lab's namespaces)."),
            max_wait: float = MAX_WAIT) -> None:
    """Run a lab and compare every outcome with its expectation (exit 1 if one is not met)."""
    from vpclab.report import timeline

    check_writable("--html", html)
    check_writable("--pcap", pcap)
    loaded = _load(lab)
    result = _run(loaded, backend, verbose or html is not None, max_wait, pcap)  # the report draws conntrack
    if html is not None:
        write_html("lab-run", result.to_dict(), html)
    if not verbose:  # --json prints what it prints without --html
        for step in result.steps:
            step.conntrack = None
    if pcap is not None and backend is BackendName.sim:
        from vpclab.report.pcap import write_run

        try:
            write_run(result, pcap)
        except OSError as error:
            typer.echo(f"--pcap {pcap}: cannot be written ({error.strerror or error})", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"wrote {pcap}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
    else:
        out.print(timeline.render(result, verbose=verbose), soft_wrap=True)
    raise typer.Exit(0 if result.ok else 1)


def check_writable(option: str, path: Path | None) -> None:
    """Refuse, before anything runs, an output file whose folder does not exist or cannot be written (exit 2)."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK) or path.is_dir():
        what = "is a folder" if path.is_dir() else f"its folder {folder} does not exist or is not writable"
        typer.echo(f"{option} {path}: cannot be written ({what})", err=True)
        raise typer.Exit(2)


def write_html(kind: str, data: dict, path: Path) -> None:  # type: ignore[type-arg]
    """Write the HTML report of `data` (what --json prints) to `path`; an unwritable path is exit 2."""
    from jinja2 import TemplateError

    from vpclab.report.html import write

    try:
        write(kind, data, path)
    except OSError as error:
        typer.echo(f"--html {path}: cannot be written ({error.strerror or error})", err=True)
        raise typer.Exit(2) from None
    except TemplateError as error:  # a defect of vpclab's, not of the input: say so plainly
        typer.echo(f"--html {path}: the {kind} report could not be rendered ({error}); please report this", err=True)
        raise typer.Exit(3) from None
    typer.echo(f"wrote {path}", err=True)


def _run(lab, backend: BackendName, verbose: bool, max_wait: float,  # type: ignore[no-untyped-def]
         capture: Path | None = None):
    """Run on one backend; backend problems become exit 3 with what to do, never a traceback."""
    from vpclab.errors import BackendUnavailable
    from vpclab.lab.runner import run_lab
    from vpclab.lab.sim_backend import SimBackend

    if backend is BackendName.sim:
        return run_lab(lab, SimBackend(), conntrack=verbose)
    if lab.total_wait > max_wait:
        typer.echo(f"{lab.name}: its waits add up to {lab.total_wait:g} s, more than --max-wait {max_wait:g} s; "
                   "the kernel backend waits for real: raise --max-wait or use --backend sim", err=True)
        raise typer.Exit(2)
    from vpclab.kernel.backend import KernelBackend

    try:
        return run_lab(lab, KernelBackend(capture=capture) if capture is not None else KernelBackend(),
                       conntrack=verbose)
    except BackendUnavailable as error:
        typer.echo(f"kernel backend unavailable: {error}", err=True)
        raise typer.Exit(3) from None
    except BackendError as error:
        typer.echo(f"kernel backend failed: {error}", err=True)
        raise typer.Exit(3) from None


@lab_app.command("diff")
def lab_diff(lab: str = typer.Argument(..., help="A built-in lab name or a path to a lab file."),
             as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
             html: Path = HTML,
             max_wait: float = MAX_WAIT) -> None:
    """Run a lab on the simulator and on the kernel, and compare outcomes step by step.

    Exit 1 on a disagreement that no listed difference (docs/assumptions.md) explains.
    """
    from vpclab.lab.diff import compare, unexplained

    check_writable("--html", html)
    loaded = _load(lab)
    sim = _run(loaded, BackendName.sim, html is not None, max_wait)
    kernel = _run(loaded, BackendName.kernel, html is not None, max_wait)
    rows = compare(loaded, sim, kernel)
    bad = unexplained(rows)
    data = {"lab": loaded.name, "ok": not bad, "steps": [r.to_dict() for r in rows],
            "runs": {"sim": sim.to_dict(), "kernel": kernel.to_dict()}}
    if html is not None:
        write_html("lab-diff", data, html)
    if as_json:
        typer.echo(json.dumps(data, indent=1))
    else:
        table = Table("#", "step", "expect", "sim", "kernel", "", title=f"{loaded.name}: simulator vs kernel",
                      title_justify="left")
        for row in rows:
            style = "green" if row.agree else ("yellow" if row.listed else "bold red")
            table.add_row(str(row.index), row.description, row.expect or "", row.sim, row.kernel,
                          f"[{style}]{row.status}[/]")
        out.print(table)
        out.print("[bold green]the backends agree[/]" if not bad else
                  f"[bold red]{len(bad)} unexplained disagreement(s)[/]")
    raise typer.Exit(1 if bad else 0)


@lab_app.command("clean")
def lab_clean(everything: bool = typer.Option(False, "--all",
                                              help="Also remove namespaces of runs that are still alive.")) -> None:
    """Remove namespaces that killed kernel runs left behind (vl??????-*)."""
    from vpclab.kernel import cleanup, driver

    try:
        driver.preflight()
    except BackendError as error:
        typer.echo(f"cannot clean: {error}", err=True)
        raise typer.Exit(3) from None
    removed = cleanup.sweep(everything=everything)
    typer.echo(f"removed {len(removed)} namespace(s)" + (f": {', '.join(removed)}" if removed else ""))


@app.command()
def icmp(send_request: str = typer.Option(None, "--send-request", metavar="IP", help="Send one echo request."),
         send_reply: str = typer.Option(None, "--send-reply", metavar="IP",
                                        help="Send one echo reply (with no request: the article's probe)."),
         receive: bool = typer.Option(False, "--receive", help="Wait for ICMP messages and print them."),
         ident: int = typer.Option(None, "--id", help="Identifier to send, or to match when receiving."),
         seq: int = typer.Option(None, "--seq", help="Sequence number to send, or to match when receiving."),
         count: int = typer.Option(1, "--count", help="How many messages to receive."),
         timeout: float = typer.Option(2.0, "--timeout", help="Seconds to wait when receiving.")) -> None:
    """Send or receive single ICMP packets with a raw socket (needs root): the article's tool, done right."""
    from vpclab.kernel.icmp import run_icmp_command

    raise typer.Exit(run_icmp_command(send_request, send_reply, receive, ident, seq, count, timeout))


@app.command("import")
def import_(snapshot: Path = typer.Argument(..., help="An AWS describe-JSON folder (e.g. from vpclab collect), a "
                                                      "Terraform JSON document (terraform show -json) or a lab file."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object (DESIGN.md's import contract)."),
            all_warnings: bool = typer.Option(False, "--warnings", help="List every warning, not only the first ten.")
            ) -> None:
    """Show what vpclab reads from a real configuration: VPCs, subnets, rules, routes, gateways, and its warnings."""
    from vpclab.load.snapshot import import_report, load_snapshot

    try:
        report = import_report(load_snapshot(snapshot))
    except InputError as error:
        raise _refused(error) from None
    if as_json:
        typer.echo(json.dumps(report, indent=1))
        return
    out.print(f"[bold]{report['snapshot']}[/] ({report['kind']})", highlight=False)
    table = Table("what", "count", "what", "count", title="What vpclab read", title_justify="left")
    items = [(name.replace("_", " "), str(count)) for name, count in report["counts"].items()]
    half = (len(items) + 1) // 2
    for left, right in zip(items[:half], items[half:] + [("", "")]):
        table.add_row(*left, *right)
    out.print(table)
    vpcs = Table("vpc", "name", "cidrs", "subnets", "ENIs", "route tables", title="VPCs", title_justify="left")
    for vid, vpc in report["by_vpc"].items():
        vpcs.add_row(vid, vpc["name"], ", ".join(vpc["cidrs"]), str(vpc["subnets"]), str(vpc["enis"]),
                     str(vpc["route_tables"]))
    out.print(vpcs)
    if report["added_defaults"]:
        out.print("AWS defaults vpclab added: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                           for k, v in report["added_defaults"].items()))
    warnings = report["warnings"]
    for warning in warnings if all_warnings else warnings[:10]:
        out.print(f"[yellow]warning[/] {warning['where']}: {warning['message']}", markup=True, highlight=False)
    if len(warnings) > 10 and not all_warnings:
        out.print(f"… and {len(warnings) - 10} more warnings (--warnings lists them all)")


@app.command()
def collect(output: Path = typer.Option(..., "--output", "-o", help="The snapshot folder to write (created)."),
            profile: str = typer.Option(None, "--profile", help="An AWS CLI profile (default: the usual chain)."),
            region: list[str] = typer.Option(None, "--region", "-r",
                                             help="A region to describe (repeatable; default: the profile's)."),
            ) -> None:
    """Describe live AWS into a snapshot folder, with read-only calls only; every analysis then runs offline."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    from vpclab.load.collect import collect as run_collect

    try:
        session = boto3.Session(profile_name=profile)
        result = run_collect(session, region, output, on_file=lambda path: err.print(f"wrote {path}", style="dim"))
    except ProfileNotFound as error:
        typer.echo(f"{error}: expected a profile of ~/.aws/config", err=True)
        raise typer.Exit(2) from None
    except InputError as error:
        raise _refused(error) from None
    except BackendError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(3) from None
    for warning in result.warnings:
        typer.echo(str(warning), err=True)
    typer.echo(f"{len(result.files)} files written to {output}")


@lab_app.command("show")
def lab_show(lab: str = typer.Argument(..., help="A built-in lab name, a lab file, or a snapshot (an AWS "
                                                 "describe-JSON folder or a Terraform JSON document).")) -> None:
    """Show a lab's network, routes, rules and steps, or a snapshot's network."""
    from vpclab.load.snapshot import kind_of, load_snapshot
    from vpclab.report import labview

    path = Path(lab)
    if path.exists() and kind_of(path) != "lab":
        try:
            snapshot = load_snapshot(path)
        except InputError as error:
            raise _refused(error) from None
        out.print(labview.render_network(snapshot.network, f"{lab} ({snapshot.kind})"))
        return
    out.print(labview.render(_load(lab)))


class Expect(str, Enum):
    reachable = "reachable"
    unreachable = "unreachable"


@app.command()
def reach(snapshot: Path = typer.Argument(..., help="An AWS describe-JSON folder, a Terraform JSON document or a lab "
                                                    "file."),
          from_: str = typer.Option(None, "--from", help="Instance id, ENI id, Name tag, private or public IP, "
                                                         "internet, or any outside address."),
          to: str = typer.Option(None, "--to", help="Same forms as --from."),
          proto: str = typer.Option(None, "--proto", help="tcp, udp, icmp (echo) or a protocol number."),
          port: int = typer.Option(None, "--port", help="Destination port (tcp and udp only)."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object (DESIGN.md's reach contract)."),
          as_csv: bool = typer.Option(False, "--csv", help="With --matrix: one CSV line per ordered ENI pair."),
          matrix: bool = typer.Option(False, "--matrix", help="Every ordered pair of ENIs, by equivalence class."),
          expect: Expect = typer.Option(None, "--expect", help="Exit 1 unless the answer is this."),
          html: Path = HTML) -> None:
    """Can X open a connection to Y on P/N? Both paths, every blocker with its source, and the smallest fix."""
    from vpclab.analysis.reach import parse_question, reach_all
    from vpclab.load.snapshot import load_snapshot
    from vpclab.report import reach as reach_report

    try:
        if matrix and (from_ or to):
            raise InputError([Problem("--matrix", "answers every pair of ENIs: leave out --from and --to")])
        if not matrix and (from_ is None or to is None):
            raise InputError([Problem("--from" if from_ is None else "--to", "missing: expected both --from and --to "
                                      "(or --matrix)")])
        if as_csv and not matrix:
            raise InputError([Problem("--csv", "only with --matrix")])
        if as_csv and as_json:
            raise InputError([Problem("--csv", "one output format at a time: --csv or --json, not both")])
        question = parse_question(proto, port)
        network = load_snapshot(snapshot).network
        if matrix:
            answered = _matrix(network, question.number, question.port, as_json, as_csv, html)
        else:
            answers = reach_all(network, from_, to, question.number, question.port)
            answered = any(a.reachable for a in answers)
            if html is not None:
                write_html("reach", reach_report.answers_dict(answers), html)
            if as_json:
                typer.echo(json.dumps(reach_report.answers_dict(answers), indent=1))
            else:
                out.print(reach_report.render_all(answers), soft_wrap=True)
    except InputError as error:
        raise _refused(error) from None
    if expect is not None and answered != (expect is Expect.reachable):
        raise typer.Exit(1)


def _matrix(network, proto: int, port: int | None, as_json: bool, as_csv: bool,  # type: ignore[no-untyped-def]
            html: Path | None = None) -> bool:
    """Print the matrix; True when some pair is reachable."""
    from vpclab.analysis.matrix import matrix
    from vpclab.report import reach_matrix

    if not network.vpc_hosts():
        raise InputError([Problem("--matrix", "the snapshot has no ENIs: nothing to answer")])
    m = matrix(network, proto, port)
    if html is not None:
        write_html("matrix", reach_matrix.to_dict(m), html)
    if as_csv:
        for line in reach_matrix.csv_lines(m):
            typer.echo(line)
    elif as_json:
        typer.echo(json.dumps(reach_matrix.to_dict(m), indent=1))
    else:
        out.print(reach_matrix.render(m), soft_wrap=True)
    return any(cell.reachable for cell in m.cells.values())


class AuditFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


@app.command()
def audit(snapshot: Path = typer.Argument(..., help="An AWS describe-JSON folder, a Terraform JSON document or a lab "
                                                    "file."),
          output_format: AuditFormat = typer.Option(AuditFormat.text, "--format", help="text (tables), json "
                                                    "(DESIGN.md's audit contract) or sarif (SARIF 2.1.0)."),
          fail_on: FailOn = typer.Option(FailOn.low, "--fail-on", help="Exit 1 when a finding is at least this severe "
                                         "(info findings never fail)."),
          html: Path = HTML) -> None:
    """What is open that should not be: checks that evaluate the snapshot with the engine, each finding with its
    evidence, source and fix."""
    from vpclab.analysis.audit import Severity, audit_path
    from vpclab.report import audit as audit_report

    try:
        result = audit_path(snapshot)
    except InputError as error:
        raise _refused(error) from None
    threshold = Severity(fail_on.value)
    if html is not None:
        write_html("audit", audit_report.to_dict(result), html)
    if output_format is AuditFormat.json:
        typer.echo(json.dumps(audit_report.to_dict(result), indent=1))
    elif output_format is AuditFormat.sarif:
        from vpclab.analysis.audit.lines import source_lines
        from vpclab.report.sarif import to_sarif

        typer.echo(json.dumps(to_sarif(result, source_lines(result.snapshot, result.findings)), indent=1))
    else:
        out.print(audit_report.render(result, threshold), soft_wrap=True)
    if result.failing(threshold):
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Run every built-in lab on the simulator and show its timeline."""
    from vpclab.lab.catalog import builtin_labs
    from vpclab.lab.runner import run_lab
    from vpclab.lab.sim_backend import SimBackend
    from vpclab.report import timeline

    failed = 0
    for lab in builtin_labs():
        out.rule(f"[bold]{lab.name}")
        if lab.about:  # as Markdown, so paragraphs wrap to the terminal instead of breaking mid-sentence
            out.print(Markdown(lab.about.strip()), style="italic")
        result = run_lab(lab, SimBackend())
        out.print(timeline.render(result), soft_wrap=True)
        failed += not result.ok
    raise typer.Exit(1 if failed else 0)


# the flow-log commands, registered last so `vpclab --help` lists them after the configuration questions
from vpclab.flows.command import flows_app  # noqa: E402 - the flows sub-commands live in flows/
from vpclab.analysis.flowcmd import replay_command, tighten_command  # noqa: E402 - logic lives in analysis/

app.add_typer(flows_app, name="flows")
app.command("tighten")(tighten_command)
app.command("replay")(replay_command)


def main() -> None:
    app()
