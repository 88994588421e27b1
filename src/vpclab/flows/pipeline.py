"""Read flow logs with an engine: discover, register sources, one scan into `conn`, infer, aggregate, summarise.

Python handles files and a few dozen result rows; every record stays inside the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vpclab.flows import sql
from vpclab.flows.discover import Problem, Sources, discover
from vpclab.flows.engines import Engine, EngineError, make_engine
from vpclab.flows.fields import BY_NAME, BY_PARQUET, DEFAULT_FORMAT, format_version
from vpclab.flows.summary import FlowSummary, add_row_counts, build_summary

EXAMPLES = 5
"""How many malformed lines are shown with file and line."""


class FlowInputError(Exception):
    """Nothing usable in the given flow logs; `problems` says why, file by file."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("no usable flow-log record")
        self.problems = problems


@dataclass
class _Registered:
    source: sql.SourceView
    kind: str  # text | parquet | cloudwatch
    files: list[str]
    register: Any  # (view, files, numbered) -> None
    wrap: Any = None  # raw view -> SELECT of positional text columns (Parquet, CloudWatch)


@dataclass
class FlowRun:
    """An open reading of flow logs: the engine holds `conn`, `directed_totals`, the view `row_parts` and, once
    aggregated, `flow_rows`; close when done."""

    engine: Engine
    summary: FlowSummary
    options: sql.InferenceOptions = field(default_factory=sql.InferenceOptions)

    def aggregate(self) -> None:
        """Build `flow_rows` (once) and count its rows, initiators and directions into the summary."""
        if self.summary.rows is not None:
            return
        self.engine.materialize("flow_rows", sql.ROWS)
        add_row_counts(self.summary, sql.split_summary(self.engine.rows(sql.ROW_SUMMARY)))

    def rows(self) -> list[dict[str, Any]]:
        """The aggregate as dicts (ROW_COLUMNS), sorted; for tests and small inputs (it is fetched whole)."""
        self.aggregate()
        got = self.engine.rows(f"SELECT {', '.join(sql.ROW_COLUMNS)} FROM flow_rows")
        return sorted((dict(zip(sql.ROW_COLUMNS, r)) for r in got), key=_row_key)

    def close(self) -> None:
        self.engine.close()


def _row_key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple("" if row[c] is None else str(row[c]) for c in sql.ROW_COLUMNS)


def read_flows(paths: list[Path], engine: str | Engine = "duckdb", fields: tuple[str, ...] | None = None,
               options: sql.InferenceOptions | None = None,
               known_addresses: list[tuple[str, str]] | None = None, aggregate: bool = True) -> FlowRun:
    """Read `paths` (files or folders) and, with `aggregate`, build `flow_rows` (else on first use: `tighten` reads
    the connections' row parts and needs no aggregate); raises FlowInputError when nothing is usable."""
    options = options or sql.InferenceOptions()
    fields = fields or DEFAULT_FORMAT
    sources = discover(paths, fields)
    runner = make_engine(engine) if isinstance(engine, str) else engine
    try:
        registered = _register_all(runner, sources, fields)
        registered = _scan(runner, registered, sources)
        if not registered:
            raise FlowInputError(sources.problems)
        _mixed(runner)
        runner.view("directed", sql.DIRECTED)
        runner.materialize("directed_totals", sql.DIRECTED_TOTALS)
        runner.view("endpoints", sql.ENDPOINTS)
        runner.view("connections_mixed", sql.CONNECTIONS)
        runner.materialize("inferred_mixed", sql.initiators(options, "connections_mixed"))
        runner.view("connections_fast", sql.CONNECTIONS_FAST)
        runner.view("inferred_fast", sql.initiators(options, "connections_fast"))
        runner.view("sided", sql.SIDED)
        if runner.rows(sql.DIRECTIONLESS)[0][0]:  # a row's direction is looked up only where it has no flow-direction
            runner.materialize("local_addresses", sql.local_addresses())
            runner.view("known_addresses", sql.known_addresses(known_addresses or []))
        else:
            runner.view("local_addresses", sql.known_addresses([]))
            runner.view("known_addresses", sql.known_addresses([]))
        runner.view("per_record_row", sql.PER_RECORD_ROW)
        runner.view("row_parts", sql.ROW_PARTS)
        answers = sql.split_summary(runner.rows(sql.SUMMARY))
        examples = [replace(p, file=sources.shown.get(p.file, p.file))
                    for p in _examples(runner, registered, answers["malformed"])]
        summary = build_summary(runner, sources, answers, examples)
        if summary.usable:
            run = FlowRun(runner, summary, options)
            if aggregate:
                run.aggregate()
            return run
    except BaseException:
        runner.close()
        raise
    runner.close()
    lines = [Problem(f, 0, f"{n} malformed line(s)") for f, n in summary.malformed_by_file.items()]
    raise FlowInputError(summary.problems + lines + summary.examples)


def _register_all(engine: Engine, sources: Sources, fields: tuple[str, ...]) -> list[_Registered]:
    out: list[_Registered] = []
    for i, group in enumerate(sources.text):
        names = tuple(None if j in group.ignored else n for j, n in enumerate(group.fields))
        source = sql.SourceView(f"src_t{i}", names, format_version(group.fields))
        out.append(_Registered(source, "text", list(group.files),
                               lambda view, files, numbered, g=group: engine.text_source(view, g, files, numbered)))
    by_columns: dict[tuple[str, ...], list[str]] = {}
    for file in sources.parquet:
        try:
            columns = tuple(engine.parquet_columns(file))
        except EngineError as error:
            sources.problems.append(Problem(file, 0, f"cannot be read as Parquet: {error}", True))
            continue
        known = [c for c in columns if c in BY_PARQUET]
        if not known:
            sources.problems.append(Problem(file, 0, "not a flow-log Parquet file: none of its columns "
                                            f"({', '.join(columns[:8])}{' …' if len(columns) > 8 else ''}) is a "
                                            "flow-log field (expected e.g. version, interface_id, srcaddr)", True))
            continue
        for column in columns:
            if column not in BY_PARQUET:
                sources.problems.append(Problem(file, 0, f"unknown Parquet column {column!r} (ignored)"))
        by_columns.setdefault(tuple(known), []).append(file)
    for i, (columns, files) in enumerate(by_columns.items()):
        names = tuple(BY_PARQUET[c].name for c in columns)
        source = sql.SourceView(f"src_p{i}", names, format_version(names), checks_count=False)
        out.append(_Registered(source, "parquet", files,
                               lambda view, fs, numbered, cs=list(columns): engine.parquet_source(view, fs, cs,
                                                                                                  numbered),
                               lambda raw, width: sql.parquet_select(raw, width)))
    for i, (file, kind) in enumerate(sources.cloudwatch):
        source = sql.SourceView(f"src_j{i}", fields, format_version(fields))
        out.append(_Registered(source, "cloudwatch", [file],
                               lambda view, fs, numbered, k=kind: engine.cloudwatch_source(view, fs[0], k),
                               lambda raw, width: sql.text_select(raw, width)))
    return out


def _define(engine: Engine, item: _Registered, view: str, files: list[str], numbered: bool) -> None:
    width = len(item.source.fields)
    if item.wrap is None:
        item.register(view, files, numbered)
    else:
        item.register(view + "_raw", files, numbered)
        engine.view(view, item.wrap(view + "_raw", width))


def _scan(engine: Engine, registered: list[_Registered], sources: Sources) -> list[_Registered]:
    """The one full scan (`conn`); a file the engine cannot read is found, reported and left out, then rescan."""
    for _attempt in range(3):
        if not registered:
            return []
        try:
            for item in registered:
                _define(engine, item, item.source.view, item.files, False)
            engine.view("records", sql.records([r.source for r in registered]))
            engine.view("conn_input", sql.CONN_INPUT)
            engine.materialize("conn", sql.CONN)
            return registered
        except EngineError:
            registered = _drop_unreadable(engine, registered, sources)
    raise FlowInputError(sources.problems)


def _mixed(engine: Engine) -> None:
    """`directed_mixed`: the exact path for the connections `conn` cannot unfold (read again only when some are)."""
    engine.materialize("mixed", sql.MIXED)
    if engine.rows("SELECT COUNT(*) FROM mixed")[0][0]:
        engine.materialize("directed_mixed", sql.DIRECTED_MIXED)
    else:
        engine.view("directed_mixed", sql.NO_DIRECTED)


def _drop_unreadable(engine: Engine, registered: list[_Registered], sources: Sources) -> list[_Registered]:
    """Find the files the engine cannot read by halving each failing set (few probes for few bad files)."""
    kept: list[_Registered] = []
    for item in registered:
        good = _readable(engine, item, item.files, sources)
        if good:
            item.files = good
            kept.append(item)
    return kept


def _readable(engine: Engine, item: _Registered, files: list[str], sources: Sources) -> list[str]:
    probe = sql.SourceView("probe", item.source.fields, item.source.version, item.source.checks_count)
    try:
        _define(engine, item, "probe", files, False)
        engine.rows(f"SELECT COUNT(*) FROM ({sql.normalise(probe)}) p")
        return files
    except EngineError as error:
        if len(files) == 1:
            sources.problems.append(Problem(files[0], 0, "cannot be read (expected a complete gzip, text, JSON or "
                                            "Parquet file)", True, str(error)))
            return []
    half = len(files) // 2
    return _readable(engine, item, files[:half], sources) + _readable(engine, item, files[half:], sources)


def _examples(engine: Engine, registered: list[_Registered], malformed: list[tuple[Any, ...]]) -> list[Problem]:
    """The first malformed lines with file and line: only the files that hold some are read again, numbered."""
    bad_files = sorted({engine.path(str(f)) for f, _field, _n in malformed if f is not None})
    out: list[Problem] = []
    for file in bad_files:
        if len(out) >= EXAMPLES:
            break
        item = next((r for r in registered if file in r.files), None)
        if item is None:
            continue
        _define(engine, item, "numbered", [file], True)
        for src_file, line, bad_field, raw in engine.rows(sql.located(item.source, "numbered", EXAMPLES - len(out))):
            out.append(Problem(engine.path(str(src_file)), int(line), _explain(item, bad_field, raw)))
    return out


def _explain(item: _Registered, bad_field: str, raw: Any) -> str:
    expected = len(item.source.fields)
    what = "event message" if item.kind == "cloudwatch" else "line"
    if bad_field in ("too-few-fields", "too-many-fields"):
        got = f"{raw} field(s)" if bad_field == "too-few-fields" else f"more than {expected} fields"
        return f"{what} has {got}, expected the {expected} fields of its format ({_format_name(item)})"
    spec = BY_NAME[bad_field]
    wanted = f"one of {', '.join(spec.choices)} or -" if spec.choices else "a whole number or -"
    return f"field {bad_field} is {raw!r}, expected {wanted}"


def _format_name(item: _Registered) -> str:
    if item.kind == "parquet":
        return "Parquet columns"
    fields = item.source.fields
    shown = " ".join(f or "?" for f in fields[:4]) + (" …" if len(fields) > 4 else "")
    return f"{shown}"
