"""The two engines behind the one query: how each registers sources as views and runs the shared SQL.

An adapter only says how files become positional text columns (`c0…`, `c_extra`, `src_file`, `src_line`);
everything after that is the SQL text of `flows.sql`, run unchanged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import Any, Protocol

from vpclab.flows.discover import TextGroup


class EngineError(Exception):
    """The engine could not read a source (a truncated gzip, invalid text, a broken Parquet file)."""


class Engine(Protocol):
    """What the pipeline needs from an engine."""

    name: str

    def text_source(self, view: str, group: TextGroup, files: list[str], numbered: bool) -> None: ...
    def parquet_columns(self, file: str) -> list[str]: ...
    def parquet_source(self, view: str, files: list[str], columns: list[str], numbered: bool) -> None: ...
    def cloudwatch_source(self, view: str, file: str, kind: str) -> None: ...
    def view(self, name: str, sql: str) -> None: ...
    def materialize(self, name: str, sql: str) -> None: ...
    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...
    def path(self, engine_path: str) -> str: ...
    def close(self) -> None: ...


def _columns(group: TextGroup) -> list[str]:
    return [f"c{i}" for i in range(len(group.fields))] + ["c_extra"]


class DuckEngine:
    """DuckDB embedded: nothing to set up; read_csv/read_parquet/read_json stream the files themselves."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        """`memory_limit` (e.g. '2GB', default: VPCLAB_DUCKDB_MEMORY_LIMIT, else DuckDB's 80% of RAM) bounds memory."""
        import duckdb

        self._duckdb = duckdb
        memory_limit = memory_limit or os.environ.get("VPCLAB_DUCKDB_MEMORY_LIMIT")
        self._spill = tempfile.mkdtemp(prefix="vpclab-duckdb-") if memory_limit else None
        if self._spill:  # removed at exit even when a caller forgets close()
            weakref.finalize(self, shutil.rmtree, self._spill, True)
        # With a limit, the intermediate tables live in a database file DuckDB can page out, and hash tables spill
        # to the same temporary folder; without one, everything stays in memory (DuckDB's own limit, 80% of RAM).
        self.con = duckdb.connect(os.path.join(self._spill, "flows.duckdb") if self._spill else ":memory:")
        self.con.execute("SET enable_progress_bar = false")  # it writes to stdout, which holds --json output
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
            self.con.execute(f"SET temp_directory = '{self._spill}'")

    @staticmethod
    def _list(files: list[str]) -> str:
        return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"

    def text_source(self, view: str, group: TextGroup, files: list[str], numbered: bool) -> None:
        """read_csv with explicit columns, delimiter ' ', no quoting, null padding; one spare column for extras."""
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in _columns(group)) + "}"
        scan = (f"read_csv({self._list(files)}, auto_detect = false, delim = ' ', quote = '', escape = '', "
                f"header = {str(group.header).lower()}, columns = {columns}, filename = true, "
                f"compression = 'auto', null_padding = true, strict_mode = false)")
        line = f"row_number() OVER () + {int(group.header)}" if numbered else "CAST(NULL AS BIGINT)"
        self.view(view, f"SELECT filename AS src_file, {line} AS src_line, {', '.join(_columns(group))} FROM {scan}")

    def parquet_columns(self, file: str) -> list[str]:
        return [r[0] for r in self.rows(f"DESCRIBE SELECT * FROM read_parquet({self._list([file])}, "
                                        "hive_partitioning = false)")]

    def parquet_source(self, view: str, files: list[str], columns: list[str], numbered: bool) -> None:
        """read_parquet without hive partition columns; the given columns renamed c0… (quoted: `end` is reserved)."""
        renamed = ", ".join(f'"{c}" AS c{i}' for i, c in enumerate(columns))
        self.view(view, f"SELECT filename AS src_file, file_row_number + 1 AS src_line, {renamed} FROM read_parquet("
                        f"{self._list(files)}, hive_partitioning = false, filename = true, file_row_number = true)")

    def cloudwatch_source(self, view: str, file: str, kind: str) -> None:
        """CloudWatch Logs JSON: {"events": […]} (filter/get-log-events), {"logEvents": […]}, an array, or lines."""
        one = self._list([file])
        if kind in ("events", "logEvents"):
            scan = (f"read_json({one}, columns = {{'{kind}': 'STRUCT(message VARCHAR)[]'}}, filename = true, "
                    "format = 'auto', maximum_object_size = 1073741824)")
            self.view(view, f"SELECT src_file, src_line, ev.message AS message FROM (SELECT filename AS src_file, "
                            f"unnest({kind}) AS ev, generate_subscripts({kind}, 1) AS src_line FROM {scan})")
            return
        shape = "array" if kind == "array" else "newline_delimited"
        scan = (f"read_json({one}, columns = {{'message': 'VARCHAR'}}, filename = true, format = '{shape}', "
                "maximum_object_size = 1073741824)")
        self.view(view, f"SELECT filename AS src_file, row_number() OVER () AS src_line, message FROM {scan}")

    def view(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def materialize(self, name: str, sql: str) -> None:
        self._run(f"CREATE OR REPLACE {'' if self._spill else 'TEMP '}TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.con.execute(sql).fetchall()]
        except self._duckdb.Error as error:
            raise EngineError(_first_line(str(error))) from None

    def _run(self, sql: str) -> None:
        try:
            self.con.execute(sql)
        except self._duckdb.Error as error:
            raise EngineError(_first_line(str(error))) from None

    def path(self, engine_path: str) -> str:
        return engine_path

    def close(self) -> None:
        self.con.close()
        if self._spill:
            shutil.rmtree(self._spill, ignore_errors=True)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def make_engine(name: str) -> Engine:
    """The engine named on the command line: `duckdb` (default) or `spark`."""
    if name == "duckdb":
        return DuckEngine()
    if name == "spark":
        from vpclab.flows.spark import SparkEngine

        return SparkEngine()
    raise ValueError(f"unknown engine {name!r} (expected duckdb or spark)")
