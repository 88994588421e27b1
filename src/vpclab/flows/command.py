"""`vpclab flows summary`: read, summarise, print; exit 2 when a given path does not exist or nothing is usable
(an unreadable or malformed file among usable ones is reported, exit 0), 3 when the engine cannot run (cli.py only
registers it)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from vpclab.flows.fields import parse_format

flows_app = typer.Typer(help="VPC Flow Logs: what the logs hold (DuckDB embedded, or Spark for logs beyond one "
                             "machine).", no_args_is_help=True)

ENGINES = ("duckdb", "spark")


@flows_app.command("summary")
def summary(flows: list[Path] = typer.Argument(..., help="Flow-log files or folders (S3 layout, any nesting, .gz or "
                                                         "plain, Parquet, CloudWatch Logs JSON)."),
            engine: str = typer.Option("duckdb", "--engine", help="duckdb (embedded, default) or spark (PySpark; "
                                                                  "SPARK_MASTER names a cluster)."),
            fmt: str = typer.Option(None, "--format", "--log-format", help="Field list of files without a header line and of "
                                                           "CloudWatch messages, e.g. '${version} ${srcaddr} …' "
                                                           "(default: the v2 default format)."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Time range, ENIs, records by action and version, initiators by evidence, NODATA/SKIPDATA, malformed lines."""
    from vpclab.flows.discover import missing
    from vpclab.flows.engines import EngineError
    from vpclab.flows.pipeline import FlowInputError, read_flows
    from vpclab.report.flows import render

    if engine not in ENGINES:
        typer.echo(f"--engine: {engine!r} is not an engine; expected one of {', '.join(ENGINES)}", err=True)
        raise typer.Exit(2)
    try:
        fields = parse_format(fmt) if fmt else None
    except ValueError as error:
        typer.echo(f"--format: {error}", err=True)
        raise typer.Exit(2) from None
    for problem in missing(flows):
        typer.echo(str(problem), err=True)
    if missing(flows):
        raise typer.Exit(2)
    try:
        run = read_flows(flows, engine=engine, fields=fields)
    except FlowInputError as error:
        typer.echo("no usable flow-log record:", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None
    except ImportError as error:
        typer.echo(f"--engine {engine}: {error} (install pyspark and a Java runtime)", err=True)
        raise typer.Exit(3) from None
    except EngineError as error:
        typer.echo(f"--engine {engine}: {error}", err=True)
        raise typer.Exit(3) from None
    try:
        if as_json:
            typer.echo(json.dumps(run.summary.to_dict(), indent=1))
        else:
            Console().print(render(run.summary))
    finally:
        run.close()
