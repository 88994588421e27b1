"""The `vpclab` command (Typer + Rich). Thin: every verdict comes from the engine."""

from __future__ import annotations

import typer

from vpclab import __version__

app = typer.Typer(help="vpclab: see, test and tighten AWS VPC packet filtering.", no_args_is_help=True,
                  add_completion=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vpclab {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Security groups (stateful), network ACLs (stateless) and connection tracking, explained."""


@app.command()
def demo() -> None:
    """Run the seed articles' observations on the simulator and explain every packet."""
    from rich.console import Console

    from vpclab.demo import run

    run(Console())


def main() -> None:
    app()
