"""The `vpclab` command (Typer + Rich). Thin: it loads, runs and renders; every verdict comes from the engine.

Exit status: 0 every expectation met; 1 an expectation not met; 2 bad input or usage; 3 backend unavailable.
"""

from __future__ import annotations

import json
from enum import Enum

import typer
from rich.console import Console
from rich.table import Table

from vpclab import __version__

app = typer.Typer(help="vpclab: see, test and tighten AWS VPC packet filtering.", no_args_is_help=True,
                  add_completion=False, rich_markup_mode="rich")
lab_app = typer.Typer(help="Labs: a small VPC, hosts and steps with expected outcomes.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")

out = Console()
err = Console(stderr=True)


class BackendName(str, Enum):
    sim = "sim"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vpclab {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Security groups (stateful), network ACLs (stateless) and connection tracking, explained."""


def _load(name: str):  # type: ignore[no-untyped-def]
    from vpclab.lab.catalog import load
    from vpclab.lab.yamlsource import LabError

    try:
        return load(name)
    except LabError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


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
            backend: BackendName = typer.Option(BackendName.sim, "--backend", "-b", help="Where to run it."),
            as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
            verbose: bool = typer.Option(False, "--verbose", "-v",
                                         help="Show every packet with its full trace, and the conntrack tables.")) -> None:
    """Run a lab and compare every outcome with its expectation (exit 1 if one is not met)."""
    from vpclab.lab.runner import run_lab
    from vpclab.lab.sim_backend import SimBackend
    from vpclab.report import timeline

    loaded = _load(lab)
    result = run_lab(loaded, SimBackend(), conntrack=verbose)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
    else:
        out.print(timeline.render(result, verbose=verbose), soft_wrap=True)
    raise typer.Exit(0 if result.ok else 1)


@lab_app.command("show")
def lab_show(lab: str = typer.Argument(..., help="A built-in lab name or a path to a lab file.")) -> None:
    """Show a lab's network, rules and steps."""
    from vpclab.report import labview

    out.print(labview.render(_load(lab)))


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
        if lab.about:
            out.print(lab.about.strip(), style="italic", markup=False)
        result = run_lab(lab, SimBackend())
        out.print(timeline.render(result), soft_wrap=True)
        failed += not result.ok
    raise typer.Exit(1 if failed else 0)


def main() -> None:
    app()
